from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission


class PasswordIsCurrent(BasePermission):
    """Refuses every API call of a user who still holds an initial or reset password, except
    the calls that let them replace it (those views set ``password_change_exempt``)."""

    message = _("You must change your initial password before using the platform.")
    code = "password_change_required"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if getattr(view, "password_change_exempt", False):
            return True
        return not (user and user.is_authenticated and user.must_change_password)

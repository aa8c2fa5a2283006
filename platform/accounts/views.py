"""Browser pages of accounts (the API lives in accounts.apis)."""

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views

from accounts.services import user_password_change
from common.errors import ServiceError


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's form, but the change goes through the service (clears must_change_password)."""

    def form_valid(self, form):
        try:
            user_password_change(
                user=self.request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        update_session_auth_hash(self.request, self.request.user)
        return super(auth_views.PasswordChangeView, self).form_valid(form)

from django.shortcuts import redirect
from django.urls import reverse

_ALLOWED_PREFIXES = ("/api/", "/static/", "/healthz", "/readyz", "/accounts/")


class PasswordChangeRequiredMiddleware:
    """Browser pages send a user with an initial or reset password to the change form first.
    (The API enforces the same rule with accounts.permissions.PasswordIsCurrent.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.must_change_password
            and not request.path.startswith(_ALLOWED_PREFIXES)
        ):
            return redirect(f"{reverse('password_change')}?next={request.path}")
        return self.get_response(request)

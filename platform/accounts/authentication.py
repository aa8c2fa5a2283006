import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions

# knox tokens are hexadecimal (an optional configured prefix aside); anything else cannot match.
_TOKEN_SHAPE = re.compile(rb"[A-Za-z0-9_\-]{1,256}")


class TokenAuthentication(KnoxTokenAuthentication):
    """``Authorization: Token <token>`` for API and mobile clients (django-rest-knox: tokens are
    stored hashed, expire, and can be revoked one device at a time).

    A token that cannot be one (non-ASCII bytes, NUL, absurd length) is refused as invalid
    before it reaches knox, which would decode it as UTF-8 and query with it (a 500)."""

    def authenticate_credentials(self, token):
        if not isinstance(token, bytes) or not _TOKEN_SHAPE.fullmatch(token):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token-based authentication: `Token <token>` from POST /api/v1/auth/token/.",
        }

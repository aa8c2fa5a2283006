"""Login throttles: per client address and per account name (rates ``login`` and ``login_user``
in settings.REST_FRAMEWORK). A refused attempt is a 429 in the error shape with Retry-After.
The client address is DRF's: REMOTE_ADDR, or X-Forwarded-For as far as NUM_PROXIES trusts it."""

import hashlib
from collections.abc import Mapping

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle


class LoginRateThrottle(AnonRateThrottle):
    """Login attempts per client address."""

    scope = "login"


class LoginUsernameRateThrottle(SimpleRateThrottle):
    """Login attempts per account name, whatever the address (stops spraying one account)."""

    scope = "login_user"

    def get_cache_key(self, request, view):
        data = request.data if hasattr(request, "data") else None
        username = data.get("username") if isinstance(data, Mapping) else None
        if not isinstance(username, str) or not username.strip():
            return None  # no account named: the serializer refuses the request anyway
        # Usernames are case-insensitive here so Alice/alice share one budget; hashed so that
        # any text a client sends makes a valid, bounded cache key.
        ident = hashlib.sha256(username.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}

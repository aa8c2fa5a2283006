"""The id of the request being served, for log lines (HTTP and websocket alike)."""

import contextvars
import re
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_request_id(incoming: str | None = None) -> str:
    """Keep a well-formed id from the proxy (X-Request-ID), otherwise make one."""
    if incoming and _SAFE.match(incoming):
        return incoming
    return uuid.uuid4().hex

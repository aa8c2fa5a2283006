"""Request ids and one log line per HTTP request or websocket connection.

nginx sets X-Request-ID (kept when a client sent a well-formed one, else generated), so its
access log, the application's log lines and the client's response header carry the same id.
"""

import logging
import time

from common.request_id import new_request_id, request_id_var

logger = logging.getLogger("xuewen.request")


class RequestIdMiddleware:
    """Gives each request an id (kept from nginx's X-Request-ID), logs one line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = new_request_id(request.headers.get("X-Request-ID"))
        token = request_id_var.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # request.path, never the query string: it may hold a websocket ticket or a search.
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": getattr(getattr(request, "user", None), "pk", None),
                },
            )
            return response
        finally:
            request_id_var.reset(token)

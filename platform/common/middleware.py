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


class WebsocketRequestIdMiddleware:
    """ASGI middleware for websocket connections: the same id as an HTTP request has.

    Sets ``request_id_var`` for the whole connection (consumers, and the threads
    ``database_sync_to_async`` runs them on, inherit it), puts it in ``scope["request_id"]``,
    and logs one line when the connection ends: path, whether it was accepted, the close code,
    and how long it lasted. Wraps the whole websocket stack, so refusals by the origin
    check are logged too.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = new_request_id(incoming)
        token = request_id_var.set(request_id)
        scope = dict(scope, request_id=request_id)
        state = {"accepted": False, "close_code": None}
        started = time.perf_counter()

        async def observing_receive():
            message = await receive()
            if message["type"] == "websocket.disconnect" and state["close_code"] is None:
                state["close_code"] = message.get("code", 1005)
            return message

        async def observing_send(message):
            if message["type"] == "websocket.accept":
                state["accepted"] = True
            elif message["type"] == "websocket.close" and state["close_code"] is None:
                state["close_code"] = message.get("code", 1000)
            return await send(message)

        try:
            return await self.app(scope, observing_receive, observing_send)
        finally:
            logger.info(
                "WEBSOCKET %s %s",
                scope.get("path", ""),
                state["close_code"],
                extra={
                    "method": "WEBSOCKET",
                    "path": scope.get("path", ""),
                    "status": state["close_code"],
                    "accepted": state["accepted"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "request_id": request_id,
                },
            )
            request_id_var.reset(token)

"""ASGI entry point: HTTP and websockets in one process (the run command's Daphne).

In production nginx sends only /ws/ here; HTTP goes to gunicorn (config.wsgi), because sync
Django views under an ASGI server pay a thread hop per request (see docs/performance.md).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from accounts.websocket import WebsocketGateway  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402


def allowed_websocket_origins() -> list[str]:
    """Origins a browser may open websockets from. A handshake without an Origin header is
    refused too (Channels' rule): browsers always send one, other clients must set it."""
    return settings.WEBSOCKET_ALLOWED_ORIGINS or list(settings.ALLOWED_HOSTS)


# One layer in front of every websocket route (accounts/websocket.py): a request id for the
# connection's log lines (refusals included), the origin check, then the single-use ticket that
# puts the user in scope; then the route.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketGateway(URLRouter(websocket_urlpatterns), allowed_websocket_origins()),
    }
)

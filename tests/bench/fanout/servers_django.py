"""The project's real websocket stack for servers.py: ``config.asgi:application`` unchanged,
plus the heap-figure thread of servers_app (imported first, so it watches from the start)."""

import servers_app  # noqa: F401  (starts the heap-figure thread)

from config.asgi import application  # noqa: F401

"""Settings of the servers the fan-out benchmark starts (run.py puts this folder on PYTHONPATH).

The project's settings, plus: the transport's stand-in room handler (live/hub_bench.py: viewers,
and one staff publisher), tickets valid long enough for a 13,000-viewer connect ramp, and the
hub backend chosen per run (BENCH_HUB_BACKEND=memory: the memory hub with Redis still serving
the cache, where run.py writes the tickets)."""

import os

from config.settings import *  # noqa: F403

# BENCH_ROOM_HANDLER="" (run.py's "room" target): the real room handler, live.room.
LIVE_ROOM_HANDLER = os.environ.get("BENCH_ROOM_HANDLER", "live.hub_bench.get_bench_handler")
LIVE_HUB_BACKEND = os.environ.get("BENCH_HUB_BACKEND", "")
WEBSOCKET_TICKET_TTL_SECONDS = 3600
WEBSOCKET_ALLOWED_ORIGINS = ["localhost"]

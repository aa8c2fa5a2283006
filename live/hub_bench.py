"""The transport's stand-in room handler, for its own tests, the multi-process test and the
fan-out benchmark (settings.LIVE_ROOM_HANDLER = "live.hub_bench.get_bench_handler").

It keeps the real endpoint path (middlewares, ticket, hub, this handler) with the room logic
reduced to what the transport needs: staff users (``is_staff``) are the lecturer and may
publish, kick and react; everyone else is a viewer. Never configure it in production.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from live.hub import CLOSE_BANNED, get_hub


class BenchRoomHandler:
    async def on_connect(self, conn) -> None:
        conn.role = "lecturer" if conn.user.is_staff else "viewer"

    async def snapshot(self, conn) -> dict:
        return {"type": "snapshot", "lecture": conn.lecture_id, "role": conn.role}

    async def on_message(self, conn, message: dict) -> None:
        hub = get_hub()
        kind = message["type"]
        if kind == "bench.publish" and conn.is_staff:
            frame = {"type": "bench.frame", "n": message.get("n"), "t": message.get("t"),
                     "pad": str(message.get("pad", ""))[:1024]}
            audience = "staff" if message.get("audience") == "staff" else "all"
            await hub.publish(conn.room, frame, audience=audience, coalesce=bool(message.get("coalesce")))
        elif kind == "bench.kick" and conn.is_staff and isinstance(message.get("user_id"), int):
            await hub.kick(conn.room, user_id=message["user_id"], code=CLOSE_BANNED, reason="banned")
        elif kind == "reaction":
            await hub.react(conn.room, "like")
        elif kind == "ping":
            await conn.send({"type": "pong", "id": message.get("id")})
            return
        else:
            await conn.send({"type": "error", "id": message.get("id"), "code": "unknown_type",
                             "message": _("Unknown message type.")})
            return
        if "id" in message:
            await conn.send({"type": "ack", "id": message["id"]})

    async def on_disconnect(self, conn, code: int) -> None:
        pass


_handler = BenchRoomHandler()


def get_bench_handler() -> BenchRoomHandler:
    return _handler

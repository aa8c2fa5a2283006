"""The baseline of the fan-out benchmark: a bare ``websockets`` broadcast server.

    python bare_server.py <port> [asyncio|uvloop]

Every connection is a viewer, except one whose path starts with /pub: each text frame it sends
is written as it is to every viewer (``websockets.broadcast``: encoded once, a viewer whose
buffer is full is skipped). No authentication, no JSON, no Django: the floor our endpoint is
compared with.
"""

import asyncio
import sys

from websockets.asyncio.server import broadcast, serve

viewers = set()


async def handle(websocket):
    if websocket.request.path.startswith("/pub"):
        async for message in websocket:
            broadcast(viewers, message)
        return
    viewers.add(websocket)
    try:
        await websocket.wait_closed()
    finally:
        viewers.discard(websocket)


async def main(port: int) -> None:
    async with serve(handle, "127.0.0.1", port, backlog=4096, compression=None, max_queue=16):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    if sys.argv[2:] == ["uvloop"]:
        import uvloop

        uvloop.run(main(int(sys.argv[1])))
    else:
        asyncio.run(main(int(sys.argv[1])))

"""The apps tests/bench/fanout/servers.py runs on each candidate ASGI server (never in production).

``app``: a minimal raw ASGI websocket app, no Django. A viewer is accepted, then waits for its
disconnect; a connection whose path starts with /pub is the publisher: each text frame it sends
is written to every viewer the way ``websockets.broadcast`` does it (the send is started in the
publisher's stack and only continues in a task if the server makes it wait), so the fan-out
measures the server, not a task per frame per viewer.

``servers_django``: the project's real stack (``config.asgi:application``), imported unchanged.

Both modules start ``install_stats()``: a daemon thread that, when servers.py drops a trigger
file into ``$SERVERS_STATS_DIR``, writes the process's heap figures next to it (pymalloc's
bytes in allocated blocks + glibc malloc's bytes in use: live memory without allocator slack,
and without tracemalloc's own overhead).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

viewers: set = set()


async def app(scope, receive, send):
    kind = scope["type"]
    if kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if kind == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    if scope["path"].startswith("/pub"):
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                broadcast({"type": "websocket.send", "text": message["text"]})
    viewers.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        viewers.discard(send)


def broadcast(message: dict) -> None:
    """Writes ``message`` to every viewer without awaiting any of them."""
    for send in list(viewers):
        coro = send(message)
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            continue
        except Exception:
            viewers.discard(send)
            continue
        asyncio.get_running_loop().create_task(_finish(coro, waiting_on))


async def _finish(coro, waiting_on) -> None:
    """Drives a send coroutine that had to wait (started outside a task) to its end."""
    loop = asyncio.get_running_loop()
    while True:
        if waiting_on is None:
            await asyncio.sleep(0)
        else:
            done = loop.create_future()
            waiting_on.add_done_callback(lambda _f, done=done: done.done() or done.set_result(None))
            await done
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return
        except Exception:
            return


# -- heap figures on demand --------------------------------------------------------------------


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _malloc_in_use() -> int | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def _pymalloc_in_use() -> int | None:
    """pymalloc's "bytes in allocated blocks" (sys._debugmallocstats writes to fd 2)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        match = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", out.read())
    return int(match.group(1).replace(",", "")) if match else None


def heap_figures() -> dict:
    pymalloc, malloc = _pymalloc_in_use(), _malloc_in_use()
    return {
        "pid": os.getpid(),
        "pymalloc": pymalloc,
        "malloc": malloc,
        "heap": (pymalloc or 0) + (malloc or 0),
        "viewers": len(viewers),
    }


def _watch(folder: Path) -> None:
    seen: set[str] = set()
    while True:
        time.sleep(0.2)
        with contextlib.suppress(OSError):
            for trigger in folder.glob("trigger-*"):
                if trigger.name in seen:
                    continue
                seen.add(trigger.name)
                out = folder / f"{trigger.name[len('trigger-') :]}.{os.getpid()}.json"
                out.write_text(json.dumps(heap_figures()))


def install_stats() -> None:
    folder = os.environ.get("SERVERS_STATS_DIR")
    if folder and not getattr(install_stats, "started", False):
        install_stats.started = True
        threading.Thread(target=_watch, args=(Path(folder),), daemon=True, name="heap-stats").start()


install_stats()

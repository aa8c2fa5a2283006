#!/usr/bin/env python
"""Which ASGI server for live nodes: memory per idle websocket, by measurement (a script, not a test).

    .venv/bin/python tests/bench/fanout/servers.py                     # memory, every candidate
    .venv/bin/python tests/bench/fanout/servers.py --viewers 2000 --candidates bare,granian
    .venv/bin/python tests/bench/fanout/servers.py --fanout --candidates bare,uvicorn,granian
    .venv/bin/python tests/bench/fanout/servers.py --check --candidates uvicorn,granian

granian, hypercorn and wsproto are not project dependencies (`.venv/bin/pip install granian
hypercorn wsproto` to compare them; a candidate whose package is missing is skipped). Wrap every
run in ``flock /tmp/bench.lock`` when the machine is shared. In one run, for each
candidate server (below) it starts, one after the other:

  minimal  tests/bench/fanout/servers_app.py:app, a raw ASGI websocket app (accept, then wait for
           the disconnect; no Django);
  stack    our real stack, config.asgi:application with DJANGO_SETTINGS_MODULE=bench_settings
           (the websocket gateway: request id, origin, single-use ticket; the live endpoint, the
           memory hub, the bench room handler), users and tickets made as run.py makes them;

and the bare ``websockets`` server (bare_server.py) as the baseline. The Node load client
(loadclient.js) opens --viewers idle connections ramped at --rate/s; the server's RSS (summed
over its process tree: granian and hypercorn run workers) is read before (after one warm-up
connection) and after; KB per connection = delta / admitted. A second estimate, without
allocator slack, comes from inside the server process (servers_app.heap_figures: pymalloc's
allocated bytes + glibc malloc in use; memory allocated by Rust code outside glibc is not in it).

--fanout: the same load client then publishes --fps frames/s for --duration s through the
minimal app (websockets.broadcast-like writes) and through the stack (the hub): delivered/s,
p50/p99, and the server's CPU time per delivered frame (utime + stime while publishing).

--check: our endpoint on each candidate: snapshot, frames in order, acks, 4401, 1003, 4009 (and
exactly 4 KB accepted), a 70 KB frame (the server's own size limit), a refused origin, a kick
(4003), a client that never reads (4008, and the server's memory meanwhile), and what a SIGTERM
does to open connections (close code, time to exit).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import ROOT, Bench, free_port, raise_file_limit, wait_for_port  # noqa: E402

BIN = Path(sys.executable).parent
APPS = {"minimal": "servers_app:app", "stack": "servers_django:application"}


def _uvicorn(ws: str, loop: str):
    def command(app: str, port: int) -> list[str]:
        return [
            str(BIN / "uvicorn"),
            APPS[app],
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            ws,
            "--loop",
            loop,
            "--http",
            "httptools",
            "--backlog",
            "4096",
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            # As deploy/systemd/xuewen-ws@.service runs it.
            "--ws-max-size",
            "65536",
            "--ws-ping-interval",
            "20",
            "--ws-ping-timeout",
            "20",
        ]

    return command


def _granian(loop: str, runtime_mode: str = "st"):
    def command(app: str, port: int) -> list[str]:
        # --backpressure: concurrent requests per worker, and a websocket is one for its whole
        # life (the default, backlog/workers, would cap a worker at 4,096 sockets).
        return [
            str(BIN / "granian"),
            "--interface",
            "asgi" if app == "minimal" else "asginl",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--loop",
            loop,
            "--runtime-mode",
            runtime_mode,
            "--backlog",
            "4096",
            "--backpressure",
            "65535",
            "--no-access-log",
            "--log-level",
            "warning",
            APPS[app],
        ]

    return command


def _hypercorn(worker_class: str):
    def command(app: str, port: int) -> list[str]:
        return [
            str(BIN / "hypercorn"),
            "-b",
            f"127.0.0.1:{port}",
            "--backlog",
            "4096",
            "-k",
            worker_class,
            "-w",
            "0",
            "--log-level",
            "warning",
            APPS[app],
        ]

    return command


def _daphne(app: str, port: int) -> list[str]:
    return [
        str(BIN / "daphne"),
        "-e",
        f"tcp:port={port}:backlog=4096:interface=127.0.0.1",
        "-v",
        "0",
        APPS[app],
    ]


def _bare(loop: str):
    def command(app: str, port: int) -> list[str]:
        return [sys.executable, str(HERE / "bare_server.py"), str(port), loop]

    return command


CANDIDATES = {
    "bare": _bare("uvloop"),
    "bare-asyncio": _bare("asyncio"),
    "uvicorn": _uvicorn("websockets-sansio", "uvloop"),
    "uvicorn-asyncio": _uvicorn("websockets-sansio", "asyncio"),
    "uvicorn-websockets": _uvicorn("websockets", "uvloop"),
    "uvicorn-wsproto": _uvicorn("wsproto", "uvloop"),
    "granian": _granian("uvloop"),
    "granian-asyncio": _granian("asyncio"),
    "granian-rloop": _granian("rloop"),
    "hypercorn": _hypercorn("uvloop"),
    "hypercorn-asyncio": _hypercorn("asyncio"),
    "daphne": _daphne,
}
DEFAULT = (
    "bare,uvicorn,uvicorn-asyncio,uvicorn-websockets,uvicorn-wsproto,granian,granian-asyncio,hypercorn,daphne"
)


# -- process memory ------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def memory_kb(pid: int) -> dict:
    """VmRSS and RssAnon (no file-backed pages) summed over the process tree."""
    total = {"rss": 0, "anon": 0}
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("VmRSS:"):
                total["rss"] += int(line.split()[1])
            elif line.startswith("RssAnon:"):
                total["anon"] += int(line.split()[1])
    return total


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process tree."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Stats:
    """Asks the server's Python processes for their heap figures (servers_app._watch)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def heap_kb(self, pids: list[int], timeout: float = 30) -> float | None:
        self.count += 1
        token = f"{self.count}"
        (self.folder / f"trigger-{token}").write_text("")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = list(self.folder.glob(f"{token}.*.json"))
            if found and {int(p.name.split(".")[1]) for p in found} & set(pids):
                time.sleep(0.5)  # other workers of the tree
                found = list(self.folder.glob(f"{token}.*.json"))
                return (
                    sum(json.loads(p.read_text())["heap"] for p in found if int(p.name.split(".")[1]) in pids)
                    / 1024
                )
            time.sleep(0.1)
        return None


# -- one server, one load ------------------------------------------------------------------------


class Runner:
    def __init__(self, args):
        self.args = args
        self.bench = Bench(argparse.Namespace(redis_url=args.redis_url, malloc_arena_max=0))
        self.stats = Stats(self.bench.workdir / "stats")
        self.prepared = False

    def prepare(self, viewers: int) -> None:
        if not self.prepared:
            self.bench.prepare(viewers + 50)
            self.prepared = True

    def env(self, app: str) -> dict:
        env = dict(self.bench.env, SERVERS_STATS_DIR=str(self.stats.folder), BENCH_HUB_BACKEND="memory")
        if app == "minimal":
            env.pop("DJANGO_SETTINGS_MODULE", None)
        return env

    def start(self, candidate: str, app: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        command = CANDIDATES[candidate](app, port)
        log = open(self.bench.workdir / f"{candidate}-{app}-{port}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env(app), stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        wait_for_port(port, process, timeout=60)
        return process, port

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def urls(self, candidate: str, app: str, port: int) -> tuple[str, str]:
        if candidate.startswith("bare"):
            return f"ws://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/pub"
        if app == "minimal":
            return f"ws://127.0.0.1:{port}/v", f"ws://127.0.0.1:{port}/pub"
        url = f"ws://127.0.0.1:{port}/ws/live/1/?ticket={{ticket}}"
        return url, url

    def warm_up(self, url: str, stack: bool) -> None:
        from websockets.sync.client import connect

        with connect(url, origin="http://localhost", open_timeout=20) as ws:
            if stack:
                ws.recv(timeout=20)

    def run(self, candidate: str, app: str, viewers: int, fps: float, duration: float) -> dict:
        stack = app == "stack" and not candidate.startswith("bare")
        process, port = self.start(candidate, app)
        try:
            viewer_url, publisher_url = self.urls(candidate, app, port)
            tickets = None
            if stack:
                tickets = self.bench.mint_tickets(viewers)
                self.warm_up(viewer_url.replace("{ticket}", tickets.pop()), True)
            else:
                self.warm_up(viewer_url, False)
            time.sleep(1)
            pids = process_tree(process.pid)
            before, heap_before = memory_kb(process.pid), self.stats.heap_kb(pids)
            config = {
                "targets": [viewer_url],
                "publisher": publisher_url,
                "viewers": viewers,
                "rate": self.args.rate,
                "fps": fps,
                "duration": duration,
                "tickets": tickets,
                "origin": "http://localhost",
                "admitOnOpen": not stack,
                "pad": 40,
                "drain": 10,
                "connectTimeout": viewers / self.args.rate + 60,
            }
            config_path = self.bench.workdir / f"client-{candidate}-{app}.json"
            config_path.write_text(json.dumps(config))
            client = subprocess.Popen(
                ["node", str(HERE / "loadclient.js"), str(config_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=HERE,
            )
            connected = json.loads(client.stdout.readline() or '{"phase": "error"}')
            time.sleep(3)  # idle
            pids = process_tree(process.pid)
            after, heap_after = memory_kb(process.pid), self.stats.heap_kb(pids)
            cpu = cpu_seconds(process.pid)
            client.stdin.write("go\n")
            client.stdin.flush()
            done = json.loads(client.stdout.readline() or '{"phase": "error"}')
            cpu = cpu_seconds(process.pid) - cpu
            client.wait(timeout=60)
            admitted = connected.get("admitted", 0) or 0

            def per(a, b):
                return (a - b) / admitted if admitted and a is not None and b is not None else None

            return {
                "candidate": candidate,
                "app": "bare" if candidate.startswith("bare") else app,
                "viewers": viewers,
                "admitted": admitted,
                "connect_s": connected.get("seconds"),
                "close_codes": connected.get("closeCodes"),
                "processes": len(pids),
                "rss_kb": per(after["rss"], before["rss"]),
                "anon_kb": per(after["anon"], before["anon"]),
                "heap_kb": per(heap_after, heap_before),
                "rss_before_kb": before["rss"],
                "rss_after_kb": after["rss"],
                "fps": fps,
                "duration": duration,
                "delivered_per_s": done.get("deliveredPerSecond"),
                "complete": done.get("completeness"),
                "p50": done.get("p50"),
                "p99": done.get("p99"),
                # server CPU per delivered frame while publishing (and draining)
                "cpu_us_per_delivery": cpu * 1e6 / done["delivered"] if done.get("delivered") else None,
            }
        finally:
            self.stop(process)
            if stack:
                self.bench.cleanup_redis()


# -- the endpoint on each server -----------------------------------------------------------------


def _recv_all(ws, frames: list, stop: threading.Event) -> None:
    from websockets.exceptions import ConnectionClosed

    while not stop.is_set():
        try:
            frames.append(json.loads(ws.recv(timeout=0.5)))
        except TimeoutError:
            continue
        except ConnectionClosed:
            return


def check_endpoint(runner: Runner, candidate: str) -> dict:
    """Our endpoint on ``candidate``: what a client sees. Returns {check: result}."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    results: dict = {}
    process, port = runner.start(candidate, "stack")
    spare = _tickets(runner.bench.users[:30])
    staff = _tickets([runner.bench.publisher_id] * 4, staff=True)
    publisher_ticket = staff.pop()
    url = f"ws://127.0.0.1:{port}/ws/live/1/"

    def closed_with(ws, timeout: float = 10) -> str:
        try:
            while True:
                ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return str(closed.rcvd.code if closed.rcvd else "no close frame")
        except TimeoutError:
            return "still open"

    try:
        # Snapshot, frames in order, ack.
        with (
            connect(f"{url}?ticket={publisher_ticket}", origin="http://localhost", max_queue=None) as pub,
            connect(f"{url}?ticket={spare.pop()}", origin="http://localhost") as viewer,
        ):
            pub_frames: list = []
            stop = threading.Event()
            reader = threading.Thread(target=_recv_all, args=(pub, pub_frames, stop), daemon=True)
            reader.start()
            first = json.loads(viewer.recv(timeout=10))
            for n in range(50):
                pub.send(json.dumps({"type": "bench.publish", "n": n, "t": 0, "id": n}))
            got = []
            while len(got) < 50:
                frame = json.loads(viewer.recv(timeout=10))
                if frame.get("type") == "bench.frame":
                    got.append(frame["n"])
            time.sleep(0.5)
            acks = sum(1 for f in pub_frames if f.get("type") == "ack")
            results["snapshot, 50 frames in order, acks"] = (
                "ok"
                if first.get("type") == "snapshot" and got == list(range(50)) and acks == 50
                else f"FAIL {first.get('type')} {got[:5]} acks={acks}"
            )
            # Exactly 4 KB accepted (an error frame for the unknown type), then 4 KB + 1: 4009.
            body = '{"type":"x","pad":"' + "p" * (4096 - 21) + '"}'
            viewer.send(body)
            answer = json.loads(viewer.recv(timeout=10))
            viewer.send(body[:-2] + 'pp"}')
            results["4 KB accepted, 4 KB + 1 closed"] = f"{answer.get('code')}, {closed_with(viewer)}"
            stop.set()
        with connect(f"{url}?ticket={spare.pop()}", origin="http://localhost", max_size=None) as ws:
            ws.recv(timeout=10)
            ws.send('{"type":"x","pad":"' + "p" * 70_000 + '"}')
            results["70 KB frame"] = closed_with(ws)
        with connect(f"{url}?ticket={spare.pop()}", origin="http://localhost") as ws:
            ws.recv(timeout=10)
            ws.send("not json")
            results["not JSON"] = closed_with(ws)
        with connect(f"{url}?ticket=nope", origin="http://localhost") as ws:
            results["bad ticket"] = closed_with(ws)
        with connect(url, origin="http://localhost") as ws:
            results["no ticket"] = closed_with(ws)
        try:
            with connect(f"{url}?ticket={spare.pop()}", origin="http://evil.example") as ws:
                results["foreign origin"] = f"accepted?! {closed_with(ws)}"
        except InvalidStatus as refused:
            results["foreign origin"] = f"HTTP {refused.response.status_code}"
        except ConnectionClosed as closed:
            results["foreign origin"] = f"closed {closed.rcvd.code if closed.rcvd else None}"
        # Kick (4003) of a viewer by the lecturer.
        viewer_ticket = spare.pop()
        viewer_id = int(_ticket_user(viewer_ticket))
        with (
            connect(f"{url}?ticket={staff.pop()}", origin="http://localhost", max_queue=None) as pub,
            connect(f"{url}?ticket={viewer_ticket}", origin="http://localhost") as viewer,
        ):
            viewer.recv(timeout=10)
            pub.send(json.dumps({"type": "bench.kick", "user_id": viewer_id}))
            results["kick"] = closed_with(viewer)
        results["slow client"] = _slow_client(url, spare, staff.pop(), process)
        results["SIGTERM"] = _sigterm(url, spare, process)
    except Exception as error:  # noqa: BLE001 - reported as the check's result
        results["error"] = repr(error)[:300]
    finally:
        runner.stop(process)
        runner.bench.cleanup_redis()
    return results


def _ticket_user(ticket: str) -> int:
    from django.core.cache import cache

    from accounts.tickets import ws_ticket_key

    return cache.get(ws_ticket_key(ticket))[0]


def _tickets(owners: list[int], *, staff: bool = False) -> list[str]:
    """Single-use tickets for these users, as the ticket API issues them (with the claims)."""
    from django.conf import settings
    from django.core.cache import cache

    from accounts.tickets import ticket_entry, ws_ticket_key

    ttl = settings.WEBSOCKET_TICKET_TTL_SECONDS
    claims = {"is_staff": staff, "is_superuser": False}
    tickets = [secrets.token_urlsafe(24) for _ in owners]
    entries = {
        ws_ticket_key(t): ticket_entry(uid, time.time() + ttl, {"username": f"bench{uid}", **claims})
        for t, uid in zip(tickets, owners, strict=True)
    }
    cache.set_many(entries, timeout=ttl)
    return tickets


def _slow_client(url: str, spare: list, publisher_ticket: str, process: subprocess.Popen) -> str:
    """A viewer that never reads (a 4 KB receive buffer) while the lecturer publishes 4,000
    frames of ~1.1 KB and a reading viewer follows: is the non-reader closed with 4008, does the
    reader get everything, how much does the server's memory grow?"""
    from websockets.sync.client import connect

    port = int(url.split(":")[2].split("/")[0])
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", port))
    slow.sendall(
        f"GET /ws/live/1/?ticket={spare.pop()} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Origin: http://localhost\r\n\r\n".encode()
    )
    slow.settimeout(10)
    slow.recv(256)  # the 101 (and maybe the snapshot); from now on it reads nothing
    before = memory_kb(process.pid)["rss"]
    frames, stop = [], threading.Event()
    with (
        connect(f"{url}?ticket={publisher_ticket}", origin="http://localhost", max_queue=None) as pub,
        connect(f"{url}?ticket={spare.pop()}", origin="http://localhost", max_queue=None) as reader,
    ):
        reader.recv(timeout=10)
        pub_frames: list = []
        threads = [
            threading.Thread(target=_recv_all, args=(reader, frames, stop), daemon=True),
            threading.Thread(target=_recv_all, args=(pub, pub_frames, stop), daemon=True),
        ]
        for thread in threads:
            thread.start()
        for n in range(4000):
            pub.send(json.dumps({"type": "bench.publish", "n": n, "t": 0, "pad": "x" * 1024}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(f.get("type") == "bench.frame" for f in frames) < 4000:
            time.sleep(0.2)
        peak = memory_kb(process.pid)["rss"]
        stop.set()
        got = [f["n"] for f in frames if f.get("type") == "bench.frame"]
    # Now read what the non-reader was sent: frames, then a close frame?
    count, code = _read_raw_frames(slow)
    slow.close()
    return (
        f"non-reader: {code} after {count} frames; reader got {len(got)}/4000 in order="
        f"{got == sorted(got)}; server RSS +{(peak - before) / 1024:.1f} MB"
    )


def _read_raw_frames(sock: socket.socket) -> tuple[int, str]:
    """Counts the (unmasked) frames a server sent on ``sock`` until a close frame, EOF or 5 s
    of silence; returns (data frames, the close code or what happened instead)."""
    data = bytearray()
    sock.settimeout(5)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    except OSError as error:
        return 0, f"error {error}"
    count, at = 0, data.find(b"\x81")  # skip the rest of the 101 response
    while at >= 0 and at + 2 <= len(data):
        opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
        head = 2
        if length == 126:
            length, head = int.from_bytes(data[at + 2 : at + 4], "big"), 4
        elif length == 127:
            length, head = int.from_bytes(data[at + 2 : at + 10], "big"), 10
        payload = data[at + head : at + head + length]
        if opcode == 8:
            return count, str(int.from_bytes(payload[:2], "big")) if len(
                payload
            ) >= 2 else "close without code"
        count += 1
        at += head + length
    return count, "no close frame"


def _sigterm(url: str, spare: list, process: subprocess.Popen) -> str:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    sockets = [connect(f"{url}?ticket={spare.pop()}", origin="http://localhost") for _ in range(3)]
    for ws in sockets:
        ws.recv(timeout=10)
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    codes = []
    for ws in sockets:
        try:
            while True:
                ws.recv(timeout=15)
        except ConnectionClosed as closed:
            codes.append(closed.rcvd.code if closed.rcvd else "none")
        except TimeoutError:
            codes.append("open after 15 s")
    closed_after = time.monotonic() - started
    try:
        process.wait(timeout=30)
        exited = f"exited in {time.monotonic() - started:.1f} s (rc {process.returncode})"
    except subprocess.TimeoutExpired:
        exited = "still running after 30 s"
    return f"clients closed with {codes} within {closed_after:.1f} s; {exited}"


# -- report --------------------------------------------------------------------------------------


def report(results: list[dict]) -> str:
    bare = next((r for r in results if r["candidate"] == "bare"), None)
    base = bare["rss_kb"] if bare and bare["rss_kb"] else None
    lines = [
        f"{'server':20} {'app':8} {'admitted':>11} {'conn s':>6} {'RSS KB':>7} {'anon KB':>7} "
        f"{'heap KB':>7} {'x bare':>6}"
        + ("  frames/s  p50 ms  p99 ms  CPU us/frame" if results and results[0]["fps"] else "")
    ]

    def fmt(value) -> str:
        return f"{value:7.1f}" if isinstance(value, (int, float)) else f"{'-':>7}"

    for r in results:
        ratio = f"{r['rss_kb'] / base:6.2f}" if base and r["rss_kb"] else f"{'-':>6}"
        line = (
            f"{r['candidate']:20} {r['app']:8} {r['admitted']:>5}/{r['viewers']:<5} "
            f"{r['connect_s'] or 0:6.0f} {fmt(r['rss_kb'])} {fmt(r['anon_kb'])} {fmt(r['heap_kb'])} {ratio}"
        )
        if r["fps"]:
            line += f"  {r['delivered_per_s'] or 0:8.0f} {r['p50'] or 0:7} {r['p99'] or 0:7}"
            line += f" {fmt(r['cpu_us_per_delivery'])}"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", default=DEFAULT, help=f"from: {', '.join(CANDIDATES)}")
    parser.add_argument("--apps", default="minimal,stack")
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500, help="connects per second")
    parser.add_argument("--fanout", action="store_true", help="then publish --fps for --duration s")
    parser.add_argument("--fps", type=float, default=10)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--check", action="store_true", help="our endpoint's behaviour on each candidate")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--output", help="write the raw results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (server logs)")
    args = parser.parse_args()

    raise_file_limit()
    if not (HERE / "node_modules" / "ws").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)
    runner = Runner(args)
    print(f"work dir {runner.bench.workdir}; load {os.getloadavg()}", flush=True)
    candidates = [c for c in args.candidates.split(",") if c]
    missing = {"granian": "granian", "hypercorn": "hypercorn", "uvicorn-wsproto": "wsproto"}
    for candidate in list(candidates):
        module = next((m for prefix, m in missing.items() if candidate.startswith(prefix)), None)
        if module is not None and importlib.util.find_spec(module) is None:
            # Not project dependencies: `pip install granian hypercorn wsproto` to compare them.
            print(f"skipping {candidate}: {module} is not installed", flush=True)
            candidates.remove(candidate)
    if "bare" not in candidates and not args.check:
        candidates.insert(0, "bare")
    results: list[dict] = []
    try:
        runner.prepare(args.viewers)
        if args.check:
            for candidate in candidates:
                checks = check_endpoint(runner, candidate)
                print(json.dumps({"candidate": candidate} | checks), flush=True)
                results.append({"candidate": candidate, "checks": checks})
            return
        fps, duration = (args.fps, args.duration) if args.fanout else (0, 0)
        for candidate in candidates:
            apps = ["minimal"] if candidate.startswith("bare") else args.apps.split(",")
            for app in apps:
                result = runner.run(candidate, app, args.viewers, fps, duration)
                results.append(result)
                print(json.dumps(result), flush=True)
        print(f"load average now {os.getloadavg()}")
        print(report(results))
    finally:
        if args.output:
            Path(args.output).write_text(json.dumps(results, indent=1))
        if not args.keep:
            shutil.rmtree(runner.bench.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Benchmark: live-room fan-out against a bare ``websockets`` broadcast server (a script, not a test).

    .venv/bin/python tests/bench/fanout/run.py                    # both scenarios, 15 s each
    .venv/bin/python tests/bench/fanout/run.py --duration 30 --scenarios large
    .venv/bin/python tests/bench/fanout/run.py --quick            # a tenth of the viewers

Needs node + npm (the load client is Node `ws`, installed here by `npm install` on first run)
and a Redis (REDIS_URL, default redis://127.0.0.1:6379/0; keys under a throwaway prefix).
In one run, for each scenario (2,000 viewers at 10 frames/s; 13,000 viewers at 2 frames/s) it
measures, with the same load client:

  bare       tests/bench/fanout/bare_server.py: websockets' broadcast, no auth, no Django;
  memory     our endpoint, config.asgi on uvicorn (origin check, single-use ticket, the hub's
             memory backend, the bench room handler), one process;
  redis      the same through the Redis hub (Lua seq + buffer + pub/sub), one process;
  redis x2   two uvicorn processes sharing Redis; viewers split over both ports, the publisher
             on the first;
  room       (only when asked: --targets room) the REAL room handler (live.room) with the Redis
             hub and store: a live city-wide lecture with saved chat and questions and students
             who may watch it (tests/bench/bench_room_admit.py builds them); connect storm and
             memory only, nothing is published (the room's own frames are rate-limited chat).

Viewers connect ramped at --rate connects/s with jittered retries; then the server's idle memory
is read (RSS delta / connections); then one publisher sends --duration seconds of ~100-byte
frames carrying their send time. Printed: connects admitted, delivered frames/s, p50/p99
latency, memory per idle connection, and the ratios the issue sets as goals (vs bare in the same
run; redis vs memory; two processes vs one). Users live in a throwaway SQLite file; tickets are
written to Redis the way accounts.tickets does. Record the figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BIN = Path(sys.executable).parent
# small and large are the issue's; stress (65,000 deliveries/s) nearly fills one process's core, and
# saturate (130,000/s) offers more than one process can send: where a second process shows what it adds.
SCENARIOS = {"small": (2000, 10), "large": (13000, 2), "stress": (13000, 5), "saturate": (13000, 10)}
TARGETS = ["bare", "memory", "redis", "redis2", "room"]
LABELS = {"bare": "bare websockets", "memory": "live, memory hub", "redis": "live, Redis hub",
          "redis2": "live, Redis, 2 procs", "room": "real room, Redis"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65535
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="xw-bench-fanout-"))
        self.prefix = f"xw_bench_fanout_{os.getpid()}"
        self.env = dict(
            os.environ,
            XUEWEN_ENV="development", DEBUG="off", LOG_LEVEL="WARNING",
            DATABASE_URL=f"sqlite:///{self.workdir / 'bench.sqlite3'}",
            REDIS_URL=args.redis_url, CACHE_KEY_PREFIX=self.prefix,
            DJANGO_SETTINGS_MODULE="bench_settings",
            PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT), str(ROOT / "platform")]),
        )
        self.env.pop("PYTEST_XDIST_WORKER", None)
        self.users: list[int] = []
        self.publisher_id = 0
        self.room: tuple[int, list[int], int] | None = None  # the real room's lecture, viewers, lecturer

    # -- data: users in a throwaway database, tickets in Redis --

    def prepare(self, viewers: int) -> None:
        os.environ.update({k: v for k, v in self.env.items() if k != "PYTHONPATH"})
        for path in reversed(self.env["PYTHONPATH"].split(os.pathsep)):
            sys.path.insert(0, path)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from accounts.models import User

        User.objects.bulk_create(
            [User(username=f"bench{i}", password="!") for i in range(viewers * 2)],
            batch_size=2000)
        publisher = User.objects.create(username="bench-publisher", password="!", is_staff=True)
        self.users = list(User.objects.filter(is_staff=False).values_list("pk", flat=True))
        self.publisher_id = publisher.pk

    def prepare_room(self, viewers: int) -> None:
        """The real room's data, once: a live lecture and 2 x viewers students who may watch it."""
        if self.room is None:
            sys.path.insert(0, str(ROOT / "tests" / "bench"))
            from bench_room_admit import _build

            self.room = _build(viewers * 2)

    def mint_tickets(self, viewers: int, *, room: bool = False) -> list[str]:
        """viewers tickets, the publisher's, then spares for retries (a ticket works once)."""
        from django.conf import settings
        from django.core.cache import cache

        from accounts.tickets import ticket_entry, ws_ticket_key

        expires = time.time() + settings.WEBSOCKET_TICKET_TTL_SECONDS
        users, publisher = (self.room[1], self.room[2]) if room else (self.users, self.publisher_id)
        owners = users[:viewers] + [publisher] + users[viewers:]
        tickets = [secrets.token_urlsafe(24) for _ in owners]
        # As the ticket API issues them: with the user's claims (accounts/tickets.py).
        entries = {ws_ticket_key(t): ticket_entry(uid, expires, {"username": f"bench{uid}",
                                                                  "is_staff": uid == publisher,
                                                                  "is_superuser": False})
                   for t, uid in zip(tickets, owners, strict=True)}
        items = list(entries.items())
        for start in range(0, len(items), 5000):
            cache.set_many(dict(items[start:start + 5000]), timeout=settings.WEBSOCKET_TICKET_TTL_SECONDS)
        return tickets

    def cleanup_redis(self) -> None:
        from django.core.cache import cache

        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=f"{self.prefix}*", count=5000):
            client.delete(key)

    # -- servers --

    def start_servers(self, target: str) -> tuple[list[subprocess.Popen], list[int]]:
        count = 2 if target == "redis2" else 1
        ports = [free_port() for _ in range(count)]
        env = dict(self.env, BENCH_HUB_BACKEND="memory" if target == "memory" else "")
        if target == "room":
            env["BENCH_ROOM_HANDLER"] = ""
        if self.args.malloc_arena_max:
            env["MALLOC_ARENA_MAX"] = str(self.args.malloc_arena_max)
        processes = []
        for port in ports:
            if target == "bare":
                command = [sys.executable, str(HERE / "bare_server.py"), str(port), self.args.loop]
            else:
                command = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                           "--port", str(port), "--ws", self.args.ws, "--backlog", "4096",
                           "--no-access-log", "--log-level", "warning", "--lifespan", "off",
                           "--loop", self.args.loop]
            with open(self.workdir / f"server-{port}.log", "ab") as log:
                processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                                  stderr=log))
        for process, port in zip(processes, ports, strict=True):
            wait_for_port(port, process)
        return processes, ports

    def lecture_id(self, target: str) -> int:
        return self.room[0] if target == "room" else 1

    def warm_up(self, target: str, ports: list[int], ticket: str | None) -> None:
        """One connection per process first, so lazy imports are not counted per viewer."""
        from websockets.sync.client import connect

        for port in ports:
            if target == "bare":
                url = f"ws://127.0.0.1:{port}/"
            else:
                url = f"ws://127.0.0.1:{port}/ws/live/{self.lecture_id(target)}/?ticket={ticket.pop()}"
            with connect(url, origin="http://localhost", open_timeout=10) as ws:
                if target != "bare":
                    ws.recv(timeout=10)

    def run_one(self, target: str, viewers: int, fps: int) -> dict:
        processes, ports = self.start_servers(target)
        try:
            tickets = None
            warm = None
            if target == "room":
                self.prepare_room(viewers)
                fps = 0  # connect storm and memory only
            if target != "bare":
                tickets = self.mint_tickets(viewers, room=target == "room")
                warm = [tickets.pop() for _ in ports]
            self.warm_up(target, ports, warm)
            time.sleep(1)
            before = sum(rss_kb(p.pid) for p in processes)
            if target == "bare":
                targets = [f"ws://127.0.0.1:{port}/" for port in ports]
                publisher = f"ws://127.0.0.1:{ports[0]}/pub"
            else:
                lecture = self.lecture_id(target)
                targets = [f"ws://127.0.0.1:{port}/ws/live/{lecture}/?ticket={{ticket}}" for port in ports]
                publisher = targets[0]
            config = {
                "targets": targets, "publisher": publisher, "viewers": viewers, "rate": self.args.rate,
                "fps": fps, "duration": self.args.duration, "tickets": tickets, "origin": "http://localhost",
                "admitOnOpen": target == "bare", "pad": 40, "drain": 10,
                "connectTimeout": viewers / self.args.rate + 360,
            }
            config_path = self.workdir / f"client-{target}-{viewers}.json"
            config_path.write_text(json.dumps(config))
            client = subprocess.Popen(["node", str(HERE / "loadclient.js"), str(config_path)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE)
            connected = json.loads(client.stdout.readline() or '{"phase": "error"}')
            print(json.dumps({"target": target} | connected), flush=True)
            time.sleep(3)  # idle
            after = sum(rss_kb(p.pid) for p in processes)
            cpu_before = sum(cpu_seconds(p.pid) for p in processes)
            client.stdin.write("go\n")
            client.stdin.flush()
            done = json.loads(client.stdout.readline() or '{"phase": "error"}')
            cpu_used = sum(cpu_seconds(p.pid) for p in processes) - cpu_before
            client.wait(timeout=60)
            admitted = connected.get("admitted", 0)
            return {
                "target": target, "viewers": viewers, "fps": fps, "connected": connected, "done": done,
                "admitted": admitted,
                "memory_per_connection_kb": (after - before) / admitted if admitted else None,
                "rss_before_kb": before, "rss_after_kb": after,
                # server CPU per delivered frame over the publish phase (and its drain)
                "cpu_us_per_delivery": cpu_used * 1e6 / done["delivered"] if done.get("delivered") else None,
            }
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            if target != "bare":
                self.cleanup_redis()


def report(results: list[dict]) -> str:
    lines = []
    by = {(r["viewers"], r["fps"], r["target"]): r for r in results}
    for viewers, fps in sorted({(r["viewers"], r["fps"]) for r in results}):
        bare = by.get((viewers, fps, "bare"))
        lines.append(f"\n{viewers} viewers at {fps} frames/s")
        lines.append(f"{'server':22} {'admitted':>9} {'conn s':>7} {'frames/s':>9} {'complete':>8} "
                     f"{'p50 ms':>7} {'p99 ms':>7} {'KB/conn':>8} {'cpu us':>7}  vs bare (thr, p99, mem)")
        for target in TARGETS:
            row = by.get((viewers, fps, target))
            if row is None:
                continue
            done = row["done"]
            thr, p99 = done.get("deliveredPerSecond") or 0, done.get("p99")
            mem = row["memory_per_connection_kb"]
            ratios = ""
            if bare and target != "bare":
                b = bare["done"]
                ratios = (f"{thr / b['deliveredPerSecond']:.2f}x, "
                          f"{(p99 or 0) / max(1, b['p99'] or 1):.2f}x, "
                          f"{(mem or 0) / max(0.001, bare['memory_per_connection_kb'] or 0.001):.2f}x")
            lines.append(
                f"{LABELS[target]:22} {row['admitted']:>5}/{viewers:<5}"
                f"{row['connected'].get('seconds', 0):>5.0f} {thr:>9.0f} {done.get('completeness', 0):>8.3f} "
                f"{done.get('p50') or 0:>7} {p99 or 0:>7} {mem or 0:>8.1f} "
                f"{row['cpu_us_per_delivery'] or 0:>7.1f}  {ratios}")
        thr = {t: by[(viewers, fps, t)]["done"].get("deliveredPerSecond") or 0
               for t in TARGETS if (viewers, fps, t) in by}
        if thr.get("memory") and "redis" in thr:
            lines.append(f"Redis path vs memory path: {thr['redis'] / thr['memory']:.2f}x throughput")
        if thr.get("redis") and "redis2" in thr:
            lines.append(f"two processes vs one (Redis): {thr['redis2'] / thr['redis']:.2f}x throughput")
    return "\n".join(lines)


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--rate", type=float, default=400, help="connects per second")
    parser.add_argument("--scenarios", default="small,large")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--quick", action="store_true", help="a tenth of the viewers")
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn's --ws implementation")
    parser.add_argument("--loop", default="uvloop" if _has_uvloop() else "asyncio",
                        help="event loop of every server (uvloop when installed, as in production)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--malloc-arena-max", type=int, default=0,
                        help="MALLOC_ARENA_MAX for every server (0: glibc's default; 2 made no difference)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (server logs)")
    parser.add_argument("--output", help="write the raw results as JSON here")
    args = parser.parse_args()

    limit = raise_file_limit()
    if not (HERE / "node_modules" / "ws").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)
    scenarios = [(name, *SCENARIOS[name]) for name in args.scenarios.split(",")]
    if args.quick:
        scenarios = [(name, viewers // 10, fps) for name, viewers, fps in scenarios]
    bench = Bench(args)
    print(f"open files limit {limit}; work dir {bench.workdir}", flush=True)
    bench.prepare(max(viewers for _, viewers, _ in scenarios))
    results = []
    try:
        for _name, viewers, fps in scenarios:
            for target in args.targets.split(","):
                result = bench.run_one(target, viewers, fps)
                results.append(result)
                print(json.dumps({k: result[k] for k in ("target", "viewers", "admitted",
                                                         "memory_per_connection_kb")} | {
                    k: result["done"].get(k) for k in ("deliveredPerSecond", "completeness", "p50", "p99")}),
                    flush=True)
    finally:
        if args.output:
            Path(args.output).write_text(json.dumps(results, indent=1))
        print(report(results))
        if not args.keep:
            shutil.rmtree(bench.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

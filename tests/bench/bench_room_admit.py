#!/usr/bin/env python
"""Benchmark of the live room's door (a script, not a test): how fast the REAL room handler
(live.room.RoomHandler) admits a connect storm, against the transport's stand-in handler
(live.hub_bench) measured in the same run.

    flock /tmp/bench.lock .venv/bin/python tests/bench/bench_room_admit.py [--viewers 13000]
        [--ramp 4000 --rate 400] [--backend sqlite|postgres]

Without --backend it runs twice, each in a subprocess: SQLite with the memory store and hub,
then PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/xw_bench_room_admit,
dropped and created) with the Redis store and hub when REDIS_URL is set (prefix
xw_bench_room_admit, its keys deleted first).

Data: one live city-wide lecture of a published course, its lecturer, 50 saved chat messages and
20 questions (the first connect refills the store from them), and --viewers students of one
school of the city. For each handler, on ONE event loop as a server process runs them:
  storm    --viewers fresh Connection objects at once: ``on_connect`` then ``hub.join`` (the
           room's seq, the snapshot, registration): admits/s over the whole storm;
  ramp     --ramp connections started at --rate per second: p50/p99 of one admit (what a
           viewer waits for between the upgrade and the snapshot) and whether the rate held;
  queries  database queries per admit (100 sequential admits of fresh viewers).
Prints the figures and the ratios real/bench. Record them in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

PG_URL = "postgres://postgres@127.0.0.1:5432/xw_bench_room_admit"
PREFIX = "xw_bench_room_admit"


def _prepare_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    if not name.startswith("xw_bench"):
        sys.exit(f"Refusing to use database {name!r}: use a name starting with xw_bench")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{PREFIX}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def _setup(backend: str) -> None:
    os.environ.update(
        {
            "XUEWEN_ENV": "development",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CACHE_KEY_PREFIX": PREFIX,
        }
    )
    if backend == "postgres":
        os.environ.setdefault("DATABASE_URL", PG_URL)
        _prepare_postgres(os.environ["DATABASE_URL"])
        if os.environ.get("REDIS_URL"):
            _flush_redis(os.environ["REDIS_URL"])
    else:
        path = Path(tempfile.mkdtemp(prefix="xw_bench_room_admit_")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _build(viewers: int) -> tuple[int, list[int], int]:
    """The lecture's id, the viewers' user ids and the lecturer's id."""
    import datetime

    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import StudentProfile, User
    from courses.models import Course, Lecture, LectureStaff
    from live.models import ChatMessage, Question
    from tests import factories

    with transaction.atomic():
        w = factories.build_world()
        course = Course.objects.create(
            title="名师大讲堂",
            owner=w.teacher_a,
            city=w.city,
            status=Course.Status.PUBLISHED,
            created_by=w.teacher_a.user,
        )
        start = timezone.now() - datetime.timedelta(minutes=10)
        lecture = Lecture.objects.create(
            course=course,
            title="一次函数",
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=2),
            state=Lecture.State.LIVE,
            went_live_at=start,
            stream_play_url="https://live.example/hls/1.m3u8",
            stream_push_url="rtmp://push.example/secret",
            created_by=w.teacher_a.user,
        )
        LectureStaff.objects.create(lecture=lecture, teacher=w.teacher_a, role=LectureStaff.Role.LECTURER)
        password = make_password("bench-password")
        users = User.objects.bulk_create(
            [
                User(username=f"bench-viewer-{n}", display_name=f"观众{n}", password=password)
                for n in range(viewers)
            ],
            batch_size=2000,
        )
        grade = factories.GradeFactory()
        StudentProfile.objects.bulk_create(
            [
                StudentProfile(
                    user=user,
                    school=w.school_a,
                    grade=grade,
                    class_name="1班",
                    student_number=f"B{n:08d}",
                    real_name=f"学生{n}",
                )
                for n, user in enumerate(users)
            ],
            batch_size=2000,
        )
        ChatMessage.objects.bulk_create(
            [
                ChatMessage(
                    lecture=lecture,
                    number=n + 1,
                    author=users[n],
                    text=f"第{n}条消息",
                    offset_ms=n * 1000,
                    sent_at=start,
                )
                for n in range(50)
            ]
        )
        Question.objects.bulk_create(
            [
                Question(
                    lecture=lecture,
                    author=users[n],
                    text=f"问题{n}",
                    offset_ms=n * 1000,
                    asked_at=start,
                    votes=n,
                )
                for n in range(20)
            ]
        )
    return lecture.pk, [user.pk for user in users], w.teacher_a.user.pk


class QueryCounter:
    """Counts every SQL statement run by any thread (patched into Django's cursor wrapper)."""

    def __init__(self):
        from django.db.backends import utils

        self.count = 0
        self._lock = threading.Lock()
        original = utils.CursorWrapper._execute_with_wrappers
        counter = self

        def counted(self, *args, **kwargs):
            with counter._lock:
                counter.count += 1
            return original(self, *args, **kwargs)

        utils.CursorWrapper._execute_with_wrappers = counted


_joined: list = []


async def _admit(handler, user, lecture_id: int) -> float:
    from live.hub import Connection, get_hub

    conn = Connection(user=user, lecture_id=lecture_id)
    start = time.perf_counter()
    await handler.on_connect(conn)
    await get_hub().join(conn, handler)
    _joined.append(conn)
    return time.perf_counter() - start


def _leave_all() -> None:
    from live.hub import get_hub

    hub = get_hub()
    for conn in _joined:
        hub.leave(conn)
    _joined.clear()


async def _storm(handler, users, lecture_id: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*[_admit(handler, user, lecture_id) for user in users])
    return len(users) / (time.perf_counter() - start)


async def _ramp(handler, users, lecture_id: int, rate: float) -> tuple[list[float], float]:
    tasks = []
    start = time.perf_counter()
    for n, user in enumerate(users):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(_admit(handler, user, lecture_id)))
    latencies = await asyncio.gather(*tasks)
    return sorted(latencies), len(users) / (time.perf_counter() - start)


def _users(ids: list[int]):
    """The users as the ticket middleware hands them over (full User rows, loaded up front so
    the benchmark times the room, not the middleware)."""
    from accounts.models import User

    by_id = User.objects.in_bulk(ids)
    return [by_id[pk] for pk in ids]


async def _run(args, lecture_id: int, user_ids: list[int], counter: QueryCounter) -> dict:
    from asgiref.sync import sync_to_async

    from live.hub_bench import BenchRoomHandler
    from live.room import RoomHandler

    users = await sync_to_async(_users)(user_ids)
    storm_users = users[: args.viewers]
    results = {}
    # The storm and the ramp reuse the same users (a Connection is fresh every time); the
    # connections of a phase leave the hub before the next phase.
    for name, factory in [("bench", BenchRoomHandler), ("real", RoomHandler)]:
        handler = factory()
        # Warm the room (the real handler refills the store and caches what it may).
        await _admit(handler, users[0], lecture_id)
        before = counter.count
        sample = users[1:101]
        for user in sample:
            await _admit(handler, user, lecture_id)
        queries = (counter.count - before) / len(sample)
        before = counter.count
        rate_storm = await _storm(handler, storm_users, lecture_id)
        storm_queries = (counter.count - before) / len(storm_users)
        _leave_all()
        latencies, rate_ramp = await _ramp(handler, users[: args.ramp], lecture_id, args.rate)
        _leave_all()
        results[name] = {
            "queries_per_admit": round(queries, 3),
            "storm_queries_per_admit": round(storm_queries, 3),
            "storm_admits_per_s": round(rate_storm),
            "ramp_rate_held": round(rate_ramp),
            "ramp_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "ramp_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
            "ramp_max_ms": round(latencies[-1] * 1000, 1),
        }
        if hasattr(handler, "shutdown"):
            for task in handler._flushers.values():
                task.cancel()
        print(f"  {name:<6} {json.dumps(results[name])}", flush=True)
    return results


def child(args) -> None:
    _setup(args.backend)
    from django.conf import settings

    counter = QueryCounter()
    started = time.perf_counter()
    lecture_id, user_ids, _lecturer = _build(max(args.viewers, args.ramp) + 101)
    print(
        f"{args.backend}: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[1]}, "
        f"{'Redis' if settings.REDIS_URL else 'memory'} store/hub; data built in "
        f"{time.perf_counter() - started:.1f} s; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = asyncio.run(_run(args, lecture_id, user_ids, counter))
    real, bench = results["real"], results["bench"]
    print(
        f"  real/bench: storm admits/s {real['storm_admits_per_s'] / bench['storm_admits_per_s']:.2f}x, "
        f"ramp p99 {real['ramp_p99_ms'] / max(bench['ramp_p99_ms'], 0.1):.1f}x; "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    print("RESULT " + json.dumps({"backend": args.backend, **results}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=13000, help="connections in the storm")
    parser.add_argument("--ramp", type=int, default=4000, help="connections in the ramped run")
    parser.add_argument("--rate", type=float, default=400, help="connects per second in the ramped run")
    parser.add_argument("--backend", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.backend:
        child(args)
        return
    for backend in ["sqlite", "postgres"]:
        env = dict(os.environ)
        env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0") if backend == "postgres" else None
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--backend",
                backend,
                "--viewers",
                str(args.viewers),
                "--ramp",
                str(args.ramp),
                "--rate",
                str(args.rate),
            ],
            env=env,
            check=True,
        )


if __name__ == "__main__":
    main()

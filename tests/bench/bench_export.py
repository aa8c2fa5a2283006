#!/usr/bin/env python
"""Benchmark of the evidence export of a whole city (a script, not a test):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xw_bench_export \\
        .venv/bin/python tests/bench/bench_export.py --events 1000000
    .venv/bin/python tests/bench/bench_export.py --events 200000          # SQLite, smaller

Builds a city (12 counties, 600 schools, --teachers teachers) and --events service events
spread evenly over 2025, then exports the city's evidence as a city administrator through the
real API (``/api/v1/exports/evidence.{csv,xlsx}``, streamed response read to the end) for a
window of about --small events and for the whole year, each in a fresh process, measuring:

  seconds        wall time of the whole download (the query included), median of --rounds;
  first byte     seconds until the first chunk of the response;
  peak RSS       the process's resident high-water mark (``resource.getrusage``) after the export;
  growth         the largest resident size sampled during the export (every chunk, from
                 /proc/self/statm) less the resident size when it started, after a warm-up
                 (the largest of the rounds);
  traced peak    with --tracemalloc: Python allocations' peak during the export (slower run).

Baselines in the same run, on the same rows: PostgreSQL ``COPY (the export's own query) TO
STDOUT WITH CSV`` through psycopg (on SQLite: the same SELECT read by a bare sqlite3 cursor and
written with ``csv.writer``); the same without ORDER BY (the floor: the rows in whatever order
is cheapest); and, at the small size only, openpyxl's write-only mode saving the
same rows to a temporary file (the approach the XLSX writer replaces). Prints a table with the
ratio of each export to the baseline and the memory growth from the small to the whole export;
record them in docs/performance.md. The PostgreSQL database named in DATABASE_URL must start
with xw_bench: it is dropped and created.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

WORKDIR = Path(os.environ.get("XW_BENCH_WORKDIR") or tempfile.mkdtemp(prefix="xw-bench-export-"))
os.environ["XW_BENCH_WORKDIR"] = str(WORKDIR)
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORKDIR / 'bench.sqlite3'}")
os.environ.update({"XUEWEN_ENV": "development", "DEBUG": "false", "XUEWEN_DATA_DIR": str(WORKDIR),
                   "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings"})

YEAR_START = "2025-01-01"
SECONDS_IN_YEAR = 365 * 24 * 3600
KINDS = ["answer_given", "answer_accepted", "live_minutes", "duty_minutes", "question_authored",
         "question_reviewed", "lecture_delivered", "research_lesson"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏浩宇轩然思琪涵睿博文雅欣怡"


def _rss_mb() -> float:
    """The process's resident high-water mark."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


_PAGE = os.sysconf("SC_PAGE_SIZE")
_sampled = [0.0]


def _sample() -> float:
    """The process's resident size now (Linux), remembering the largest seen."""
    with open("/proc/self/statm") as statm:
        now = int(statm.read().split()[1]) * _PAGE / 2**20
    _sampled[0] = max(_sampled[0], now)
    return now


# --- building the data ------------------------------------------------------------------------

def _prepare_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    if not name.startswith("xw_bench"):
        sys.exit(f"Refusing to drop database {name!r}: use a name starting with xw_bench")
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def reuse() -> dict:
    """The data a previous run built (same DATABASE_URL)."""
    import django

    django.setup()
    from accounts.models import User

    return {"admin": User.objects.get(username="bench_city_admin").pk, "seconds": 0.0}


def build(teachers: int, events: int) -> dict:
    url = os.environ["DATABASE_URL"]
    if url.startswith("postgres"):
        _prepare_postgres(url)
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from accounts.models import AdministratorProfile, TeacherProfile, TeacherTier, User
    from regions.models import Region, School
    from service_records.models import ServiceEvent, ServiceEventKind

    started = time.perf_counter()
    with transaction.atomic():
        city = Region.objects.create(kind="city", code="BC", name="基准市")
        counties = [Region.objects.create(kind="county", code=f"BC-{i:02d}", name=f"基准{i}区", parent=city)
                    for i in range(12)]
        School.objects.bulk_create([School(code=f"BS{i:04d}", name=f"基准第{i}中学", county=counties[i % 12],
                                           city=city) for i in range(600)])
        schools = list(School.objects.order_by("pk").values_list("pk", flat=True))
        tiers = [TeacherTier.objects.get_or_create(code=code, defaults={"name": name, "rank": rank})[0]
                 for code, name, rank in (("city-famous", "市名师", 1), ("city-backbone", "市骨干", 2),
                                          ("county-backbone", "县骨干", 3))]
        password = make_password("bench-password-1")
        for start in range(0, teachers, 5000):
            batch = range(start, min(start + 5000, teachers))
            users = User.objects.bulk_create([User(username=f"bt{i:06d}", password=password) for i in batch])
            TeacherProfile.objects.bulk_create([
                TeacherProfile(user=user, school_id=schools[i % len(schools)], staff_number=f"T{i:07d}",
                               real_name=SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)],
                               tier=tiers[i % 3]) for i, user in zip(batch, users, strict=True)])
        admin = User.objects.create(username="bench_city_admin", password=password, is_staff=True)
        AdministratorProfile.objects.create(user=admin, level="city", region=city, real_name="基准管理员")
    ids = list(TeacherProfile.objects.order_by("user_id").values_list("user_id", flat=True))
    kind_ids = [ServiceEventKind.objects.get(code=code).pk for code in KINDS]
    table = connection.ops.quote_name(ServiceEvent._meta.db_table)
    columns = ("teacher_id, sequence, kind_id, source_type_id, source_id, occurred_at, quantity, rating, "
               "accepted, review_outcome, idempotency_key, recorded_at, recorded_by_id, corrects_id, "
               "reason, prev_hash, hash")
    step = SECONDS_IN_YEAR / events
    if connection.vendor == "postgresql" and ids == list(range(ids[0], ids[0] + len(ids))):
        insert = f"""
                INSERT INTO {table} ({columns})
                SELECT %(first)s + g %% %(t)s, g / %(t)s + 1, (%(kinds)s::bigint[])[g %% %(k)s + 1], NULL, '',
                       TIMESTAMPTZ '{YEAR_START} 00:00:00+08' + g * %(step)s * INTERVAL '1 second',
                       CASE WHEN g %% %(k)s IN (2, 3) THEN 45 ELSE 1 END,
                       CASE WHEN g %% 3 = 0 THEN 4.5 END, CASE WHEN g %% 5 = 0 THEN TRUE END, '',
                       'bench:' || g, now(), NULL, NULL, CASE WHEN g %% 97 = 0 THEN '补录' ELSE '' END,
                       repeat('0', 64), md5(g::text) || md5((g + 1)::text)
                FROM generate_series(0, %(n)s - 1) AS g
        """  # noqa: S608 - a table name, column names and parameters
        with connection.cursor() as cursor:
            cursor.execute(insert, {"first": ids[0], "t": len(ids), "kinds": kind_ids, "k": len(kind_ids),
                                    "step": step, "n": events})
    else:
        import datetime
        from zoneinfo import ZoneInfo

        origin = datetime.datetime(2025, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
        now = datetime.datetime.now(datetime.UTC)
        placeholders = ", ".join(["%s"] * 17)
        with connection.cursor() as cursor:
            for start in range(0, events, 20000):
                rows = []
                for g in range(start, min(start + 20000, events)):
                    kind = g % len(kind_ids)
                    when = origin + datetime.timedelta(seconds=g * step)
                    rows.append((
                        ids[g % len(ids)], g // len(ids) + 1, kind_ids[kind], None, "",
                        connection.ops.adapt_datetimefield_value(when), "45" if kind in (2, 3) else "1",
                        "4.5" if g % 3 == 0 else None, True if g % 5 == 0 else None, "", f"bench:{g}",
                        connection.ops.adapt_datetimefield_value(now), None, None,
                        "补录" if g % 97 == 0 else "", "0" * 64, f"{g:064x}"))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)  # noqa: S608
    with connection.cursor() as cursor:
        # Fresh statistics, as autovacuum would have them: the planner then streams the rows
        # in time order (index scan, incremental sort) instead of sorting the whole year first.
        cursor.execute("ANALYZE")
    return {"admin": admin.pk, "seconds": time.perf_counter() - started}


# --- one measurement (a child process) ---------------------------------------------------------

def _client(admin_id: int):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=admin_id))
    return client


def _download(client, fmt: str, until: str) -> tuple[int, float, float]:
    started = time.perf_counter()
    response = client.get(f"/api/v1/exports/evidence.{fmt}",
                          {"occurred_from": YEAR_START, "occurred_to": until})
    assert response.status_code == 200, response.content
    size, first = 0, None
    for chunk in response.streaming_content:
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
        _sample()
    response.close()
    return size, first or 0.0, time.perf_counter() - started


def _evidence_sql(admin_id: int, until: str, *, ordered: bool = True) -> str:
    import datetime

    from django.db import connection

    from accounts.models import User
    from service_records.exports.selectors import evidence_values

    admin = User.objects.get(pk=admin_id)
    values = evidence_values(user=admin, start=datetime.date.fromisoformat(YEAR_START),
                             end=datetime.date.fromisoformat(until))
    if not ordered:
        values = values.order_by()
    sql, params = values.query.sql_with_params()
    return connection.ops.compose_sql(sql, params) if connection.vendor == "postgresql" else (sql, params)


def _baseline(admin_id: int, until: str, *, ordered: bool = True) -> tuple[int, float, float]:
    """The same rows without Django: COPY ... TO STDOUT WITH CSV (PostgreSQL), or a bare
    sqlite3 cursor and csv.writer; ``ordered`` False: in whatever order the database finds
    them cheapest (a lower bound)."""
    import csv
    import datetime

    from django.db import connection

    query = _evidence_sql(admin_id, until, ordered=ordered)
    started = time.perf_counter()
    size, first = 0, None
    if connection.vendor == "postgresql":
        import psycopg

        copy_sql = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor, \
                cursor.copy(copy_sql) as copy:
            sampled_at = 0
            for data in copy:  # one message per row: sample the memory every 64 KiB, not per row
                if first is None:
                    first = time.perf_counter() - started
                size += len(data)
                if size - sampled_at >= 65536:
                    sampled_at = size
                    _sample()
    else:
        import io
        import sqlite3

        sql, params = query
        params = [connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime.datetime) else p
                  for p in params]
        db = sqlite3.connect(connection.settings_dict["NAME"])
        sql = sql.replace("%s", "?")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in db.execute(sql, params):
            writer.writerow(row)
            if buffer.tell() > 65536:
                first = first or time.perf_counter() - started
                size += len(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
                _sample()
        size += len(buffer.getvalue().encode())
    return size, first or 0.0, time.perf_counter() - started


def _openpyxl(admin_id: int, until: str) -> tuple[int, float, float]:
    """openpyxl's write-only workbook of the same rows, saved to a temporary file: the file
    exists only at the end, so the first byte could be sent only then."""
    import datetime

    import openpyxl

    from accounts.models import User
    from service_records.exports.selectors import evidence_table

    table = evidence_table(user=User.objects.get(pk=admin_id), start=datetime.date.fromisoformat(YEAR_START),
                           end=datetime.date.fromisoformat(until))
    started = time.perf_counter()
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(str(table.title))
    sheet.append([str(c.header) for c in table.columns])
    tz = datetime.timezone(datetime.timedelta(hours=8))
    for number, row in enumerate(table.rows):
        sheet.append([v.astimezone(tz).replace(tzinfo=None) if isinstance(v, datetime.datetime) else v
                      for v in row])
        if number % 1000 == 0:
            _sample()
    with tempfile.TemporaryFile() as out:
        book.save(out)
        size = out.tell()
    seconds = time.perf_counter() - started
    return size, seconds, seconds


def child(spec: dict) -> dict:
    import django

    django.setup()
    import tracemalloc

    client = _client(spec["admin"])
    _download(client, "csv", YEAR_START)  # warm-up: modules, connection, the session
    _download(client, "xlsx", YEAR_START)
    before = _rss_mb()
    start_rss = _sample()
    _sampled[0] = start_rss
    traced = None
    if spec.get("tracemalloc"):
        tracemalloc.start()
    if spec["what"] in ("baseline", "unordered"):
        size, first, seconds = _baseline(spec["admin"], spec["until"], ordered=spec["what"] == "baseline")
    elif spec["what"] == "openpyxl":
        size, first, seconds = _openpyxl(spec["admin"], spec["until"])
    else:
        size, first, seconds = _download(client, spec["what"], spec["until"])
    if spec.get("tracemalloc"):
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    peak = _rss_mb()
    return {"bytes": size, "first": first, "seconds": seconds, "rss_before": before, "rss_peak": peak,
            "growth": _sampled[0] - start_rss, "traced": traced}


def _measure(spec: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], check=True,
                          capture_output=True, text=True, env=os.environ)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows_until(admin_id: int, until: str) -> int:
    import datetime

    from accounts.models import User
    from service_records.exports.selectors import evidence_values

    return evidence_values(user=User.objects.get(pk=admin_id), start=datetime.date.fromisoformat(YEAR_START),
                           end=datetime.date.fromisoformat(until)).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="events in the small window")
    parser.add_argument("--teachers", type=int, default=89_000)
    parser.add_argument("--reuse", action="store_true",
                        help="measure the data a previous run built (give the same --events)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each (median reported)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    import datetime

    if args.reuse:
        built = reuse()
    else:
        print(f"building {args.teachers:,} teachers and {args.events:,} events on "
              f"{os.environ['DATABASE_URL'].split('://')[0]} ...", flush=True)
        built = build(args.teachers, args.events)
        print(f"built in {built['seconds']:.0f} s", flush=True)
    small_days = max(1, round(365 * args.small / args.events))
    windows = {"small": (datetime.date(2025, 1, 1) + datetime.timedelta(days=small_days - 1)).isoformat(),
               "whole": "2025-12-31"}
    rows = {name: _rows_until(built["admin"], until) for name, until in windows.items()}
    runs: dict[tuple[str, str], list[dict]] = {}
    for round_number in range(1, args.rounds + 1):
        # Rounds interleave the measurements, so that a burst of load on a shared machine
        # hits them alike; the median of each is reported.
        for name, until in windows.items():
            whats = ["unordered", "baseline", "csv", "xlsx"]
            if name == "small" and round_number == 1:
                whats.append("openpyxl")  # slow: once
            for what in whats:
                spec = {"what": what, "until": until, "admin": built["admin"],
                        "tracemalloc": args.tracemalloc}
                print(f"  round {round_number} {name:5} {rows[name]:>9,} rows  {what:8} ...", end="",
                      flush=True)
                measured = _measure(spec)
                print(f" {measured['seconds']:.1f} s", flush=True)
                runs.setdefault((name, what), []).append(measured)
    results = []
    for (name, what), measured in runs.items():
        median = sorted(measured, key=lambda m: m["seconds"])[len(measured) // 2]
        results.append({"window": name, "rows": rows[name], "what": what, **median,
                        "growth": max(m["growth"] for m in measured),
                        "rss_peak": max(m["rss_peak"] for m in measured)})

    base = {r["window"]: r["seconds"] for r in results if r["what"] == "baseline"}
    floor = {r["window"]: r["seconds"] for r in results if r["what"] == "unordered"}
    label = "COPY TO STDOUT" if os.environ["DATABASE_URL"].startswith("postgres") else "sqlite3 + csv"
    print()
    print(f"{'rows':>9}  {'export':<22} {'seconds':>8} {'rows/s':>9} {'1st byte':>8} {'MB out':>7} "
          f"{'peak RSS':>8} {'growth':>7} {'traced':>7} {'× base':>7} {'× floor':>7}")
    for r in results:
        name = {"baseline": label, "unordered": f"{label}, unordered", "csv": "CSV (API, streamed)",
                "xlsx": "XLSX (API, streamed)", "openpyxl": "openpyxl write-only"}[r["what"]]
        traced = f"{r['traced']:7.1f}" if r["traced"] is not None else "      -"
        print(f"{r['rows']:>9,}  {name:<22} {r['seconds']:8.1f} {r['rows'] / r['seconds']:9,.0f} "
              f"{r['first']:8.2f} {r['bytes'] / 2**20:7.1f} {r['rss_peak']:8.0f} "
              f"{r['growth']:7.1f} {traced} {r['seconds'] / base[r['window']]:7.2f} "
              f"{r['seconds'] / floor[r['window']]:7.2f}")
    print()
    for what in ("csv", "xlsx"):
        small = next(r for r in results if r["window"] == "small" and r["what"] == what)
        whole = next(r for r in results if r["window"] == "whole" and r["what"] == what)
        print(f"{what}: {whole['rows'] / small['rows']:.1f}× the rows, peak RSS {small['rss_peak']:.0f} → "
              f"{whole['rss_peak']:.0f} MB ({whole['rss_peak'] / small['rss_peak']:.2f}×), RSS growth during "
              f"the export {small['growth']:.1f} → {whole['growth']:.1f} MB, "
              f"time {whole['seconds'] / small['seconds']:.1f}×")


if __name__ == "__main__":
    main()

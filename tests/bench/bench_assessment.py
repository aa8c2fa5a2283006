#!/usr/bin/env python
"""Benchmark of a city-wide assessment run (a script, not a test):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xw_bench_assess \\
        .venv/bin/python tests/bench/bench_assessment.py [--teachers 89000] [--events 2000000] [--reuse]

Builds (unless --reuse finds them) a city of --teachers three-tier teachers (users and teacher
profiles, bulk SQL) and --events service events, generated inside PostgreSQL with
generate_series and INSERT ... SELECT straight into service_records_serviceevent. The rows look
like real ones (per-teacher sequences, unique keys, 64-hex hashes) but the hash chains are NOT
valid: the benchmark never verifies them, and computing a valid chain for 2 million rows would
measure hashing, not assessment. A tenth of the events fall outside the period.

Then it imports the demo Wenzhou scheme (wz-three-tier-2026, 13 leaves with weights, caps and
duties per month / term / year) for the city and times, alternately, in the same run:
  baseline       SELECT teacher_id, kind_id, sum(quantity) FROM service_records_serviceevent
                 WHERE occurred_at in the period GROUP BY 1, 2 -- executed and fetched, with
                 the server's settings, and again with the run's (work_mem, JIT off);
  assessment     assessment_run_compute(materialize=False): the whole run, every teacher's
                 result written (points, duties, grade, consequences), ledger digest and commit
                 included; the run tables are emptied (TRUNCATE) between rounds.
Prints the medians and the ratio (goal <= 2x), then, once and outside the ratio: writing the
run's drill-down rows (IndicatorScore, what the Celery task does after a compute) and
finalizing the run (verification and the incentive outcomes of every teacher).
Record the figures in docs/performance.md ("Assessment").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xw_bench_assess"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.update({"XUEWEN_ENV": "development", "DEBUG": "false", "LOG_LEVEL": "WARNING",
                   "DJANGO_SETTINGS_MODULE": "config.settings"})

COUNTIES = 12
TEACHERS_PER_SCHOOL = 80
# Share of events per kind (percent): the answer desk dominates, duties are rarer.
KIND_SHARES = {
    "answer_given": 38, "answer_accepted": 4, "duty_minutes": 16, "live_minutes": 5, "lecture_delivered": 3,
    "question_authored": 10, "question_reviewed": 8, "studio_activity": 5, "research_lesson": 3,
    "member_report": 3, "outreach_session": 2, "trainee_mentoring": 2, "resource_published": 1,
}
MINUTE_KINDS = {"duty_minutes", "live_minutes"}


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


def _prepare_postgres(url: str, *, reuse: bool) -> None:
    import psycopg
    from psycopg import sql

    name = _database_name(url)
    if not name.startswith("xw_bench"):
        sys.exit(f"Refusing to use database {name!r}: use a name starting with xw_bench")
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _setup(reuse: bool) -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL (default " + DEFAULT_URL + ")")
    _prepare_postgres(url, reuse=reuse)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _timed(label: str, func):
    start = time.perf_counter()
    value = func()
    elapsed = time.perf_counter() - start
    print(f"  {label:<34} {elapsed:8.2f} s", flush=True)
    return value


def _generate(teachers: int, events: int) -> None:
    from django.db import connection, transaction

    from accounts.models import TeacherTier
    from regions.models import Region, School

    with transaction.atomic():
        city = Region.objects.create(kind="city", code="BC", name="基准市")
        counties = [Region.objects.create(kind="county", code=f"BC-{n:02d}", name=f"基准县{n}", parent=city)
                    for n in range(COUNTIES)]
        schools = -(-teachers // TEACHERS_PER_SCHOOL)
        School.objects.bulk_create([
            School(code=f"BS{n:05d}", name=f"基准学校{n}", county=counties[n % COUNTIES], city=city)
            for n in range(schools)], batch_size=2000)
        for code, name, rank in [("city-famous", "市名师", 1), ("city-backbone", "市学科骨干", 2),
                                 ("city-newstar", "市教坛新秀", 3)]:
            TeacherTier.objects.get_or_create(code=code, defaults={"name": name, "rank": rank})
        tiers = TeacherTier.objects.filter(is_three_tier=True).order_by("pk")
        tier_ids = list(tiers.values_list("pk", flat=True))
        school_ids = list(School.objects.filter(city=city).order_by("pk").values_list("pk", flat=True))
        kinds = dict(connection.cursor().execute(
            "SELECT code, id FROM service_records_serviceeventkind").fetchall())
        kind_by_percent = [kinds[code] for code, share in KIND_SHARES.items() for _ in range(share)]
        minute_kinds = [kinds[code] for code in MINUTE_KINDS]
        answer_kind = kinds["answer_given"]

    with connection.cursor() as cursor:
        _timed(f"{teachers} users + teacher profiles",
               lambda: _teachers(cursor, teachers, school_ids, tier_ids))
        first_id = cursor.execute(
            "SELECT min(id) FROM accounts_user WHERE username LIKE 'bt%%'").fetchone()[0]
        _timed(f"{events} service events", lambda: _events(
            cursor, teachers, events, first_id, kind_by_percent, minute_kinds, answer_kind))
        _timed("ledger heads", lambda: cursor.execute("""
            INSERT INTO service_records_ledgerhead (teacher_id, sequence, last_hash)
            SELECT teacher_id, max(sequence), max(hash) FROM service_records_serviceevent GROUP BY teacher_id
        """))
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        _timed("vacuum analyze", lambda: cursor.execute("VACUUM ANALYZE"))


def _teachers(cursor, teachers: int, school_ids: list[int], tier_ids: list[int]) -> None:
    cursor.execute("""
        INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                   is_active, date_joined, display_name, must_change_password)
        SELECT '!', FALSE, 'bt' || g, '', '', '', FALSE, TRUE, now(), '教师' || g, FALSE
        FROM generate_series(1, %s) g
    """, [teachers])
    cursor.execute("""
        INSERT INTO accounts_teacherprofile (user_id, school_id, staff_number, real_name, tier_id)
        SELECT u.id, (%s::bigint[])[1 + (u.rn - 1) %% %s], 'T' || u.rn, '教师' || u.rn,
               (%s::bigint[])[1 + (u.rn - 1) %% %s]
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM accounts_user
              WHERE username LIKE 'bt%%') u
    """, [school_ids, len(school_ids), tier_ids, len(tier_ids)])


def _events(cursor, teachers, events, first_id, kind_by_percent, minute_kinds, answer_kind) -> None:
    # g -> teacher (round robin) and chain position (g - 1) / teachers + 1; h, a multiplicative
    # hash of g, picks the kind (by share), the moment (spread over 2026, one in ten in 2025,
    # outside the period) and the quality signals of answers. Foreign-key triggers are off for
    # the load (session_replication_role = replica): every key is valid by construction. All are
    # recorded a day ago (a run refuses to finalize over events recorded after it was computed).
    cursor.execute("SET session_replication_role = replica")
    cursor.execute("""
        INSERT INTO service_records_serviceevent
            (teacher_id, sequence, kind_id, source_type_id, source_id, occurred_at, quantity, rating,
             accepted, review_outcome, idempotency_key, recorded_at, recorded_by_id, corrects_id, reason,
             prev_hash, hash)
        SELECT e.teacher_id, e.seq, e.kind_id, NULL, '', e.at,
               CASE WHEN e.kind_id = ANY(%(minutes)s) THEN 20 + (e.h / 20000) %% 50 ELSE 1 END,
               CASE WHEN e.kind_id = %(answer)s THEN 1 + (e.h / 1000) %% 5 END,
               CASE WHEN e.kind_id = %(answer)s THEN (e.h / 5000) %% 4 = 0 END,
               '', 'bench:' || e.g, now() - interval '1 day', NULL, NULL, '',
               repeat('0', 64), md5(e.g::text) || md5('x' || e.g::text)
        FROM (
            SELECT x.g, x.h, %(first)s + (x.g - 1) %% %(teachers)s AS teacher_id,
                   (x.g - 1) / %(teachers)s + 1 AS seq,
                   (%(kinds)s::bigint[])[1 + x.h %% 100] AS kind_id,
                   CASE WHEN (x.h / 100) %% 10 = 0 THEN timestamptz '2025-01-01 00:00+08'
                        ELSE timestamptz '2026-01-01 00:00+08' END
                   + make_interval(secs => (x.g * 104729 + x.h) %% (365 * 86400)) AS at
            FROM (SELECT g, (g * 2654435761) %% 4294967291 AS h
                  FROM generate_series(1::bigint, %(events)s) g) x
        ) e
    """, {"minutes": minute_kinds, "answer": answer_kind, "first": first_id, "teachers": teachers,
          "kinds": kind_by_percent, "events": events})
    cursor.execute("SET session_replication_role = origin")


def _drop_runs() -> None:
    """Empties the run tables (TRUNCATE: no dead rows left to slow the next round)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE service_records_incentiveoutcome, service_records_indicatorscore, "
                       "service_records_assessmentresult, service_records_assessmentrun CASCADE")


def _scheme():
    from regions.models import Region
    from service_records.assessment.demo_schemes import demo_scheme_documents
    from service_records.assessment.services import scheme_import, scheme_publish
    from service_records.models import AssessmentScheme

    existing = AssessmentScheme.objects.filter(region__code="BC", status="published").first()
    if existing is not None:
        return existing
    doc = next(d for d in demo_scheme_documents() if d["code"] == "wz-three-tier-2026")
    doc = {**json.loads(json.dumps(doc)), "region": "BC"}
    assert Region.objects.filter(code="BC").exists()
    return scheme_publish(scheme=scheme_import(data=doc).scheme)


BASELINE = """
    SELECT teacher_id, kind_id, sum(quantity) FROM service_records_serviceevent
    WHERE occurred_at >= %s AND occurred_at < %s GROUP BY 1, 2
"""


def _baseline(scheme, *, tuned: bool) -> int:
    """The plain GROUP BY, executed and fetched; ``tuned``: with the run's session settings
    (work_mem, no JIT) instead of the server's defaults."""
    from django.db import connection, transaction

    from service_records.assessment import engine
    from service_records.assessment.periods import period_bounds

    start, end = period_bounds(scheme.period_start, scheme.period_end)
    with transaction.atomic(), connection.cursor() as cursor:
        if tuned:
            engine._tune(cursor)
        cursor.execute(BASELINE, [start, end])
        return len(cursor.fetchall())


def _instrument(steps: dict) -> None:
    """Times the ledger digest and the run's statement into ``steps``."""
    from service_records.assessment import engine, services

    def wrap(owner, name, label):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                steps.setdefault(label, []).append(time.perf_counter() - start)

        setattr(owner, name, timed)

    wrap(services, "ledger_digest", "ledger digest (89,000 chain heads)")
    wrap(engine, "compute", "results: aggregate, then COPY")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=89_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of an earlier run if it holds the same numbers")
    args = parser.parse_args()
    _setup(args.reuse)

    from django.db import connection
    from django.db.models import Count

    from accounts.models import User
    from regions.models import Region
    from service_records.assessment.demo_schemes import DEMO_RULES
    from service_records.models import AssessmentResult, IndicatorScore, ServiceEvent

    with connection.cursor() as cursor:
        have = cursor.execute("SELECT count(*) FROM accounts_teacherprofile").fetchone()[0]
    if have != args.teachers or ServiceEvent.objects.count() != args.events:
        if have:
            sys.exit("The database holds other data: run without --reuse to rebuild it.")
        name = _database_name(os.environ["DATABASE_URL"])
        print(f"generating on PostgreSQL {connection.pg_version // 10000} ({name}):")
        _generate(args.teachers, args.events)
    scheme = _scheme()
    _drop_runs()
    steps: dict[str, list[float]] = {}
    _instrument(steps)


    print(f"\n{args.teachers} teachers, {args.events} events, scheme {scheme.code} "
          f"({scheme.indicators.count()} indicators); {args.rounds} rounds, alternating:")
    from service_records.assessment.services import (
        assessment_run_compute,
        assessment_run_finalize,
        assessment_run_materialize,
        incentive_rules_seed,
    )

    times: dict[str, list[float]] = {"baseline": [], "baseline tuned": [], "assessment": []}
    _baseline(scheme, tuned=False)  # warm the cache once for both
    run = None
    for round_no in range(args.rounds):
        if run is not None:
            _drop_runs()
        start = time.perf_counter()
        groups = _baseline(scheme, tuned=False)
        times["baseline"].append(time.perf_counter() - start)
        start = time.perf_counter()
        run = assessment_run_compute(scheme=scheme, materialize=False)
        times["assessment"].append(time.perf_counter() - start)
        start = time.perf_counter()
        _baseline(scheme, tuned=True)
        times["baseline tuned"].append(time.perf_counter() - start)
        print(f"  round {round_no + 1}: baseline {times['baseline'][-1]:6.2f} s ({groups} groups), "
              f"with the run's settings {times['baseline tuned'][-1]:6.2f} s; "
              f"assessment {times['assessment'][-1]:6.2f} s ({run.teacher_count} results)", flush=True)

    base, tuned, ours = (statistics.median(times[k]) for k in ("baseline", "baseline tuned", "assessment"))
    print("\nparts of the run (median):")
    for label, values in steps.items():
        print(f"  {label:<34} {statistics.median(values):8.2f} s")
    rest = statistics.median(t - sum(v[i] for v in steps.values()) for i, t in enumerate(times["assessment"]))
    print(f"  {'rest (checks, commit: FK checks)':<34} {rest:8.2f} s")
    grades = dict(AssessmentResult.objects.filter(run=run).values_list("grade").annotate(n=Count("pk")))
    print(f"  grades of the last run: {grades}")

    print("\nafter the run (once, not in the ratio):")
    start = time.perf_counter()
    rows = assessment_run_materialize(run=run)
    label = f"drill-down rows ({rows} IndicatorScore)"
    print(f"  {label:<34} {time.perf_counter() - start:8.2f} s")
    incentive_rules_seed(region=Region.objects.get(code="BC"), rules=DEMO_RULES["WZ"])
    root = User.objects.filter(username="bench-root").first() or User.objects.create(
        username="bench-root", is_superuser=True, is_staff=True)
    start = time.perf_counter()
    assessment_run_finalize(run=run, actor=root)
    print(f"  {'finalize (verify + ' + str(run.incentives.count()) + ' outcomes)':<34} "
          f"{time.perf_counter() - start:8.2f} s")
    assert IndicatorScore.objects.filter(result__run=run).count() == rows

    print("\nsummary (medians):")
    print(f"  baseline GROUP BY, fetched       {base:8.2f} s")
    print(f"  the same with the run's settings {tuned:8.2f} s")
    print(f"  assessment run (all results)     {ours:8.2f} s")
    print(f"  ratio                            {ours / base:8.2f} x   (goal <= 2x)")
    print(f"  ratio to the tuned baseline      {ours / tuned:8.2f} x")


if __name__ == "__main__":
    main()

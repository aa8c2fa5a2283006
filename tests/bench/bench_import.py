#!/usr/bin/env python
"""Benchmark of the onboarding import (a script, not a test):

    .venv/bin/python tests/bench/bench_import.py --rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xw_bench_import \
        .venv/bin/python tests/bench/bench_import.py --rows 100000

Generates a students sheet of --rows rows as .xlsx and as .csv, then times, in the same run and
on the same database:
  baseline        a bare bulk_create of the same users (cheap-hashed initial passwords, as the
                  import does) and student profiles: no reading, no validation, no audit rows;
  baseline+hist   the same with simple-history rows (the import writes them too);
  import csv/xlsx accounts.imports.engine.people_import on a fresh database (everything created);
  re-import       the same file again (everything unchanged: the idempotent path).
Each measurement runs inside a transaction that is rolled back, so every one starts from the same
state. Prints seconds, rows per second and the ratio to the baseline; record them in
docs/performance.md. On SQLite the database is a fresh file in a temporary directory; on
PostgreSQL the database named in DATABASE_URL (it must start with xw_bench) is dropped and created.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

WORKDIR = Path(tempfile.mkdtemp(prefix="xw-bench-import-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORKDIR / 'bench.sqlite3'}")
os.environ.update({"XUEWEN_ENV": "development", "DEBUG": "false", "XUEWEN_DATA_DIR": str(WORKDIR),
                   "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings"})

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏浩宇轩然思琪涵睿博文雅欣怡"
BATCH = 2000


class _Rollback(Exception):
    pass


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


def _setup():
    url = os.environ["DATABASE_URL"]
    if url.startswith("postgres"):
        _prepare_postgres(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _reference(schools: int):
    from accounts.models import TeacherTier  # noqa: F401 - apps loaded
    from regions.models import Grade, Region, School, SchoolStage

    city = Region.objects.create(kind="city", code="BC", name="基准市")
    counties = [Region.objects.create(kind="county", code=f"BC-{n}", name=f"县{n}", parent=city)
                for n in range(5)]
    stages = {code: SchoolStage.objects.create(code=code, name=name, order=n)
              for n, (code, name) in enumerate([("primary", "小学"), ("junior", "初中"), ("senior", "高中")])}
    grades = {}
    for n in range(1, 13):
        stage = "primary" if n <= 6 else "junior" if n <= 9 else "senior"
        grades[n] = Grade.objects.create(code=f"g{n}", name=f"{n}年级", stage=stages[stage], order=n)
    made = []
    for n in range(schools):
        school = School.objects.create(code=f"33{n:05d}", name=f"基准学校{n}", county=counties[n % 5])
        stage = ("primary", "junior", "senior")[n % 3]
        school.stages.set([stages[stage]])
        made.append((school, [g for g in grades.values() if g.stage.code == stage]))
    return made


def _rows(count: int, schools) -> list[list[str]]:
    rng = random.Random(636000)  # noqa: S311 - reproducible data
    rows = []
    for n in range(count):
        school, grades = schools[n % len(schools)]
        grade = grades[n % len(grades)]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        rows.append([school.code, f"G{school.code}{n:08d}", name, grade.code, f"{n % 12 + 1}班"])
    return rows


def _write_files(rows) -> tuple[Path, Path]:
    from openpyxl import Workbook

    header = ["学校代码", "学籍号", "姓名", "年级", "班级"]
    xlsx, csv_path = WORKDIR / "students.xlsx", WORKDIR / "students.csv"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("学生")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(xlsx)
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return xlsx, csv_path


class Clock:
    """Wall time, and CPU time of this process (less disturbed by other work on a shared machine;
    on SQLite it holds the database's work too, on PostgreSQL not the server's)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _rolled_back(func):
    from django.db import transaction

    try:
        with transaction.atomic():
            func()
            raise _Rollback
    except _Rollback:
        pass


def _baseline(rows, school_ids, grade_ids, *, history: bool):
    from simple_history.utils import bulk_create_with_history

    from accounts.models import StudentProfile, User
    from accounts.services import initial_password_generate, initial_password_hash

    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        users = [User(username=f"s.{r[0]}.{r[1]}", display_name="同学", must_change_password=True,
                      password=initial_password_hash(initial_password_generate())) for r in chunk]
        if history:
            users = bulk_create_with_history(users, User, batch_size=BATCH)
        else:
            users = User.objects.bulk_create(users, batch_size=BATCH)
        profiles = [StudentProfile(user_id=u.pk, school_id=school_ids[r[0]], grade_id=grade_ids[r[3]],
                                   class_name=r[4], student_number=r[1], real_name=r[2])
                    for u, r in zip(users, chunk, strict=True)]
        if history:
            bulk_create_with_history(profiles, StudentProfile, batch_size=BATCH)
        else:
            StudentProfile.objects.bulk_create(profiles, batch_size=BATCH)
    return len(rows)


def _import(path: Path):
    from accounts.imports.engine import people_import

    with path.open("rb") as handle:
        return people_import(kind="students", file=handle, filename=path.name, actor=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of measurements")
    parser.add_argument("--memory", action="store_true",
                        help="also run each import once under tracemalloc and print its peak (slow)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up the work directory when stopped
    try:
        _run(args)
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)


def _traced_peak(path: Path) -> float:
    """Peak Python memory (MB) allocated while importing ``path`` (rolled back)."""
    import tracemalloc

    tracemalloc.start()
    _rolled_back(lambda: _import(path))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _run(args) -> None:
    _setup()
    from django.db import connection, transaction

    from accounts.imports.readers import iter_rows
    from accounts.services import initial_password_generate, initial_password_hash
    from regions.models import Grade

    with transaction.atomic():
        schools = _reference(args.schools)
    rows = _rows(args.rows, schools)
    xlsx, csv_path = _write_files(rows)
    school_ids = {s.code: s.pk for s, _g in schools}
    grade_ids = dict(Grade.objects.values_list("code", "pk"))
    print(f"{args.rows} students in {args.schools} schools on {connection.vendor} "
          f"(xlsx {xlsx.stat().st_size / 2**20:.1f} MB, csv {csv_path.stat().st_size / 2**20:.1f} MB)")

    components: dict[str, Clock] = {}
    rounds: list[dict[str, Clock]] = []

    def keep(label: str, clock: Clock) -> None:
        (rounds[-1] if rounds else components)[label] = clock
        print(f"  {label:<22} {clock.wall:8.2f} s wall {clock.cpu:8.2f} s cpu", flush=True)

    print("components:")
    for label, path in (("read xlsx (stream)", xlsx), ("read csv (stream)", csv_path)):
        with Clock() as clock, path.open("rb") as handle:
            count = sum(1 for _ in iter_rows(handle, path.name))
        assert count == args.rows + 1
        keep(label, clock)
    with Clock() as clock:
        for _ in range(args.rows):
            initial_password_hash(initial_password_generate())
    keep("hash passwords", clock)

    for round_ in range(1, args.repeat + 1):
        rounds.append({})
        print(f"round {round_} (every step in a transaction rolled back afterwards):")
        for label, history in (("baseline", False), ("baseline+hist", True)):
            def step(history=history, label=label):
                with Clock() as clock:
                    _baseline(rows, school_ids, grade_ids, history=history)
                keep(label, clock)
            _rolled_back(step)
        for kind, path in (("csv", csv_path), ("xlsx", xlsx)):
            def step(kind=kind, path=path):
                with Clock() as clock:
                    first = _import(path)
                assert first.ok and first.created == first.rows, first.errors[:5]
                keep(f"import {kind}", clock)
                with Clock() as clock:
                    second = _import(path)
                assert second.ok and second.unchanged == second.rows and second.created == 0
                keep(f"re-import {kind}", clock)
            _rolled_back(step)

    # Ratios are taken within a round (baseline and imports measured minutes apart), so a
    # machine whose load changes between rounds still gives comparable figures.
    for number, results in enumerate(rounds, start=1):
        results.update(components)
        base, base_hist = results["baseline"], results["baseline+hist"]
        print(f"\nsummary of round {number} (ratio = time / baseline of the same round):")
        print(f"  {'step':<22} {'wall s':>8} {'rows/s':>9} {'ratio':>7} {'vs +hist':>9} "
              f"{'cpu s':>8} {'cpu ratio':>10}")
        for label in ("baseline", "baseline+hist", "import csv", "import xlsx", "re-import csv",
                      "re-import xlsx", "read csv (stream)", "read xlsx (stream)", "hash passwords"):
            c = results[label]
            print(f"  {label:<22} {c.wall:8.2f} {args.rows / c.wall:9.0f} {c.wall / base.wall:7.2f} "
                  f"{c.wall / base_hist.wall:9.2f} {c.cpu:8.2f} {c.cpu / base.cpu:10.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of the process: {peak:.0f} MB (includes the generated rows held by this script)")
    if args.memory:
        for kind, path in (("csv", csv_path), ("xlsx", xlsx)):
            print(f"  peak Python memory of one {kind} import (tracemalloc): {_traced_peak(path):.0f} MB",
                  flush=True)


if __name__ == "__main__":
    main()

"""The SQL that computes an assessment run: set-based, the same statements for 10 teachers or
89,000, on SQLite and PostgreSQL.

A run is a function of the scheme version and of the ledger **as recorded before the run's
snapshot time** (``run.computed_at``): only events with ``recorded_at`` before it count. The
ledger is append-only and ``recorded_at`` is part of each event's hash, so the same numbers can
be derived again at any later time, however much the ledger has grown since.

**compute** (``results_select_sql``) is one aggregation of the ledger, GROUP BY teacher: for each
leaf, the sum of the weighed units (accepted / low-rated) of the events of its kinds in the
period, and for each duty bucket (a month, a term, a year) the same sum over that range of
``occurred_at`` (``SUM(...) FILTER (WHERE ...)``). A compensating event takes the quality
signals of the event it corrects (``_events_sql``: a second, tiny branch over corrections,
through their index). No join to the leaves: a leaf's sum filters on its kinds. The assessed
teachers (three-tier teachers of the region's schools, or the scheme's tiers) are left-joined to
it, and the rest is arithmetic on one row per teacher: leaf points = units × credit capped by
``cap_per_period`` and ``max_points``, the tree summed bottom-up with each ancestor's
``max_points`` as a cap, the grade by the thresholds, the consequences of missed duties
(``grade_down``: one level lower, once; ``no_awards``: not eligible for awards). PostgreSQL runs
that SELECT in parallel and its rows are written with COPY; SQLite runs one INSERT ... SELECT.

**materialize** (``leaf_scores_sql``; at finalization, after a compute commits, or on demand) is
one ``INSERT INTO indicatorscore ... SELECT`` of the drill-down rows: per teacher, leaf and duty
bucket, then per teacher and leaf (units, points, capped, minimum met). ``verify`` recomputes the
results and counts the ones that differ from those stored (0 unless a recording that started
before the snapshot committed after it: then the run must be computed again).
``teacher_leaf_scores`` derives one teacher's drill-down without writing anything.

Why the drill-down rows are not written by compute itself: for a city (89,000 teachers, 2
million events) they are ~725,000 rows, each with four index entries and two foreign-key checks
at commit, which costs several times the aggregate (docs/performance.md, "Assessment").

Numbers: PostgreSQL computes in exact ``numeric``; SQLite stores decimals as doubles, so every
stored or compared figure is ``ROUND``-ed to two places first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from service_records.assessment import periods
from service_records.models import (
    AssessmentResult,
    AssessmentRun,
    AssessmentScheme,
    Indicator,
    IndicatorScore,
    ServiceEvent,
)
from service_records.models.assessments import Grade

GRADE_DOWN = {Indicator.Consequence.GRADE_DOWN, Indicator.Consequence.NO_AWARDS_AND_GRADE_DOWN}
NO_AWARDS = {Indicator.Consequence.NO_AWARDS, Indicator.Consequence.NO_AWARDS_AND_GRADE_DOWN}
# PostgreSQL: memory for the aggregates' hash tables (per node), this transaction only.
WORK_MEM = "256MB"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _num(value: Decimal | int) -> str:
    """A number from our own validated data, inlined into SQL (never user text)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(value)
    return format(value, "f") if isinstance(value, Decimal) else str(int(value))


def _ids(values) -> str:
    return ", ".join(_num(v) for v in values)


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if connection.vendor == "postgresql" else f"MIN({a}, {b})"


def _json(expr: str) -> str:
    return f"CAST({expr} AS jsonb)" if connection.vendor == "postgresql" else expr


def _fence() -> str:
    """Keeps a subquery from being merged into its parent, so that a column computed once is not
    recomputed at every use (PostgreSQL would inline it)."""
    return " OFFSET 0" if connection.vendor == "postgresql" else " LIMIT -1 OFFSET 0"


def _both(column: str) -> str:
    """A teacher's sum (none when the teacher has no such event)."""
    return f"COALESCE(q.{column}, 0)"


def _dt(value):
    return connection.ops.adapt_datetimefield_value(value)


@dataclass
class Plan:
    """Everything the statements need from the scheme, loaded once (three queries)."""

    scheme: AssessmentScheme
    nodes: list[Indicator]
    leaves: list[Indicator]  # leaves that count some event kind, in tree order
    duties: list[Indicator]  # those of them with a required minimum
    children: dict
    kinds_of: dict  # leaf id -> [kind ids]
    tier_ids: list[int]
    start: object
    end: object
    bucket_bounds: dict  # per -> internal boundaries of its buckets (aware datetimes)


def plan_for(scheme: AssessmentScheme) -> Plan:
    from service_records.assessment.selectors import scheme_nodes_in_order

    nodes = scheme_nodes_in_order(scheme)
    children: dict[int | None, list[Indicator]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    kinds_of: dict[int, list[int]] = {}
    through = Indicator.event_kinds.through
    for leaf_id, kind_id in through.objects.filter(indicator__scheme=scheme).values_list(
            "indicator_id", "serviceeventkind_id").order_by("indicator_id", "serviceeventkind_id"):
        kinds_of.setdefault(leaf_id, []).append(kind_id)
    leaves = [n for n in nodes if n.pk not in children and kinds_of.get(n.pk)]
    start, end = periods.period_bounds(scheme.period_start, scheme.period_end)
    bounds: dict[str, list] = {periods.PERIOD: []}
    for per in (periods.MONTH, periods.TERM, periods.YEAR):
        found = periods.buckets(per, scheme.period_start, scheme.period_end)
        bounds[per] = [periods.local_midnight(b.start) for b in found[1:]]
    return Plan(scheme, nodes, leaves, [n for n in leaves if n.required_minimum is not None], children,
                kinds_of, sorted(scheme.tiers.values_list("pk", flat=True)), start, end, bounds)


def grade_for(points: Decimal, scheme: AssessmentScheme) -> str:
    if points >= scheme.excellent_min:
        return Grade.EXCELLENT
    if points >= scheme.qualified_min:
        return Grade.QUALIFIED
    return Grade.UNQUALIFIED


# --- the pieces of SQL -----------------------------------------------------------------------

def teacher_set_sql(plan: Plan, region) -> tuple[str, list]:
    """SELECT teacher_id: the teachers a run over ``region`` assesses (active accounts; the
    scheme's tiers, or every three-tier tier when it names none)."""
    from accounts.models import TeacherProfile, TeacherTier, User
    from regions.models import School

    tiers = f"tp.tier_id IN ({_ids(plan.tier_ids)})" if plan.tier_ids else "tt.is_three_tier = TRUE"
    place = "sc.city_id" if region.kind == "city" else "sc.county_id"
    sql = f"""
        SELECT tp.user_id AS teacher_id
        FROM {_table(TeacherProfile)} tp
        JOIN {_table(School)} sc ON sc.id = tp.school_id
        JOIN {_table(User)} u ON u.id = tp.user_id
        LEFT JOIN {_table(TeacherTier)} tt ON tt.id = tp.tier_id
        WHERE {place} = %s AND u.is_active = TRUE AND {tiers}
    """  # noqa: S608 - identifiers and numbers only; values are parameters
    return sql, [region.pk]


def _profile(leaf: Indicator) -> tuple:
    """How a leaf weighs events: (accepted weight, low-rating threshold, low-rating weight)."""
    if leaf.low_rating_below is None or leaf.low_rating_weight == 1:
        return (leaf.accepted_weight, None, Decimal("1"))
    return (leaf.accepted_weight, leaf.low_rating_below, leaf.low_rating_weight)


def _weighed(profile: tuple) -> str:
    """An event's weighed units (``e``: a row of ``_events_sql``)."""
    accepted_weight, below, low_weight = profile
    factors = ["e.quantity"]
    if accepted_weight != 1:
        factors.append(f"CASE WHEN e.accepted THEN {_num(accepted_weight)} ELSE 1 END")
    if below is not None:
        factors.append(f"CASE WHEN e.rating < {_num(below)} THEN {_num(low_weight)} ELSE 1 END")
    return " * ".join(factors)


def bucket_rows_sql(plan: Plan, *, teachers: tuple[str, list], until) -> tuple[str, list]:
    """SELECT teacher_id, leaf_id, bucket, units: the weighed units of each teacher (of the
    ``teachers`` subquery) per leaf and duty bucket (0 for a leaf that is no duty, or counted
    per period), from the events of the period recorded before ``until``."""
    params: list = []
    by_profile: dict[tuple, list[int]] = {}
    for leaf in plan.leaves:
        by_profile.setdefault(_profile(leaf), []).append(leaf.pk)
    if len(by_profile) == 1:
        units = _weighed(next(iter(by_profile)))
    else:
        whens = " ".join(f"WHEN ik.indicator_id IN ({_ids(ids)}) THEN {_weighed(p)}"
                         for p, ids in by_profile.items())
        units = f"CASE {whens} END"
    bucket_whens = []
    for duty in plan.duties:
        own = plan.bucket_bounds[duty.minimum_per]
        if own:
            steps = " ".join(f"WHEN e.occurred_at < %s THEN {i}" for i in range(len(own)))
            bucket_whens.append(f"WHEN {_num(duty.pk)} THEN CASE {steps} ELSE {len(own)} END")
            params += [_dt(b) for b in own]
    bucket = f"CASE ik.indicator_id {' '.join(bucket_whens)} ELSE 0 END" if bucket_whens else "0"
    teacher_sql, teacher_params = teachers
    events_sql, events_params = _events_sql(plan, until)
    sql = f"""
        SELECT e.teacher_id, ik.indicator_id AS leaf_id, {bucket} AS bucket, SUM({units}) AS units
        FROM ({events_sql}) e
        JOIN {_table(Indicator.event_kinds.through)} ik
          ON ik.serviceeventkind_id = e.kind_id AND ik.indicator_id IN ({_ids(leaf.pk for leaf in plan.leaves)})
        WHERE e.teacher_id IN ({teacher_sql})
        GROUP BY 1, 2, 3
    """  # noqa: S608,E501 - identifiers and numbers only; values are parameters
    return sql, [*params, *events_params, *teacher_params]


def _leaf_cap(leaf: Indicator) -> Decimal | None:
    caps = [c for c in (leaf.cap_per_period, leaf.max_points) if c is not None]
    return min(caps) if caps else None


def _expected(plan: Plan, duty: Indicator) -> int:
    return len(plan.bucket_bounds[duty.minimum_per]) + 1


def leaf_scores_sql(plan: Plan, *, teachers: tuple[str, list], until) -> tuple[str, list]:
    """SELECT teacher_id, leaf_id, units, points, capped, minimum_met: one row per teacher (of
    the ``teachers`` subquery) and leaf with service in the period, recorded before ``until``:
    units summed over buckets, points = units × credit capped by the leaf's cap and max_points,
    the minimum met when every bucket reaches it."""
    buckets_sql, params = bucket_rows_sql(plan, teachers=teachers, until=until)
    credit = " ".join(f"WHEN {_num(leaf.pk)} THEN {_num(leaf.credit_per_unit)}" for leaf in plan.leaves)
    capped_leaves = [(leaf.pk, _leaf_cap(leaf)) for leaf in plan.leaves if _leaf_cap(leaf) is not None]
    cap = (f"CASE x.leaf_id {' '.join(f'WHEN {_num(pk)} THEN {_num(c)}' for pk, c in capped_leaves)} END"
           if capped_leaves else "CAST(NULL AS DECIMAL)")
    minimum = " ".join(f"WHEN {_num(d.pk)} THEN {_num(d.required_minimum)}" for d in plan.duties)
    minimum = f"CASE b.leaf_id {minimum} END" if plan.duties else "CAST(NULL AS DECIMAL)"
    expected = " ".join(f"WHEN {_num(d.pk)} THEN {_expected(plan, d)}" for d in plan.duties)
    expected = f"CASE x.leaf_id {expected} END" if plan.duties else "CAST(NULL AS INTEGER)"
    sql = f"""
        SELECT y.teacher_id, y.leaf_id, y.units,
               CASE WHEN y.raw < 0 THEN 0 WHEN y.cap IS NOT NULL AND y.raw > y.cap THEN y.cap
                    ELSE y.raw END AS points,
               CASE WHEN y.cap IS NOT NULL AND y.raw > y.cap THEN TRUE ELSE FALSE END AS capped,
               CASE WHEN y.expected IS NULL THEN NULL WHEN y.buckets_met >= y.expected THEN TRUE
                    ELSE FALSE END AS minimum_met
        FROM (
            SELECT x.teacher_id, x.leaf_id, x.units, ROUND(x.units * (CASE x.leaf_id {credit} END), 2) AS raw,
                   {cap} AS cap, {expected} AS expected, x.buckets_met
            FROM (
                SELECT b.teacher_id, b.leaf_id, ROUND(SUM(b.units), 2) AS units,
                       SUM(CASE WHEN ROUND(b.units, 2) >= {minimum} THEN 1 ELSE 0 END) AS buckets_met
                FROM ({buckets_sql}) b
                GROUP BY b.teacher_id, b.leaf_id
            ) x
        ) y
    """  # noqa: S608,E501 - identifiers and numbers only; values are parameters
    return sql, params


def _events_sql(plan: Plan, until) -> tuple[str, list]:
    """The period's events of the scheme's kinds recorded before ``until``; a compensating event
    carries no quality signals and takes those of the event it corrects (the second branch,
    over corrections only, through their index)."""
    ev = _table(ServiceEvent)
    kinds = _ids(sorted({k for leaf in plan.leaves for k in plan.kinds_of[leaf.pk]}))
    window = [_dt(plan.start), _dt(plan.end), _dt(until)]
    sql = f"""
            SELECT e.teacher_id, e.kind_id, e.occurred_at, e.quantity, e.accepted, e.rating
            FROM {ev} e
            WHERE e.corrects_id IS NULL AND e.kind_id IN ({kinds})
              AND e.occurred_at >= %s AND e.occurred_at < %s AND e.recorded_at < %s
            UNION ALL
            SELECT c.teacher_id, c.kind_id, c.occurred_at, c.quantity, o.accepted, o.rating
            FROM {ev} c JOIN {ev} o ON o.id = c.corrects_id
            WHERE c.corrects_id IS NOT NULL AND c.kind_id IN ({kinds})
              AND c.occurred_at >= %s AND c.occurred_at < %s AND c.recorded_at < %s
    """  # noqa: S608 - identifiers and numbers only; values are parameters
    return sql, [*window, *window]


def results_select_sql(run: AssessmentRun, plan: Plan) -> tuple[str, list]:
    """SELECT teacher_id, points, duties_met, missed_duties, grade_by_points, grade,
    awards_eligible for every teacher the run assesses (no service: 0 points, duties missed).

    One aggregation of the ledger, GROUP BY teacher: one filtered sum per leaf (the units of the
    events of its kinds) and one per duty bucket (a month, a term, a year: a range of
    occurred_at). The leaf points, the tree with its caps, the grade and the consequences are
    then arithmetic on one row per teacher."""
    teachers = teacher_set_sql(plan, run.region)
    unit = {leaf.pk: f"u{i}" for i, leaf in enumerate(plan.leaves)}
    # (column, profile, extra condition SQL, its parameters): summed per teacher, each over the
    # events of its leaf's kinds that meet the condition (a duty bucket: a range of occurred_at)
    sums: list[tuple[str, Indicator, list[str], list]] = [
        (unit[leaf.pk], leaf, [], []) for leaf in plan.leaves]
    met_checks: dict[int, str] = {}  # duty id -> SQL true when every bucket reaches the minimum
    for d_index, duty in enumerate(plan.duties):
        bounds = plan.bucket_bounds[duty.minimum_per]
        minimum = _num(duty.required_minimum)
        if not bounds:
            met_checks[duty.pk] = f"ROUND({_both(unit[duty.pk])}, 2) >= {minimum}"
            continue
        checks = []
        edges = [None, *bounds, None]
        for k in range(len(bounds) + 1):
            name, conditions, params = f"d{d_index}_{k}", [], []
            if edges[k] is not None:
                conditions.append("e.occurred_at >= %s")
                params.append(_dt(edges[k]))
            if edges[k + 1] is not None:
                conditions.append("e.occurred_at < %s")
                params.append(_dt(edges[k + 1]))
            sums.append((name, duty, conditions, params))
            checks.append(f"ROUND({_both(name)}, 2) >= {minimum}")
        met_checks[duty.pk] = " AND ".join(checks)

    def aggregates() -> tuple[str, list]:
        parts, params = [], []
        for name, leaf, conditions, condition_params in sums:
            where = " AND ".join([f"e.kind_id IN ({_ids(plan.kinds_of[leaf.pk])})", *conditions])
            parts.append(f"SUM({_weighed(_profile(leaf))}) FILTER (WHERE {where}) AS {name}")
            params += condition_params
        return ", ".join(parts), params

    met = {duty.pk: f"m{i}" for i, duty in enumerate(plan.duties)}
    # per leaf: raw points from the rounded units; per duty: 1 when met
    raws = [f"ROUND(ROUND({_both(unit[leaf.pk])}, 2) * {_num(leaf.credit_per_unit)}, 2) "
            f"AS {unit[leaf.pk]}" for leaf in plan.leaves]
    flags = [f"CASE WHEN {met_checks[d.pk]} THEN 1 ELSE 0 END AS {met[d.pk]}" for d in plan.duties]

    def leaf_points(leaf: Indicator) -> str:
        raw, cap = f"r.{unit[leaf.pk]}", _leaf_cap(leaf)
        if cap is None:
            return f"(CASE WHEN {raw} < 0 THEN 0 ELSE {raw} END)"
        return f"(CASE WHEN {raw} < 0 THEN 0 WHEN {raw} > {_num(cap)} THEN {_num(cap)} ELSE {raw} END)"

    def node_expr(node: Indicator) -> str:
        kids = plan.children.get(node.pk)
        if not kids:
            return leaf_points(node) if node.pk in unit else "0"
        inner = "(" + " + ".join(node_expr(k) for k in kids) + ")"
        return _least(inner, _num(node.max_points)) if node.max_points is not None else inner

    total = " + ".join(node_expr(root) for root in plan.children.get(None, [])) or "0"

    def any_missed(duties) -> str:
        return " OR ".join(f"r.{met[d.pk]} = 0" for d in duties) or "1 = 0"

    missed_params: list = []
    if plan.duties:
        parts = " || ".join(f"CASE WHEN r.{met[d.pk]} = 0 THEN %s ELSE '' END" for d in plan.duties)
        missed_json = f"'[' || RTRIM({parts}, ',') || ']'"
        missed_params = [json.dumps(d.code, ensure_ascii=False) + "," for d in plan.duties]
    else:
        missed_json = "'[]'"
    if plan.leaves:
        own, own_params = aggregates()
        events_sql, events_params = _events_sql(plan, run.computed_at)
        pivot = f"""
                    LEFT JOIN (
                        SELECT e.teacher_id, {own}
                        FROM ({events_sql}) e
                        WHERE e.teacher_id IN ({teachers[0]})
                        GROUP BY e.teacher_id
                    ) q ON q.teacher_id = t.teacher_id"""  # noqa: S608
        pivot_params = [*own_params, *events_params, *teachers[1]]
        columns = ", " + ", ".join([*raws, *flags])
    else:
        pivot, pivot_params, columns = "", [], ""
    scheme = plan.scheme
    sql = f"""
        SELECT h.teacher_id, h.total AS points, h.duties_met, h.missed AS missed_duties,
               h.gbp AS grade_by_points,
               CASE WHEN h.down = 1 THEN (CASE h.gbp WHEN 'excellent' THEN 'qualified' ELSE 'unqualified' END)
                    ELSE h.gbp END AS grade,
               h.awards AS awards_eligible
        FROM (
            SELECT g.teacher_id, g.total, g.duties_met, g.down, g.awards, g.missed,
                   CASE WHEN g.total >= {_num(scheme.excellent_min)} THEN 'excellent'
                        WHEN g.total >= {_num(scheme.qualified_min)} THEN 'qualified'
                        ELSE 'unqualified' END AS gbp
            FROM (
                SELECT r.teacher_id, ROUND({total}, 2) AS total,
                       CASE WHEN {any_missed(plan.duties)} THEN FALSE ELSE TRUE END AS duties_met,
                       CASE WHEN {any_missed(d for d in plan.duties if d.consequence in GRADE_DOWN)}
                            THEN 1 ELSE 0 END AS down,
                       CASE WHEN {any_missed(d for d in plan.duties if d.consequence in NO_AWARDS)}
                            THEN FALSE ELSE TRUE END AS awards,
                       {missed_json} AS missed
                FROM (
                    SELECT t.teacher_id{columns}
                    FROM ({teachers[0]}) t
                    {pivot}{_fence()}
                ) r{_fence()}
            ) g{_fence()}
        ) h
    """  # noqa: S608,E501 - identifiers and numbers only; values are parameters
    return sql, [*missed_params, *teachers[1], *pivot_params]


# --- statements ------------------------------------------------------------------------------

def _tune(cursor) -> None:
    if connection.vendor == "postgresql":
        # Compiling the wide CASE expressions (JIT) costs more than it saves here, and the
        # aggregates of a city hold ~1 million groups: give them memory rather than disk.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")


RESULT_COLUMNS = ("run_id", "teacher_id", "points", "duties_met", "missed_duties", "grade_by_points", "grade",
                  "awards_eligible")


def compute(run: AssessmentRun, plan: Plan) -> int:
    """Writes the run's results from one aggregate; returns the number of teachers assessed.

    SQLite: one INSERT ... SELECT. PostgreSQL: the SELECT, then COPY of its rows (one per
    teacher) into the table, because PostgreSQL never runs an INSERT ... SELECT in parallel and
    the aggregate over a city's ledger is worth the second core: the same numbers either way."""
    sql, params = results_select_sql(run, plan)
    with connection.cursor() as cursor:
        _tune(cursor)
        if connection.vendor != "postgresql":
            cursor.execute(f"""
                INSERT INTO {_table(AssessmentResult)} ({', '.join(RESULT_COLUMNS)})
                SELECT %s, r.teacher_id, r.points, r.duties_met, r.missed_duties, r.grade_by_points,
                       r.grade, r.awards_eligible
                FROM ({sql}) r
            """, [run.pk, *params])  # noqa: S608
            return cursor.rowcount
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        copy_sql = f"COPY {_table(AssessmentResult)} ({', '.join(RESULT_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row((run.pk, *row))
        return len(rows)


def _run_teachers(run: AssessmentRun) -> tuple[str, list]:
    sql = f"SELECT r0.teacher_id FROM {_table(AssessmentResult)} r0 WHERE r0.run_id = %s"  # noqa: S608
    return sql, [run.pk]


def materialize(run: AssessmentRun, plan: Plan) -> int:
    """Statement: INSERT the drill-down rows (IndicatorScore) of every result of the run."""
    if not plan.leaves:
        return 0
    sql, params = leaf_scores_sql(plan, teachers=_run_teachers(run), until=run.computed_at)
    with connection.cursor() as cursor:
        _tune(cursor)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {_table(AssessmentResult)}")
        cursor.execute(f"""
            INSERT INTO {_table(IndicatorScore)} (result_id, indicator_id, units, points, capped, minimum_met)
            SELECT r.id, s.leaf_id, s.units, s.points, s.capped, s.minimum_met
            FROM ({sql}) s
            JOIN {_table(AssessmentResult)} r ON r.run_id = %s AND r.teacher_id = s.teacher_id
            ORDER BY r.id, s.leaf_id
        """, [*params, run.pk])  # noqa: S608
        return cursor.rowcount


def verify(run: AssessmentRun, plan: Plan) -> int:
    """How many of the run's stored results differ from a recomputation (0 when consistent)."""
    sql, params = results_select_sql(run, plan)
    res = _table(AssessmentResult)
    with connection.cursor() as cursor:
        _tune(cursor)
        cursor.execute(f"""
            SELECT COUNT(*) FROM {res} r
            LEFT JOIN ({sql}) x ON x.teacher_id = r.teacher_id
            WHERE r.run_id = %s AND (x.teacher_id IS NULL OR r.points <> x.points
                  OR r.grade <> x.grade OR r.grade_by_points <> x.grade_by_points
                  OR r.duties_met <> x.duties_met OR r.awards_eligible <> x.awards_eligible)
        """, [*params, run.pk])  # noqa: S608
        return cursor.fetchone()[0]


def teacher_leaf_scores(run: AssessmentRun, plan: Plan, teacher_id: int) -> list[dict]:
    """One teacher's drill-down rows of ``run``, derived from the ledger (nothing written)."""
    if not plan.leaves:
        return []
    sql, params = leaf_scores_sql(plan, teachers=("SELECT %s", [teacher_id]), until=run.computed_at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    field = {f.name: f for f in IndicatorScore._meta.get_fields() if hasattr(f, "to_python")}
    for row in rows:  # SQLite returns floats and 0/1: the model fields' types
        for key in ("units", "points"):
            row[key] = field[key].to_python(row[key]).quantize(Decimal("0.01"))
        row["capped"] = bool(row["capped"])
        row["minimum_met"] = None if row["minimum_met"] is None else bool(row["minimum_met"])
    return rows

"""Reads of assessment: who sees which scheme and run, frozen periods, payout rows.

Scope rules (one home for each):
- an administrator *manages* the schemes, runs and incentive rules of the regions in their scope
  (``regions.selectors.region_in_scope``: a city administrator the city and its counties, a
  county administrator the county; school administrators manage none);
- an administrator *reads* those, plus the non-draft schemes and the runs of the regions above
  their scope (a county administrator reads the city's scheme and run, limited to the results of
  their own schools);
- a teacher reads the published schemes of their county and city; students read nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import user_is_admin
from common.errors import Forbidden, NotFound
from regions.models import Region
from regions.selectors import region_in_scope, school_scope_q
from service_records.models import (
    AssessmentResult,
    AssessmentRun,
    AssessmentScheme,
    IncentiveOutcome,
    IncentiveRule,
    Indicator,
    IndicatorScore,
)

RESULT_SCHOOL = "teacher__teacher_profile__school__"


# --- regions in scope ------------------------------------------------------------------------

def managed_region_q(user, *, field: str = "region") -> Q:
    """Q over a Region relation ``field``: the regions ``user`` manages."""
    if user.is_superuser:
        return Q()
    profile = getattr(user, "admin_profile", None)
    if profile is None or profile.level == "school":
        return Q(**{f"{field}__in": []})
    if profile.level == "city":
        return Q(**{f"{field}_id": profile.region_id}) | Q(**{f"{field}__parent_id": profile.region_id})
    return Q(**{f"{field}_id": profile.region_id})


def _regions_above_scope(user) -> list[int]:
    """Regions above the user's own scope (read-only for them): a county administrator's city,
    a school administrator's (or a teacher's) county and city."""
    profile = getattr(user, "admin_profile", None)
    if profile is not None:
        if profile.level == "county":
            parents = Region.objects.filter(pk=profile.region_id).values_list("parent_id", flat=True)
            return [pk for pk in parents if pk]
        if profile.level == "school":
            school = profile.school
            return [school.county_id, school.city_id]
        return []
    teacher = getattr(user, "teacher_profile", None)
    if teacher is not None:
        return [teacher.school.county_id, teacher.school.city_id]
    return []


def can_manage_region(user, region: Region) -> bool:
    return user.is_authenticated and region_in_scope(user=user, region=region)


def access_manage_region(user, region: Region) -> None:
    if not can_manage_region(user, region):
        raise Forbidden(_("Only an administrator whose scope holds %(region)s may do this.")
                        % {"region": region}, code="region_out_of_scope")


# --- schemes ---------------------------------------------------------------------------------

def scheme_list_visible(*, user) -> QuerySet[AssessmentScheme]:
    qs = AssessmentScheme.objects.select_related("region", "supersedes").prefetch_related("tiers")
    if not user.is_authenticated:
        return qs.none()
    if user_is_admin(user):
        above = _regions_above_scope(user)
        return qs.filter(managed_region_q(user)
                         | Q(region_id__in=above, status__in=["published", "retired"]))
    if hasattr(user, "teacher_profile"):
        return qs.filter(region_id__in=_regions_above_scope(user), status="published")
    return qs.none()


def scheme_get_visible(*, user, pk: int) -> AssessmentScheme:
    scheme = scheme_list_visible(user=user).filter(pk=pk).first()
    if scheme is None:
        raise NotFound(_("No such assessment scheme."))
    return scheme


def scheme_has_final_run(scheme: AssessmentScheme) -> bool:
    return scheme.runs.filter(status=AssessmentRun.Status.FINAL).exists()


def scheme_leaves(scheme: AssessmentScheme) -> list[Indicator]:
    """Leaf indicators in tree order, with their ancestors reachable through ``parent_of``."""
    nodes = list(scheme.indicators.order_by("order", "code"))
    parents = {n.parent_id for n in nodes if n.parent_id}
    return [n for n in _tree_order(nodes) if n.pk not in parents]


def _tree_order(nodes: list[Indicator]) -> list[Indicator]:
    children: dict[int | None, list[Indicator]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    out: list[Indicator] = []

    def visit(parent_id):
        for node in children.get(parent_id, []):
            out.append(node)
            visit(node.pk)

    visit(None)
    return out


def scheme_nodes_in_order(scheme: AssessmentScheme) -> list[Indicator]:
    return _tree_order(list(scheme.indicators.order_by("order", "code")))


# --- runs and results ------------------------------------------------------------------------

def run_list_visible(*, user) -> QuerySet[AssessmentRun]:
    qs = AssessmentRun.objects.select_related("scheme", "region", "scheme__region")
    if not user_is_admin(user):
        return qs.none()
    return qs.filter(managed_region_q(user) | Q(region_id__in=_regions_above_scope(user)))


def run_get_visible(*, user, pk: int) -> AssessmentRun:
    run = run_list_visible(user=user).filter(pk=pk).first()
    if run is None:
        raise NotFound(_("No such assessment run."))
    return run


def result_list_visible(*, user, run: AssessmentRun) -> QuerySet[AssessmentResult]:
    """The run's results of teachers at schools in the administrator's scope."""
    return (run.results.filter(school_scope_q(user, prefix=RESULT_SCHOOL))
            .select_related("teacher", "teacher__teacher_profile",
                            "teacher__teacher_profile__school"))


def run_grade_counts(*, user, run: AssessmentRun) -> dict:
    """Teachers by grade and those who missed a duty, among the results the user may see."""
    rows = result_list_visible(user=user, run=run).values("grade").annotate(n=Count("pk"))
    counts = {row["grade"]: row["n"] for row in rows}
    missed = result_list_visible(user=user, run=run).filter(duties_met=False).count()
    return {"excellent": counts.get("excellent", 0), "qualified": counts.get("qualified", 0),
            "unqualified": counts.get("unqualified", 0), "missed_duty": missed}


def result_scores(result: AssessmentResult) -> list[dict]:
    """The result's drill-down: every indicator of the scheme in tree order, with the leaf
    scores and each internal node's points after its ``max_points`` cap. Read from the stored
    IndicatorScore rows when the run has them (a final run), otherwise derived for this one
    teacher from the ledger as recorded before the run's snapshot time: the same numbers."""
    from service_records.assessment import engine

    run = result.run
    nodes = scheme_nodes_in_order(run.scheme)
    if IndicatorScore.objects.filter(result__run=run).exists():
        scores = {s.indicator_id: s for s in IndicatorScore.objects.filter(result=result)}
    else:  # not materialized: derived from the ledger as recorded before the run's snapshot
        scores = {row["leaf_id"]: IndicatorScore(indicator_id=row["leaf_id"], **{
            k: row[k] for k in ("units", "points", "capped", "minimum_met")})
            for row in engine.teacher_leaf_scores(run, engine.plan_for(run.scheme), result.teacher_id)}
    children: dict[int | None, list[Indicator]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    points: dict[int, Decimal] = {}

    def total(node) -> Decimal:
        kids = children.get(node.pk, [])
        if not kids:
            score = scores.get(node.pk)
            value = score.points if score else Decimal("0.00")
        else:
            value = sum((total(kid) for kid in kids), Decimal("0.00"))
            if node.max_points is not None:
                value = min(value, node.max_points)
        points[node.pk] = value
        return value

    for root in children.get(None, []):
        total(root)
    out = []
    for node in nodes:
        leaf = node.pk not in children
        score = scores.get(node.pk)
        out.append({
            "indicator": node.pk, "code": node.code, "name": node.name, "level": node.level,
            "parent": node.parent_id, "leaf": leaf,
            "units": (score.units if score else Decimal("0.00")) if leaf else None,
            "points": points.get(node.pk, Decimal("0.00")),
            "capped": bool(score and score.capped) or (not leaf and node.max_points is not None
                                                      and points.get(node.pk) == node.max_points),
            "required_minimum": node.required_minimum if leaf else None,
            "minimum_met": (score.minimum_met if score else
                            (False if node.required_minimum is not None else None)) if leaf else None,
        })
    return out


# --- frozen periods --------------------------------------------------------------------------

def period_is_frozen(region: Region | int | None, when: datetime.datetime | datetime.date) -> bool:
    """Whether ``when`` falls in a finalized assessment period covering ``region``.

    A period is frozen once a run of a scheme of ``region`` or of a region above it (the city
    of a county) is final: its snapshot never changes, so a correction dated in that period must
    be refused (``service_event_correct`` callers check this first). ``region`` is a Region or
    its id (a teacher's county: see ``teacher_period_is_frozen``); ``when`` an aware datetime
    (its local day counts) or a date.
    """
    if region is None:
        return False
    region_id = region.pk if isinstance(region, Region) else int(region)
    parent_id = (region.parent_id if isinstance(region, Region)
                 else Region.objects.filter(pk=region_id).values_list("parent_id", flat=True).first())
    day = timezone.localtime(when).date() if isinstance(when, datetime.datetime) else when
    regions = [region_id] + ([parent_id] if parent_id else [])
    return AssessmentRun.objects.filter(
        status=AssessmentRun.Status.FINAL, scheme__region_id__in=regions,
        scheme__period_start__lte=day, scheme__period_end__gte=day,
    ).exists()


def teacher_period_is_frozen(*, teacher_id: int, when) -> bool:
    """``period_is_frozen`` for the county of the teacher's school (False if not a teacher)."""
    from accounts.models import TeacherProfile

    county_id = (TeacherProfile.objects.filter(user_id=teacher_id)
                 .values_list("school__county_id", flat=True).first())
    return period_is_frozen(county_id, when)


# --- studios (roles during a period) ---------------------------------------------------------

ROLE_RANK = {"host": 0, "member": 1, "trainee": 2}


def studio_roles_during(*, teacher_ids, start: datetime.date, end: datetime.date) -> list[tuple]:
    """(teacher_id, role, studio_id, studio_name) for every studio role held at any time in
    [start, end]. One row per teacher and studio: the highest role held there in the period
    (host above member above trainee), so a member promoted to host is paid once, as host.
    ``teacher_ids`` may be a subquery. One query."""
    try:
        from studios.models import Membership
    except ImportError:  # the studios app is optional for assessment
        return []
    rows = (Membership.objects.filter(teacher_id__in=teacher_ids, joined_on__lte=end)
            .filter(Q(left_on__isnull=True) | Q(left_on__gte=start))
            .values_list("teacher_id", "role", "studio_id", "studio__name")
            .order_by("teacher_id", "studio_id"))
    best: dict[tuple[int, int], tuple] = {}
    for teacher_id, role, studio_id, studio_name in rows.iterator(chunk_size=5000):
        key = (teacher_id, studio_id)
        if key not in best or ROLE_RANK.get(role, 9) < ROLE_RANK.get(best[key][1], 9):
            best[key] = (teacher_id, role, studio_id, studio_name)
    return list(best.values())


# --- incentives ------------------------------------------------------------------------------

def incentive_rule_list_visible(*, user) -> QuerySet[IncentiveRule]:
    if not user_is_admin(user):
        return IncentiveRule.objects.none()
    return IncentiveRule.objects.select_related("region").filter(
        managed_region_q(user) | Q(region_id__in=_regions_above_scope(user)))


def rules_for_run(run: AssessmentRun) -> list[IncentiveRule]:
    """The incentive rules that apply to a run: rules of the scheme's region and the regions
    above it, valid on some day of the period; per code, the rule of the most specific region,
    and of those the one valid latest (so a county can override a city's rule)."""
    scheme = run.scheme
    regions = [scheme.region_id] + ([scheme.region.parent_id] if scheme.region.parent_id else [])
    candidates = (IncentiveRule.objects.filter(region_id__in=regions, valid_from__lte=scheme.period_end)
                  .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=scheme.period_start))
                  .select_related("region"))
    chosen: dict[str, IncentiveRule] = {}
    for rule in candidates:
        current = chosen.get(rule.code)
        rank = (regions.index(rule.region_id), -rule.valid_from.toordinal())
        if current is None or rank < (regions.index(current.region_id), -current.valid_from.toordinal()):
            chosen[rule.code] = rule
    return sorted(chosen.values(), key=lambda r: r.code)


def payout_list_visible(*, user, run: AssessmentRun,
                        include_zero: bool = False) -> QuerySet[IncentiveOutcome]:
    qs = (run.incentives.filter(school_scope_q(user, prefix=RESULT_SCHOOL))
          .select_related("rule", "teacher", "teacher__teacher_profile",
                          "teacher__teacher_profile__school", "teacher__teacher_profile__school__county")
          .order_by("teacher__teacher_profile__school__code", "teacher__teacher_profile__staff_number",
                    "rule__code", "studio_name"))
    return qs if include_zero else qs.filter(amount__gt=0)


def payout_totals(*, user, run: AssessmentRun) -> dict:
    qs = payout_list_visible(user=user, run=run)
    by_rule = list(qs.order_by().values("rule__code", "rule__name")
                   .annotate(teachers=Count("teacher", distinct=True), amount=Sum("amount"))
                   .order_by("rule__code"))
    total = qs.order_by().aggregate(amount=Sum("amount"), teachers=Count("teacher", distinct=True))
    return {"amount": total["amount"] or Decimal("0.00"), "teachers": total["teachers"],
            "by_rule": by_rule}


PAYOUT_COLUMNS = (
    "run_id", "teacher_id", "staff_number", "real_name", "school_code", "school_name", "county",
    "role", "studio_name", "grade", "amount", "awards_eligible", "title_review_eligible",
    "rule_code", "rule_name", "explanation",
)


def payout_rows(run: AssessmentRun, *, user=None, include_zero: bool = False) -> Iterator[dict]:
    """The payout list of a run for the finance office, streamed (one query, server-side
    chunks): one dict per incentive outcome with the keys of ``PAYOUT_COLUMNS``, ordered by
    school and staff number. Without ``user`` every teacher of the run (command line, tasks);
    with it, only the schools in the user's scope. Amounts are Decimal."""
    qs = run.incentives.all()
    if user is not None:
        qs = qs.filter(school_scope_q(user, prefix=RESULT_SCHOOL))
    if not include_zero:
        qs = qs.filter(amount__gt=0)
    values = qs.order_by("teacher__teacher_profile__school__code", "teacher__teacher_profile__staff_number",
                         "rule__code", "studio_name").values_list(
        "run_id", "teacher_id", "teacher__teacher_profile__staff_number",
        "teacher__teacher_profile__real_name", "teacher__teacher_profile__school__code",
        "teacher__teacher_profile__school__name", "teacher__teacher_profile__school__county__name",
        "rule__role", "studio_name", "grade", "amount", "awards_eligible", "title_review_eligible",
        "rule__code", "rule__name", "explanation")
    for row in values.iterator(chunk_size=2000):
        yield dict(zip(PAYOUT_COLUMNS, row, strict=True))

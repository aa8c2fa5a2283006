"""Reads for the review of service records, and the one home of their permissions.

Who sees what:
- a teacher sees their own events, disputes and progress (``event_list_own``,
  ``dispute_list_visible``); never another teacher's (404);
- an administrator sees the teachers, events, disputes and flags of the schools in their scope
  (``regions.selectors.school_scope_q``: city, county or school) and resolves disputes and
  flags there (``access_resolve``); never their own;
- the adoption report: a county administrator their county, a city administrator every county
  of the city (``adoption_county_list``); school administrators and everybody else nothing;
- students: nothing here.

Lists are set-based: totals come from annotations and one grouped query per page, never a
query per row.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StudentProfile, TeacherProfile
from accounts.selectors import user_is_admin
from common.errors import Forbidden
from regions.models import Region
from regions.selectors import school_scope_q
from service_records.assessment import periods
from service_records.assessment.selectors import teacher_period_is_frozen
from service_records.models import (
    AssessmentResult,
    AssessmentRun,
    AssessmentScheme,
    CountyEnrolment,
    DailyUsage,
    EventFlag,
    Indicator,
    ServiceDispute,
    ServiceEvent,
    ServiceEventKind,
)

EVENT_SCHOOL = "teacher__teacher_profile__school__"
ZERO = Decimal("0.00")
TWO_PLACES = Decimal("0.01")
MAX_REPORT_WEEKS = 53


# --- who ------------------------------------------------------------------------------------

def is_teacher(user) -> bool:
    return user.is_authenticated and hasattr(user, "teacher_profile")


def is_reviewer(user) -> bool:
    """Administrators (any level) and superusers review; what they see is their scope."""
    return user_is_admin(user)


def teacher_in_scope(user, teacher_id: int) -> bool:
    """Whether the teacher's school (``teacher_profile.school``) lies in the user's scope."""
    return is_reviewer(user) and TeacherProfile.objects.filter(
        school_scope_q(user, prefix="school__"), user_id=teacher_id).exists()


def can_resolve(user, teacher_id: int) -> bool:
    """Resolving a dispute or a flag: an administrator whose scope holds the teacher's school,
    never on their own record (an administrator who also teaches)."""
    return user.pk != teacher_id and teacher_in_scope(user, teacher_id)


def access_resolve(user, teacher_id: int) -> None:
    if user.pk == teacher_id:
        raise Forbidden(_("You cannot review your own service record."), code="own_record")
    if not teacher_in_scope(user, teacher_id):
        raise Forbidden(_("Only an administrator whose scope holds the teacher's school may do this."),
                        code="teacher_out_of_scope")


def period_frozen_for(*, teacher_id: int, when) -> bool:
    """Whether ``when`` lies in a finalized (frozen) assessment period for the teacher: a
    correction dated there would change a snapshot that must never change."""
    return teacher_period_is_frozen(teacher_id=teacher_id, when=when)


# --- time windows ---------------------------------------------------------------------------

def local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


@dataclass(frozen=True)
class Window:
    """[start, end) in aware datetimes; either side open."""

    start: datetime.datetime | None = None
    end: datetime.datetime | None = None

    @classmethod
    def of(cls, *, occurred_from: datetime.date | None = None, occurred_to: datetime.date | None = None,
           scheme: AssessmentScheme | None = None) -> Window:
        """Local days ``occurred_from`` .. ``occurred_to`` (inclusive), within the scheme's
        period when one is given."""
        days_from = [d for d in (occurred_from, scheme.period_start if scheme else None) if d]
        days_to = [d for d in (occurred_to, scheme.period_end if scheme else None) if d]
        start = local_midnight(max(days_from)) if days_from else None
        end = local_midnight(min(days_to) + datetime.timedelta(days=1)) if days_to else None
        return cls(start, end)

    def q(self, prefix: str = "") -> Q:
        q = Q()
        if self.start is not None:
            q &= Q(**{f"{prefix}occurred_at__gte": self.start})
        if self.end is not None:
            q &= Q(**{f"{prefix}occurred_at__lt": self.end})
        return q


# --- events ---------------------------------------------------------------------------------

def _with_details(qs: QuerySet[ServiceEvent]) -> QuerySet[ServiceEvent]:
    """What an event row shows: kind, evidence type, what it corrects, its net quantity after
    corrections, how many corrections it has and whether a dispute about it is open."""
    corrections = (ServiceEvent.objects.filter(corrects=OuterRef("pk")).order_by()
                   .values("corrects").annotate(total=Sum("quantity"), n=Count("pk")))
    dec = DecimalField(max_digits=12, decimal_places=2)
    return qs.select_related("kind", "source_type", "corrects", "corrects__kind",
                             "teacher__teacher_profile__school").annotate(
        corrected_by=Coalesce(Subquery(corrections.values("total"), output_field=dec), Value(ZERO),
                              output_field=dec),
        correction_count=Coalesce(Subquery(corrections.values("n"), output_field=IntegerField()),
                                  Value(0)),
        dispute_open=Exists(ServiceDispute.objects.filter(event=OuterRef("pk"),
                                                          status=ServiceDispute.Status.OPEN)),
        flag_open=Exists(EventFlag.objects.filter(event=OuterRef("pk"), status=EventFlag.Status.OPEN)),
    )


def event_list_own(*, user, kind: str | None = None, window: Window | None = None) -> QuerySet[ServiceEvent]:
    """The signed-in teacher's events, newest first."""
    qs = ServiceEvent.objects.filter(teacher_id=user.pk)
    return _filtered(qs, kind=kind, window=window)


def event_list_of_teacher(*, user, teacher_id: int, kind: str | None = None,
                          window: Window | None = None) -> QuerySet[ServiceEvent]:
    """A teacher's events for an administrator whose scope holds the teacher's school (empty
    otherwise; the API 404s the teacher first)."""
    qs = ServiceEvent.objects.filter(school_scope_q(user, prefix=EVENT_SCHOOL), teacher_id=teacher_id)
    return _filtered(qs, kind=kind, window=window)


def _filtered(qs, *, kind, window) -> QuerySet[ServiceEvent]:
    if kind:
        qs = qs.filter(kind__code=kind)
    if window is not None:
        qs = qs.filter(window.q())
    return _with_details(qs).order_by("-occurred_at", "-sequence")


def event_list_visible(*, user) -> QuerySet[ServiceEvent]:
    """Events the user may open: their own, and those of teachers in their scope."""
    if not user.is_authenticated:
        return ServiceEvent.objects.none()
    visible = Q(teacher_id=user.pk)
    if is_reviewer(user):
        visible |= school_scope_q(user, prefix=EVENT_SCHOOL)
    return _with_details(ServiceEvent.objects.filter(visible))


def event_list_in_scope(*, user) -> QuerySet[ServiceEvent]:
    """Events an administrator may flag: teachers of schools in scope."""
    if not is_reviewer(user):
        return ServiceEvent.objects.none()
    return ServiceEvent.objects.filter(school_scope_q(user, prefix=EVENT_SCHOOL)).select_related("kind")


# --- disputes and flags ---------------------------------------------------------------------

def dispute_list_visible(*, user, status: str | None = None) -> QuerySet[ServiceDispute]:
    """A teacher's own disputes; for an administrator, also those of teachers in scope."""
    if not user.is_authenticated:
        return ServiceDispute.objects.none()
    visible = Q(teacher_id=user.pk)
    if is_reviewer(user):
        visible |= school_scope_q(user, prefix=EVENT_SCHOOL)
    qs = ServiceDispute.objects.filter(visible).select_related(
        "kind", "event", "event__kind", "teacher__teacher_profile__school", "resolved_by",
        "compensating_event", "compensating_event__kind")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def flag_list_in_scope(*, user, status: str | None = None) -> QuerySet[EventFlag]:
    if not is_reviewer(user):
        return EventFlag.objects.none()
    qs = EventFlag.objects.filter(school_scope_q(user, prefix=f"event__{EVENT_SCHOOL}")).select_related(
        "event", "event__kind", "event__teacher__teacher_profile__school", "flagged_by", "resolved_by",
        "compensating_event", "compensating_event__kind")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def event_net_quantity(event: ServiceEvent) -> Decimal:
    """The event's quantity after the corrections recorded against it."""
    corrected = event.corrections.aggregate(total=Sum("quantity"))["total"] or ZERO
    return (event.quantity + corrected).quantize(TWO_PLACES)


# --- schemes, runs --------------------------------------------------------------------------

def scheme_list_for_filters(*, user) -> QuerySet[AssessmentScheme]:
    """Schemes whose period may be used as a date filter: those the user may read."""
    from service_records.assessment.selectors import scheme_list_visible

    return scheme_list_visible(user=user)


def run_list_for_filters(*, user) -> QuerySet[AssessmentRun]:
    from service_records.assessment.selectors import run_list_visible

    return run_list_visible(user=user)


def _regions_of(teacher: TeacherProfile) -> list[int]:
    return [teacher.school.county_id, teacher.school.city_id]


def scheme_for_teacher(*, teacher: TeacherProfile, day: datetime.date) -> AssessmentScheme | None:
    """The published scheme that assesses ``teacher`` on ``day``: of their county if it has
    one, else of their city; the newest version. A scheme without tiers assesses every
    three-tier teacher; one with tiers, teachers of those tiers."""
    if teacher.tier_id is None:
        return None
    assessed = Q(tiers=teacher.tier_id)
    if teacher.tier.is_three_tier:
        assessed |= Q(has_tiers=False)
    qs = AssessmentScheme.objects.filter(
        region_id__in=_regions_of(teacher), status=AssessmentScheme.Status.PUBLISHED,
        period_start__lte=day, period_end__gte=day,
    ).annotate(has_tiers=Exists(AssessmentScheme.tiers.through.objects.filter(
        assessmentscheme_id=OuterRef("pk")))).filter(assessed)
    county_first = {teacher.school.county_id: 0, teacher.school.city_id: 1}
    candidates = sorted(qs.select_related("region").distinct(),
                        key=lambda s: (county_first.get(s.region_id, 2), -s.version, -s.pk))
    return candidates[0] if candidates else None


# --- a teacher's progress -------------------------------------------------------------------

@dataclass
class BucketProgress:
    start: datetime.date
    end: datetime.date  # inclusive
    units: Decimal
    status: str  # met | missed | open | upcoming


@dataclass
class IndicatorProgress:
    indicator: Indicator
    leaf: bool
    units: Decimal | None
    points: Decimal
    capped: bool
    required_minimum: Decimal | None
    minimum_per: str | None
    consequence: str | None
    minimum_met: bool | None
    buckets: list[BucketProgress] = field(default_factory=list)


@dataclass
class Progress:
    scheme: AssessmentScheme | None
    as_of: datetime.date
    source: str  # "estimate": computed here from the ledger; "assessment": a final run's figures
    points: Decimal = ZERO
    duties_met: bool | None = None
    indicators: list[IndicatorProgress] = field(default_factory=list)
    run: AssessmentRun | None = None
    grade: str | None = None


def _weight(leaf: Indicator, accepted: bool | None, rating: Decimal | None) -> Decimal:
    # The same weighing as the assessment engine: accepted × weight, low-rated × weight.
    weight = Decimal(1)
    if accepted:
        weight *= leaf.accepted_weight
    if leaf.low_rating_below is not None and rating is not None and rating < leaf.low_rating_below:
        weight *= leaf.low_rating_weight
    return weight


def teacher_progress(*, teacher: TeacherProfile, scheme: AssessmentScheme | None = None,
                     as_of: datetime.date | None = None) -> Progress:
    """Credit per indicator and progress toward the required minimums of ``scheme`` (default:
    the scheme assessing the teacher today), as of ``as_of`` (default today).

    An estimate computed from the ledger with the scheme's rules (the same weights, caps and
    duty buckets as the assessment), by one grouped query over the teacher's events in the
    period. It is not the assessment: a run computes that, and a finalized run's figures are
    the ones that count.
    """
    # TODO(assessment): while a period is open this is our own estimate; if
    # service_records.assessment.selectors comes to offer a per-teacher live progress selector,
    # use it here. Once the period is finalized the run's figures replace the estimate
    # (``_with_final_result``).
    today = as_of or timezone.localdate()
    scheme = scheme or scheme_for_teacher(teacher=teacher, day=today)
    if scheme is None:
        return Progress(scheme=None, as_of=today, source="estimate")
    as_of_day = min(max(today, scheme.period_start), scheme.period_end)

    nodes = list(scheme.indicators.order_by("order", "code").prefetch_related("event_kinds"))
    children: dict[int | None, list[Indicator]] = defaultdict(list)
    for node in nodes:
        children[node.parent_id].append(node)
    leaves = [n for n in nodes if n.pk not in children]
    kinds_of = {leaf.pk: {k.pk for k in leaf.event_kinds.all()} for leaf in leaves}
    all_kinds = set().union(*kinds_of.values()) if kinds_of else set()

    window = Window.of(scheme=scheme)
    rows = (
        ServiceEvent.objects.filter(window.q(), teacher_id=teacher.user_id, kind_id__in=all_kinds)
        .annotate(day=TruncDate("occurred_at"),
                  acc=Coalesce(F("corrects__accepted"), F("accepted"), output_field=BooleanField()),
                  rat=Coalesce(F("corrects__rating"), F("rating")))
        .order_by().values("kind_id", "day", "acc", "rat").annotate(qty=Sum("quantity"))
    ) if all_kinds else []

    per_leaf_rows: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        for leaf in leaves:
            if row["kind_id"] in kinds_of[leaf.pk]:
                units = row["qty"] * _weight(leaf, row["acc"], row["rat"])
                per_leaf_rows[leaf.pk].append((row["day"], units))

    result: dict[int, IndicatorProgress] = {}
    for leaf in leaves:
        entries = per_leaf_rows.get(leaf.pk, [])
        units = sum((u for _day, u in entries), ZERO).quantize(TWO_PLACES)
        raw = (units * leaf.credit_per_unit).quantize(TWO_PLACES)
        caps = [c for c in (leaf.cap_per_period, leaf.max_points) if c is not None]
        cap = min(caps) if caps else None
        points = max(min(raw, cap) if cap is not None else raw, ZERO)
        progress = IndicatorProgress(
            indicator=leaf, leaf=True, units=units, points=points,
            capped=cap is not None and raw > cap, required_minimum=leaf.required_minimum,
            minimum_per=leaf.minimum_per if leaf.required_minimum is not None else None,
            consequence=leaf.consequence if leaf.required_minimum is not None else None,
            minimum_met=None,
        )
        if leaf.required_minimum is not None:
            progress.buckets = _duty_buckets(leaf, entries, scheme, today)
            states = {b.status for b in progress.buckets}
            progress.minimum_met = False if "missed" in states else (
                True if states == {"met"} else None)
        result[leaf.pk] = progress

    def total(node: Indicator) -> Decimal:
        kids = children.get(node.pk)
        if not kids:
            return result[node.pk].points
        value = sum((total(kid) for kid in kids), ZERO)
        capped = node.max_points is not None and value > node.max_points
        if capped:
            value = node.max_points
        result[node.pk] = IndicatorProgress(
            indicator=node, leaf=False, units=None, points=value, capped=capped, required_minimum=None,
            minimum_per=None, consequence=None, minimum_met=None)
        return value

    points = sum((total(root) for root in children.get(None, [])), ZERO)
    duty_states = [p.minimum_met for p in result.values() if p.required_minimum is not None]
    duties_met = False if False in duty_states else (True if all(duty_states) else None)
    ordered = [result[n.pk] for n in _tree_order(children)]
    progress = Progress(scheme=scheme, as_of=as_of_day, source="estimate", points=points,
                        duties_met=duties_met, indicators=ordered)
    return _with_final_result(progress, teacher=teacher)


def _with_final_result(progress: Progress, *, teacher: TeacherProfile) -> Progress:
    """A finalized period shows what the assessment decided: the final run's points, duties and
    grade, and its per-indicator figures (``assessment.selectors.result_scores``). The duty
    buckets stay the ledger's, to show where a duty was missed."""
    from service_records.assessment.selectors import result_scores

    final = (AssessmentResult.objects
             .filter(run__scheme=progress.scheme, run__status=AssessmentRun.Status.FINAL,
                     teacher_id=teacher.user_id)
             .select_related("run", "run__scheme").first())
    if final is None:
        return progress
    official = {row["indicator"]: row for row in result_scores(final)}
    for item in progress.indicators:
        row = official.get(item.indicator.pk)
        if row is None:
            continue
        item.points, item.capped = row["points"], row["capped"]
        if item.leaf:
            item.units, item.minimum_met = row["units"], row["minimum_met"]
    progress.source, progress.run, progress.grade = "assessment", final.run, final.grade
    progress.points, progress.duties_met = final.points, final.duties_met
    return progress


def _tree_order(children: dict) -> list[Indicator]:
    out: list[Indicator] = []

    def visit(parent_id):
        for node in children.get(parent_id, []):
            out.append(node)
            visit(node.pk)

    visit(None)
    return out


def _duty_buckets(leaf: Indicator, entries, scheme: AssessmentScheme, as_of: datetime.date):
    found = periods.buckets(leaf.minimum_per, scheme.period_start, scheme.period_end)
    out = []
    for bucket in found:
        units = sum((u for day, u in entries if bucket.start <= day < bucket.end), ZERO)
        units = units.quantize(TWO_PLACES)
        last_day = bucket.end - datetime.timedelta(days=1)
        if units >= leaf.required_minimum:
            status = "met"
        elif last_day < as_of:
            status = "missed"
        elif bucket.start <= as_of:
            status = "open"
        else:
            status = "upcoming"
        out.append(BucketProgress(start=bucket.start, end=last_day, units=units, status=status))
    return out


# --- administrators' review -----------------------------------------------------------------

@dataclass(frozen=True)
class TeacherFilters:
    tier: int | None = None
    subject: int | None = None
    studio: int | None = None
    school: int | None = None
    county: int | None = None
    three_tier: bool | None = None
    run: AssessmentRun | None = None
    meets_duty: bool | None = None
    name: str = ""


def review_teacher_list(*, user, window: Window, filters: TeacherFilters,
                        ordering: str = "name") -> QuerySet[TeacherProfile]:
    """Teachers of the schools in the administrator's scope, with their event count in the
    window, open disputes and flags, and (with a run) whether they met their duties. Units per
    kind come from ``review_units_by_kind`` for a page of them (one grouped query)."""
    if not is_reviewer(user):
        return TeacherProfile.objects.none()
    qs = TeacherProfile.objects.filter(school_scope_q(user, prefix="school__"), user__is_active=True)
    if filters.tier:
        qs = qs.filter(tier_id=filters.tier)
    if filters.three_tier is not None:
        qs = qs.filter(tier__is_three_tier=True) if filters.three_tier else qs.filter(
            Q(tier__isnull=True) | Q(tier__is_three_tier=False))
    if filters.subject:
        qs = qs.filter(Exists(TeacherProfile.subjects.through.objects.filter(
            teacherprofile_id=OuterRef("pk"), subject_id=filters.subject)))
    if filters.school:
        qs = qs.filter(school_id=filters.school)
    if filters.county:
        qs = qs.filter(school__county_id=filters.county)
    if filters.studio:
        qs = qs.filter(pk__in=_current_studio_teachers(user, filters.studio))
    if filters.name:
        qs = qs.filter(real_name__icontains=filters.name)

    events = (ServiceEvent.objects.filter(window.q(), teacher_id=OuterRef("user_id"), corrects__isnull=True)
              .order_by().values("teacher_id").annotate(n=Count("pk")).values("n"))
    disputes = (ServiceDispute.objects.filter(teacher_id=OuterRef("user_id"), status="open")
                .order_by().values("teacher_id").annotate(n=Count("pk")).values("n"))
    flags = (EventFlag.objects.filter(event__teacher_id=OuterRef("user_id"), status="open")
             .order_by().values("event__teacher_id").annotate(n=Count("pk")).values("n"))
    qs = qs.annotate(
        event_count=Coalesce(Subquery(events, output_field=IntegerField()), Value(0)),
        open_disputes=Coalesce(Subquery(disputes, output_field=IntegerField()), Value(0)),
        open_flags=Coalesce(Subquery(flags, output_field=IntegerField()), Value(0)),
    )
    if filters.run is not None:
        met = AssessmentResult.objects.filter(run=filters.run, teacher_id=OuterRef("user_id"))
        qs = qs.annotate(duties_met=Subquery(met.values("duties_met")[:1], output_field=BooleanField()))
        if filters.meets_duty is not None:
            qs = qs.filter(duties_met=filters.meets_duty)
    else:
        qs = qs.annotate(duties_met=Value(None, output_field=BooleanField()))
    qs = qs.select_related("user", "school", "school__county", "tier")
    order = {
        "name": ["real_name", "user_id"],
        "events": ["event_count", "real_name", "user_id"],
        "-events": ["-event_count", "real_name", "user_id"],
        "school": ["school__code", "real_name", "user_id"],
    }[ordering]
    return qs.order_by(*order)


def _current_studio_teachers(user, studio_id: int):
    """Teacher profiles holding a current role in the studio, through the studios app."""
    from studios.selectors import membership_list

    return membership_list(user=user, studio=studio_id).order_by().values("teacher_id")


@dataclass(frozen=True)
class KindUnits:
    kind: ServiceEventKind
    quantity: Decimal
    events: int


def review_units_by_kind(*, teacher_ids: list[int], window: Window) -> dict[int, list[KindUnits]]:
    """Net units (corrections included) and events per kind for the given teachers: one
    grouped query, whatever the number of teachers."""
    if not teacher_ids:
        return {}
    kinds = {k.pk: k for k in ServiceEventKind.objects.all()}
    rows = (ServiceEvent.objects.filter(window.q(), teacher_id__in=teacher_ids).order_by()
            .values("teacher_id", "kind_id")
            .annotate(quantity=Sum("quantity"), events=Count("pk", filter=Q(corrects__isnull=True))))
    out: dict[int, list[KindUnits]] = defaultdict(list)
    for row in rows:
        out[row["teacher_id"]].append(KindUnits(kinds[row["kind_id"]], row["quantity"], row["events"]))
    for items in out.values():
        items.sort(key=lambda item: item.kind.code)
    return out


# --- county adoption report -----------------------------------------------------------------

def adoption_county_list(*, user) -> QuerySet[Region]:
    """Counties whose adoption figures the user may read: a county administrator their county,
    a city administrator the counties of the city, a superuser all."""
    qs = Region.objects.filter(kind=Region.Kind.COUNTY).select_related("parent")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    profile = getattr(user, "admin_profile", None)
    if profile is None or profile.level == "school":
        return qs.none()
    if profile.level == "city":
        return qs.filter(parent_id=profile.region_id)
    return qs.filter(pk=profile.region_id)


def can_read_adoption(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = getattr(user, "admin_profile", None)
    return profile is not None and profile.level in ("city", "county")


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of the ISO week ``day`` falls in."""
    return day - datetime.timedelta(days=day.weekday())


def school_year_of(day: datetime.date) -> int:
    """The school year (by the year it starts) that ``day`` falls in. A school year starts
    with the last term of the calendar year in ``ASSESSMENT_TERM_STARTS`` (the autumn term,
    default 08-01)."""
    month, dom = periods.term_starts()[-1]
    return day.year if (day.month, day.day) >= (month, dom) else day.year - 1


@dataclass
class WeekAdoption:
    week_start: datetime.date
    iso_week: str
    students_registered: int
    students_enrolled: int | None
    enrolment_school_year: int | None
    registration_rate: Decimal | None
    visits: int
    visits_by_role: dict[str, int]
    active_users_peak: int
    active_user_days: int


@dataclass
class DutyShare:
    run: AssessmentRun | None
    teachers: int = 0
    meeting_duty: int = 0
    share: Decimal | None = None


@dataclass
class CountyAdoption:
    county: Region
    teachers_registered: int
    teachers_employed: int | None
    teacher_registration_rate: Decimal | None
    three_tier_duty: DutyShare
    weeks: list[WeekAdoption]


def _rate(part: int, whole: int | None) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def adoption_report(*, counties: list[Region], first_week: datetime.date,
                    last_week: datetime.date) -> list[CountyAdoption]:
    """Adoption per county per ISO week ``first_week`` .. ``last_week`` (Mondays, inclusive).

    Per week: students registered by the end of the week over the students enrolled that school
    year (``CountyEnrolment``; the latest earlier year when the bureau has not reported this
    one, named in ``enrolment_school_year``); visits (by role) and active users from
    ``DailyUsage``. ``DailyUsage`` holds distinct users per day, so a week shows its peak day
    (``active_users_peak``) and the sum of daily actives (``active_user_days``), not distinct
    users over the week. Per county: the share of three-tier teachers meeting their duty in the
    latest final run of the city's scheme. A fixed number of queries for any number of counties.
    """
    ids = [c.pk for c in counties]
    if not ids:
        return []
    range_start = local_midnight(first_week)
    range_end = local_midnight(last_week + datetime.timedelta(days=7))
    weeks = [first_week + datetime.timedelta(weeks=i) for i in range((last_week - first_week).days // 7 + 1)]

    students = StudentProfile.objects.filter(school__county_id__in=ids, user__is_active=True).order_by()
    before = dict(students.filter(user__date_joined__lt=range_start).values_list("school__county_id")
                  .annotate(n=Count("pk")))
    joined: dict[tuple[int, datetime.date], int] = {}
    for county_id, week, n in (
        students.filter(user__date_joined__gte=range_start, user__date_joined__lt=range_end)
        .annotate(week=TruncWeek("user__date_joined")).values_list("school__county_id", "week")
        .annotate(n=Count("pk"))
    ):
        key = (county_id, timezone.localtime(week).date() if isinstance(week, datetime.datetime) else week)
        joined[key] = joined.get(key, 0) + n

    teachers = dict(TeacherProfile.objects.filter(
        school__county_id__in=ids, user__is_active=True, user__date_joined__lt=range_end)
        .order_by().values_list("school__county_id").annotate(n=Count("pk")))

    enrolments: dict[int, list[CountyEnrolment]] = defaultdict(list)
    for row in CountyEnrolment.objects.filter(county_id__in=ids).order_by("county_id", "-school_year"):
        enrolments[row.county_id].append(row)

    def enrolment(county_id: int, school_year: int) -> CountyEnrolment | None:
        return next((e for e in enrolments[county_id] if e.school_year <= school_year), None)

    usage: dict[tuple[int, datetime.date], dict] = {}
    for county_id, day, role, visits, active in DailyUsage.objects.filter(
        county_id__in=ids, day__gte=first_week, day__lt=last_week + datetime.timedelta(days=7),
    ).values_list("county_id", "day", "role", "visits", "active_users"):
        week = usage.setdefault((county_id, week_start(day)), {
            "visits": 0, "roles": defaultdict(int), "days": defaultdict(int), "active_days": 0})
        week["visits"] += visits
        week["roles"][role] += visits
        week["days"][day] += active
        week["active_days"] += active

    duty = _duty_shares(counties)
    last_school_year = school_year_of(last_week)
    out = []
    for county in counties:
        registered = before.get(county.pk, 0)
        rows = []
        for week in weeks:
            registered += joined.get((county.pk, week), 0)
            found = enrolment(county.pk, school_year_of(week))
            used = usage.get((county.pk, week), {})
            roles = used.get("roles", {})
            iso = week.isocalendar()
            rows.append(WeekAdoption(
                week_start=week, iso_week=f"{iso.year}-W{iso.week:02d}",
                students_registered=registered,
                students_enrolled=found.students_enrolled if found else None,
                enrolment_school_year=found.school_year if found else None,
                registration_rate=_rate(registered, found.students_enrolled if found else None),
                visits=used.get("visits", 0),
                visits_by_role={role: roles.get(role, 0) for role in DailyUsage.Role.values},
                active_users_peak=max(used["days"].values()) if used else 0,
                active_user_days=used.get("active_days", 0),
            ))
        latest = enrolment(county.pk, last_school_year)
        employed = latest.teachers_employed if latest else None
        out.append(CountyAdoption(
            county=county, teachers_registered=teachers.get(county.pk, 0), teachers_employed=employed,
            teacher_registration_rate=_rate(teachers.get(county.pk, 0), employed),
            three_tier_duty=duty.get(county.pk, DutyShare(run=None)), weeks=rows,
        ))
    return out


def _duty_shares(counties: list[Region]) -> dict[int, DutyShare]:
    """Per county: three-tier teachers in the latest final run of its city's scheme, and how
    many of them met their duties."""
    city_ids = {c.parent_id for c in counties if c.parent_id}
    latest: dict[int, AssessmentRun] = {}
    finals = AssessmentRun.objects.filter(status=AssessmentRun.Status.FINAL, scheme__region_id__in=city_ids)
    for run in finals.select_related("scheme").order_by("-scheme__period_end", "-finalized_at", "-pk"):
        latest.setdefault(run.scheme.region_id, run)
    if not latest:
        return {}
    county_ids = [c.pk for c in counties if c.parent_id in latest]
    counts = (
        AssessmentResult.objects.filter(
            run_id__in=[r.pk for r in latest.values()],
            teacher__teacher_profile__school__county_id__in=county_ids,
            teacher__teacher_profile__tier__is_three_tier=True,
        ).order_by().values_list("run_id", "teacher__teacher_profile__school__county_id")
        .annotate(total=Count("pk"), met=Count("pk", filter=Q(duties_met=True)))
    )
    by_county = {(run_id, county_id): (total, met) for run_id, county_id, total, met in counts}
    out = {}
    for county in counties:
        run = latest.get(county.parent_id)
        if run is None:
            continue
        total, met = by_county.get((run.pk, county.pk), (0, 0))
        out[county.pk] = DutyShare(run=run, teachers=total, meeting_duty=met, share=_rate(met, total))
    return out

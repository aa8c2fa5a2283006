"""Reads for exports, service certificates and the administrators' dashboard, and the one home
of their permissions.

Who may do what:
- exports (assessment results, evidence, payout lists): administrators (any level), limited to
  the schools in their scope (``regions.selectors.school_scope_q``); teachers and students are
  refused (``access_export``);
- service certificates: a teacher issues and reads their own; an administrator those of the
  teachers of schools in scope (``can_issue_certificate``, ``certificate_list_visible``);
  anyone may verify a code (``certificate_verify``), which shows the teacher's name, school,
  period and totals, never anything about students;
- the dashboard: administrators, figures of the schools in scope; visits (adoption figures,
  counted per county) for city and county administrators only, as in the adoption report.

Export rows are streamed: each table's ``rows`` is a generator over one ``values_list`` query
read with ``.iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL), so memory stays
flat whatever the number of rows; the query runs when the response is being sent.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Concat, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TeacherProfile
from accounts.selectors import user_is_admin
from common.errors import Conflict, Forbidden, NotFound
from regions.models import Region, School
from regions.selectors import school_scope_q
from service_records.assessment import periods
from service_records.assessment import selectors as assessment
from service_records.exports.writers import BOOL, DATETIME, DECIMAL, INT, TEXT, Column
from service_records.models import (
    GENESIS_HASH,
    AssessmentResult,
    AssessmentRun,
    DailyUsage,
    ExportJob,
    IncentiveRule,
    Indicator,
    ServiceCertificate,
    ServiceEvent,
    ServiceEventKind,
)
from service_records.models.assessments import Grade
from service_records.selectors import ledger_verify

EVENT_SCHOOL = "teacher__teacher_profile__school__"
CHUNK_ROWS = 5000
# Days a client may ask about: the platform's records lie well within these years, and the
# bounds keep local midnights convertible to UTC (year 1 or 9999 would overflow).
EARLIEST_DAY = datetime.date(2000, 1, 1)
LATEST_DAY = datetime.date(2099, 12, 31)
ZERO = Decimal("0.00")
TWO_PLACES = Decimal("0.01")


# --- permissions ----------------------------------------------------------------------------

def can_export(user) -> bool:
    return user_is_admin(user)


def access_export(user) -> None:
    if not can_export(user):
        raise Forbidden(_("Only administrators export service records; your own record is on "
                          "your service record page."), code="export_forbidden")


def can_view_dashboard(user) -> bool:
    return user_is_admin(user)


def access_dashboard(user) -> None:
    if not can_view_dashboard(user):
        raise Forbidden(_("The dashboard is for administrators."), code="dashboard_forbidden")


def _sees_visits(user) -> bool:
    if user.is_superuser:
        return True
    profile = getattr(user, "admin_profile", None)
    return profile is not None and profile.level in ("city", "county")


# --- export tables --------------------------------------------------------------------------

@dataclass
class Table:
    """What an export writes: a title (sheet name), a file name without extension, typed
    columns and the rows (a generator: nothing is read before the response is sent)."""

    title: str
    filename: str
    columns: list[Column]
    rows: Iterable[tuple]


def _local_range(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return periods.period_bounds(start, end)


def evidence_values(*, user, start: datetime.date, end: datetime.date, county: int | None = None,
                    school: int | None = None, kind: str | None = None, tier: int | None = None) -> QuerySet:
    """The evidence rows (``values_list``, in ``evidence_table``'s column order) of the teachers
    at schools in scope: every service event (compensating events included, each naming what it
    corrects) that occurred on local days ``start`` .. ``end``, in the order they occurred."""
    access_export(user)
    since, until = _local_range(start, end)
    qs = ServiceEvent.objects.filter(school_scope_q(user, prefix=EVENT_SCHOOL),
                                     occurred_at__gte=since, occurred_at__lt=until)
    if county:
        qs = qs.filter(teacher__teacher_profile__school__county_id=county)
    if school:
        qs = qs.filter(teacher__teacher_profile__school_id=school)
    if kind:
        qs = qs.filter(kind__code=kind)
    if tier:
        qs = qs.filter(teacher__teacher_profile__tier_id=tier)
    return qs.order_by("occurred_at", "id").values_list(
        "id", "occurred_at", "teacher_id", "teacher__teacher_profile__staff_number",
        "teacher__teacher_profile__real_name", "teacher__teacher_profile__school__code",
        "teacher__teacher_profile__school__name", "teacher__teacher_profile__school__county__name",
        "teacher__teacher_profile__tier__name", "kind__code", "kind__name", "kind__unit", "quantity",
        "rating", "accepted", "review_outcome",
        Case(When(source_type__isnull=True, then=Value("")),
             default=Concat("source_type__app_label", Value("."), "source_type__model")), "source_id",
        "corrects_id", "reason", "recorded_at", "sequence", "hash",
    )


def evidence_table(*, user, start: datetime.date, end: datetime.date, **filters) -> Table:
    """``evidence_values`` as an export table (filters: county, school, kind, tier)."""
    values = evidence_values(user=user, start=start, end=end, **filters)
    columns = [
        Column(_("event"), INT, 10), Column(_("occurred at"), DATETIME, 20), Column(_("teacher id"), INT, 10),
        Column(_("staff number"), TEXT, 12), Column(_("teacher"), TEXT, 12),
        Column(_("school code"), TEXT, 12), Column(_("school"), TEXT, 24), Column(_("county"), TEXT, 12),
        Column(_("tier"), TEXT, 12), Column(_("kind code"), TEXT, 18), Column(_("kind"), TEXT, 14),
        Column(_("unit"), TEXT, 8), Column(_("quantity"), DECIMAL, 10), Column(_("rating"), DECIMAL, 8),
        Column(_("accepted"), BOOL, 9), Column(_("review outcome"), TEXT, 12),
        Column(_("evidence type"), TEXT, 16), Column(_("evidence id"), TEXT, 12),
        Column(_("corrects event"), INT, 10), Column(_("reason"), TEXT, 24),
        Column(_("recorded at"), DATETIME, 20), Column(_("chain position"), INT, 10),
        Column(_("hash"), TEXT, 66),
    ]
    return Table(title=_("Service evidence"), filename=f"evidence-{start:%Y%m%d}-{end:%Y%m%d}",
                 columns=columns, rows=_stream(values))


def export_job_list_visible(*, user) -> QuerySet[ExportJob]:
    """An administrator's own export jobs (files hold personal data: nobody else's)."""
    if not can_export(user):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(requested_by=user)


def _stream(values: QuerySet) -> Iterator[tuple]:
    # Evaluated lazily: the query runs on the first row the response asks for.
    yield from values.iterator(chunk_size=CHUNK_ROWS)


def export_run_get(*, user, pk: int) -> AssessmentRun:
    """A run the administrator may export (404 for runs they may not read)."""
    access_export(user)
    return assessment.run_get_visible(user=user, pk=pk)


def _tree_totals(nodes: list[Indicator]) -> tuple[list[Indicator], Callable[[dict], list[Decimal]]]:
    """The roots (A-level indicators) of a scheme and a function from {leaf id: points} to
    each root's points, summed bottom-up with every node's ``max_points`` as its cap (the
    same arithmetic as the assessment's totals)."""
    children: dict[int | None, list[Indicator]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    roots = children.get(None, [])

    def total(node: Indicator, leaf_points: dict) -> Decimal:
        kids = children.get(node.pk)
        if not kids:
            return leaf_points.get(node.pk) or ZERO
        value = sum((total(kid, leaf_points) for kid in kids), ZERO)
        return min(value, node.max_points) if node.max_points is not None else value

    def totals(leaf_points: dict) -> list[Decimal]:
        return [total(root, leaf_points).quantize(TWO_PLACES) for root in roots]

    return roots, totals


def result_table(*, user, run: AssessmentRun) -> Table:
    """The run's results of the teachers at schools in scope, one row per teacher: points,
    points per A-level indicator, grade, duties and award eligibility. One grouped query
    (leaf points pivoted per result) streamed; the A-level totals are summed per row from it.
    The leaf points are the run's drill-down rows: materialize them first
    (``assessment.services.assessment_run_materialize``; a final run has them)."""
    access_export(user)
    scheme = run.scheme
    nodes = assessment.scheme_nodes_in_order(scheme)
    parents = {n.parent_id for n in nodes if n.parent_id}
    leaves = [n for n in nodes if n.pk not in parents]
    roots, totals = _tree_totals(nodes)
    names = {n.code: n.name for n in nodes}
    pivots = {f"leaf_{leaf.pk}": Sum("scores__points", filter=Q(scores__indicator_id=leaf.pk))
              for leaf in leaves}
    base = ("teacher_id", "teacher__teacher_profile__staff_number", "teacher__teacher_profile__real_name",
            "teacher__teacher_profile__school__code", "teacher__teacher_profile__school__name",
            "teacher__teacher_profile__school__county__name", "teacher__teacher_profile__tier__name",
            "points", "grade_by_points", "grade", "duties_met", "missed_duties", "awards_eligible")
    values = (assessment.result_list_visible(user=user, run=run).annotate(**pivots)
              .order_by("teacher__teacher_profile__school__code", "teacher__teacher_profile__staff_number",
                        "teacher_id")
              .values_list(*base, *pivots))
    grade_label = {value: str(label) for value, label in Grade.choices}
    leaf_ids = [leaf.pk for leaf in leaves]
    n = len(base)

    def rows() -> Iterator[tuple]:
        for row in values.iterator(chunk_size=CHUNK_ROWS):
            leaf_points = dict(zip(leaf_ids, row[n:], strict=True))
            missed = "; ".join(f"{code} {names.get(code, '')}".strip() for code in (row[11] or []))
            yield (*row[:8], *totals(leaf_points), grade_label.get(row[8], row[8]),
                   grade_label.get(row[9], row[9]), row[10], missed, row[12])

    columns = [
        Column(_("teacher id"), INT, 10), Column(_("staff number"), TEXT, 12), Column(_("teacher"), TEXT, 12),
        Column(_("school code"), TEXT, 12), Column(_("school"), TEXT, 24), Column(_("county"), TEXT, 12),
        Column(_("tier"), TEXT, 12), Column(_("points"), DECIMAL, 10),
        *[Column(f"{root.code} {root.name}", DECIMAL, 14) for root in roots],
        Column(_("grade by points"), TEXT, 10), Column(_("assessment grade"), TEXT, 10),
        Column(_("duties met"), BOOL, 10),
        Column(_("missed duties"), TEXT, 30), Column(_("eligible for awards"), BOOL, 12),
    ]
    return Table(title=_("Assessment results"), columns=columns, rows=rows(),
                 filename=f"results-run{run.pk}-{scheme.code}-v{scheme.version}")


def payout_table(*, user, run: AssessmentRun) -> Table:
    """The payout list of a final run for the finance office (the assessment's
    ``payout_rows``), schools in scope only."""
    access_export(user)
    if run.status != AssessmentRun.Status.FINAL:
        raise Conflict(_("A payout list exists once the run is finalized."), code="run_not_final")
    grade_label = {value: str(label) for value, label in Grade.choices}
    role_label = {value: str(label) for value, label in IncentiveRule.Role.choices}
    keys = ("teacher_id", "staff_number", "real_name", "school_code", "school_name", "county", "role",
            "studio_name", "grade", "amount", "awards_eligible", "title_review_eligible", "rule_code",
            "rule_name", "explanation")

    def rows() -> Iterator[tuple]:
        for item in assessment.payout_rows(run, user=user):
            item["role"] = role_label.get(item["role"], item["role"])
            item["grade"] = grade_label.get(item["grade"], item["grade"])
            yield tuple(item[key] for key in keys)

    columns = [
        Column(_("teacher id"), INT, 10), Column(_("staff number"), TEXT, 12), Column(_("teacher"), TEXT, 12),
        Column(_("school code"), TEXT, 12), Column(_("school"), TEXT, 24), Column(_("county"), TEXT, 12),
        Column(_("role"), TEXT, 12), Column(_("studio"), TEXT, 20), Column(_("assessment grade"), TEXT, 10),
        Column(_("amount (CNY)"), DECIMAL, 12), Column(_("eligible for awards"), BOOL, 12),
        Column(_("eligible for title review"), BOOL, 12), Column(_("rule code"), TEXT, 16),
        Column(_("rule"), TEXT, 20), Column(_("explanation"), TEXT, 50),
    ]
    return Table(title=_("Payout list"), filename=f"payouts-run{run.pk}-{run.scheme.code}",
                 columns=columns, rows=rows())


# --- service certificates -------------------------------------------------------------------

# Crockford's base32: digits and capitals without I, L, O, U (read aloud and typed without
# confusion). 12 characters are 60 random bits: guessing one code among a million issued
# takes about 10^12 tries, and the public check is throttled.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def certificate_code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def certificate_code_normalize(raw: str) -> str | None:
    """The stored form of a typed code (any case, dashes and spaces ignored, O/I/L read as
    0/1), or None if it cannot be a code."""
    code = "".join(str(raw).split()).replace("-", "").upper().translate(_CONFUSABLE)
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def certificate_code_display(code: str) -> str:
    """XXXX-XXXX-XXXX."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def teacher_for_certificate(teacher_id: int) -> TeacherProfile:
    teacher = (TeacherProfile.objects.select_related("user", "school", "school__county", "tier")
               .filter(user_id=teacher_id).first())
    if teacher is None:
        raise NotFound(_("No such teacher."))
    return teacher


def can_issue_certificate(user, teacher: TeacherProfile) -> bool:
    """The teacher themself, or an administrator whose scope holds the teacher's school."""
    if not user.is_authenticated:
        return False
    if user.pk == teacher.user_id:
        return True
    return user_is_admin(user) and School.objects.filter(school_scope_q(user), pk=teacher.school_id).exists()


def access_issue_certificate(user, teacher: TeacherProfile) -> None:
    if not can_issue_certificate(user, teacher):
        raise Forbidden(_("A certificate is issued by the teacher themself or by an administrator "
                          "whose scope holds the teacher's school."), code="certificate_forbidden")


def certificate_list_visible(*, user) -> QuerySet[ServiceCertificate]:
    """A teacher's own certificates; for an administrator, also those of teachers in scope."""
    qs = ServiceCertificate.objects.select_related(
        "teacher", "teacher__teacher_profile", "teacher__teacher_profile__school",
        "teacher__teacher_profile__school__county", "result", "result__run", "result__run__scheme")
    if not user.is_authenticated:
        return qs.none()
    visible = Q(teacher_id=user.pk)
    if user_is_admin(user):
        visible |= school_scope_q(user, prefix=EVENT_SCHOOL)
    return qs.filter(visible)


def certificate_get_visible(*, user, code: str) -> ServiceCertificate:
    normalized = certificate_code_normalize(code)
    found = certificate_list_visible(user=user).filter(code=normalized).first() if normalized else None
    if found is None:
        raise NotFound(_("No such certificate."))
    return found


def ledger_totals(*, teacher_id: int, start: datetime.date, end: datetime.date,
                  through_sequence: int) -> dict:
    """The teacher's service on local days ``start`` .. ``end`` as the ledger stood at chain
    position ``through_sequence``: per kind code, the net quantity (corrections included) and
    the number of events (corrections not counted), as strings and ints (JSON, comparable)."""
    since, until = _local_range(start, end)
    rows = (ServiceEvent.objects.filter(teacher_id=teacher_id, sequence__lte=through_sequence,
                                        occurred_at__gte=since, occurred_at__lt=until)
            .order_by().values("kind__code")
            .annotate(quantity=Sum("quantity"), events=Count("pk", filter=Q(corrects__isnull=True))))
    return {row["kind__code"]: {"quantity": str(Decimal(row["quantity"]).quantize(TWO_PLACES)),
                                "events": row["events"]}
            for row in sorted(rows, key=lambda r: r["kind__code"])}


def final_result_for_period(*, teacher_id: int, start: datetime.date,
                            end: datetime.date) -> AssessmentResult | None:
    """The teacher's result in the final run of a scheme whose period is exactly this one."""
    return (AssessmentResult.objects.filter(
        teacher_id=teacher_id, run__status=AssessmentRun.Status.FINAL,
        run__scheme__period_start=start, run__scheme__period_end=end)
        .select_related("run", "run__scheme").order_by("-run__finalized_at", "-pk").first())


@dataclass(frozen=True)
class TotalRow:
    code: str
    name: str
    unit: str
    quantity: Decimal
    events: int


@dataclass
class CertificateDocument:
    """What a certificate states, as the HTML page, the PDF and the verification show it."""

    certificate: ServiceCertificate
    code: str
    teacher_name: str
    school_name: str
    county_name: str
    period_label: str
    period_start: datetime.date
    period_end: datetime.date
    totals: list[TotalRow]
    grade: str | None
    scheme_name: str | None
    issued_at: datetime.datetime
    chain_sequence: int
    chain_hash: str


def _total_rows(totals: dict) -> list[TotalRow]:
    kinds = {k.code: k for k in ServiceEventKind.objects.filter(code__in=list(totals))}
    out = []
    for code, item in totals.items():
        kind = kinds.get(code)
        out.append(TotalRow(code=code, name=kind.name if kind else code,
                            unit=kind.get_unit_display() if kind else "",
                            quantity=Decimal(item["quantity"]), events=int(item["events"])))
    return out


def certificate_document(certificate: ServiceCertificate) -> CertificateDocument:
    profile = getattr(certificate.teacher, "teacher_profile", None)
    result = certificate.result
    return CertificateDocument(
        certificate=certificate, code=certificate_code_display(certificate.code),
        teacher_name=profile.real_name if profile else str(certificate.teacher),
        school_name=profile.school.name if profile else "",
        county_name=profile.school.county.name if profile else "",
        period_label=certificate.period_label, period_start=certificate.period_start,
        period_end=certificate.period_end, totals=_total_rows(certificate.totals),
        grade=Grade(result.grade).label if result else None,
        scheme_name=str(result.run.scheme.name) if result else None,
        issued_at=certificate.issued_at, chain_sequence=certificate.chain_sequence,
        chain_hash=certificate.chain_hash,
    )


@dataclass
class Verification:
    """Whether a certificate is genuine: its chain position still holds its hash, the
    teacher's chain verifies up to that position, and the totals recomputed from the ledger
    at that position match. ``later_entries``: events recorded for the period after issue
    (late records, corrections): the certificate states the record as it stood at issue."""

    document: CertificateDocument
    genuine: bool
    problems: list[str] = field(default_factory=list)
    later_entries: int = 0


def certificate_verify(*, code: str) -> Verification | None:
    """Checks a certificate against the ledger; None if no certificate has this code."""
    normalized = certificate_code_normalize(code)
    certificate = (ServiceCertificate.objects.select_related(
        "teacher", "teacher__teacher_profile", "teacher__teacher_profile__school",
        "teacher__teacher_profile__school__county", "result", "result__run", "result__run__scheme")
        .filter(code=normalized).first()) if normalized else None
    if certificate is None:
        return None
    teacher_id, position = certificate.teacher_id, certificate.chain_sequence
    problems = []
    if position:
        anchor = ServiceEvent.objects.filter(teacher_id=teacher_id, sequence=position).values_list(
            "hash", flat=True).first()
        if anchor != certificate.chain_hash:
            problems.append(_("The ledger entry this certificate was issued at is missing or altered."))
    elif certificate.chain_hash != GENESIS_HASH:
        problems.append(_("The ledger entry this certificate was issued at is missing or altered."))
    broken = ledger_verify(teacher_ids=[teacher_id])
    # A break after the certificate's position does not touch what it states; a break at or
    # before it, or in the chain head (events removed), does.
    if broken is not None and not (broken.event_id is not None and broken.sequence > position):
        problems.append(_("The teacher's ledger does not verify up to this certificate's entry."))
    if not problems:
        recomputed = ledger_totals(teacher_id=teacher_id, start=certificate.period_start,
                                   end=certificate.period_end, through_sequence=position)
        if recomputed != certificate.totals:
            problems.append(_("The totals on this certificate do not match the ledger."))
    since, until = _local_range(certificate.period_start, certificate.period_end)
    later = ServiceEvent.objects.filter(teacher_id=teacher_id, sequence__gt=position,
                                        occurred_at__gte=since, occurred_at__lt=until).count()
    return Verification(document=certificate_document(certificate), genuine=not problems, problems=problems,
                        later_entries=later)


# --- dashboard ------------------------------------------------------------------------------

MAX_DASHBOARD_MONTHS = 36


def month_add(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def dashboard_default_months(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last twelve months, this one included."""
    this_month = (today or timezone.localdate()).replace(day=1)
    return month_add(this_month, -11), this_month


def _month_key(value) -> str:
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{value:%Y-%m}"


def _dashboard_run(user) -> AssessmentRun | None:
    """The run whose duty figures the dashboard shows: the latest final run the user may read,
    or, before any is final, the latest computed one."""
    runs = assessment.run_list_visible(user=user).filter(
        status__in=[AssessmentRun.Status.FINAL, AssessmentRun.Status.COMPUTED])
    final = runs.filter(status=AssessmentRun.Status.FINAL)
    latest_final = final.order_by("-scheme__period_end", "-finalized_at", "-pk").first()
    return latest_final or runs.order_by("-scheme__period_end", "-computed_at", "-pk").first()


def dashboard_figures(*, user, first_month: datetime.date, last_month: datetime.date) -> dict:
    """Figures of the schools in the administrator's scope, months ``first_month`` ..
    ``last_month`` (first days of months, inclusive): per county, per month and per teacher
    tier, the events of service (corrections not counted), hours of service (kinds counted in
    minutes, corrections included), teachers with service; registered teachers; from the
    latest assessment run, teachers assessed and meeting their duties; visits per county and
    month (city and county administrators). A fixed number of grouped queries."""
    access_dashboard(user)
    since = periods.local_midnight(first_month)
    until = periods.local_midnight(month_add(last_month, 1))
    months = []
    month = first_month
    while month <= last_month:
        months.append(month)
        month = month_add(month, 1)

    events = ServiceEvent.objects.filter(school_scope_q(user, prefix=EVENT_SCHOOL),
                                         occurred_at__gte=since, occurred_at__lt=until).order_by()
    measures = {
        "events": Count("pk", filter=Q(corrects__isnull=True)),
        "minutes": Sum("quantity", filter=Q(kind__unit=ServiceEventKind.Unit.MINUTES)),
        "active_teachers": Count("teacher_id", distinct=True),
    }
    county_key = "teacher__teacher_profile__school__county_id"
    tier_key = "teacher__teacher_profile__tier_id"
    by_county = {row[county_key]: row for row in events.values(county_key).annotate(**measures)}
    by_tier = {row[tier_key]: row for row in events.values(tier_key).annotate(**measures)}
    by_month = {_month_key(row["month"]): row
                for row in events.annotate(month=TruncMonth("occurred_at")).values("month")
                .annotate(**measures)}

    teachers = TeacherProfile.objects.filter(school_scope_q(user, prefix="school__"),
                                             user__is_active=True).order_by()
    teachers_by_county = dict(teachers.values_list("school__county_id").annotate(n=Count("pk")))
    teachers_by_tier = dict(teachers.values_list("tier_id").annotate(n=Count("pk")))

    run = _dashboard_run(user)
    assessed_county: dict = {}
    assessed_tier: dict = {}
    if run is not None:
        results = assessment.result_list_visible(user=user, run=run).order_by()
        duty = {"assessed": Count("pk"), "meeting_duty": Count("pk", filter=Q(duties_met=True))}
        assessed_county = {row["county"]: row for row in results.values(
            county=F("teacher__teacher_profile__school__county_id")).annotate(**duty)}
        assessed_tier = {row["tier"]: row for row in results.values(
            tier=F("teacher__teacher_profile__tier_id")).annotate(**duty)}

    counties = list(Region.objects.filter(
        kind=Region.Kind.COUNTY, pk__in=School.objects.filter(school_scope_q(user)).values("county_id"))
        .order_by("code"))
    visits_county: dict = {}
    visits_month: dict = {}
    sees_visits = _sees_visits(user)
    if sees_visits:
        usage = DailyUsage.objects.filter(county_id__in=[c.pk for c in counties], day__gte=first_month,
                                          day__lt=month_add(last_month, 1)).order_by()
        visits_county = dict(usage.values_list("county_id").annotate(n=Sum("visits")))
        for day, visits in usage.values_list("day", "visits").iterator(chunk_size=CHUNK_ROWS):
            visits_month[f"{day:%Y-%m}"] = visits_month.get(f"{day:%Y-%m}", 0) + visits

    def service(row) -> dict:
        row = row or {}
        minutes = row.get("minutes") or ZERO
        return {"events": row.get("events", 0), "active_teachers": row.get("active_teachers", 0),
                "service_hours": (Decimal(minutes) / 60).quantize(Decimal("0.1"))}

    def duty(row) -> dict:
        row = row or {}
        return {"assessed": row.get("assessed", 0), "meeting_duty": row.get("meeting_duty", 0)}

    from accounts.models import TeacherTier

    tier_ids = set(teachers_by_tier) | set(by_tier) | set(assessed_tier)
    tiers = {t.pk: t for t in TeacherTier.objects.filter(pk__in=[t for t in tier_ids if t])}
    tier_order = sorted(tier_ids, key=lambda t: (t is None, tiers[t].rank if t in tiers else 0, t or 0))
    return {
        "first_month": f"{first_month:%Y-%m}",
        "last_month": f"{last_month:%Y-%m}",
        "run": None if run is None else {
            "id": run.pk, "scheme_name": run.scheme.name, "period_label": run.scheme.period_label,
            "status": run.status},
        "visits_available": sees_visits,
        "by_county": [
            {"county": c.pk, "name": c.name, "teachers": teachers_by_county.get(c.pk, 0),
             **service(by_county.get(c.pk)), **duty(assessed_county.get(c.pk)),
             "visits": visits_county.get(c.pk, 0) if sees_visits else None}
            for c in counties
        ],
        "by_month": [
            {"month": f"{m:%Y-%m}", **service(by_month.get(f"{m:%Y-%m}")),
             "visits": visits_month.get(f"{m:%Y-%m}", 0) if sees_visits else None}
            for m in months
        ],
        "by_tier": [
            {"tier": t, "name": tiers[t].name if t in tiers else _("no tier"),
             "teachers": teachers_by_tier.get(t, 0), **service(by_tier.get(t)), **duty(assessed_tier.get(t))}
            for t in tier_order
        ],
    }

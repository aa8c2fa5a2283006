"""Writes of assessment: schemes (draft, import, publish, new version), runs (compute,
finalize) and the incentive outcomes of a final run."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TeacherTier
from common.errors import Conflict, Forbidden, ServiceError
from regions.models import Region
from service_records.assessment import engine
from service_records.assessment.schemes_io import (
    SchemeDocumentSerializer,
    document_problems,
    flatten_errors,
    scheme_to_document,
)
from service_records.assessment.selectors import (
    access_manage_region,
    rules_for_run,
    scheme_has_final_run,
    studio_roles_during,
)
from service_records.models import (
    AssessmentRun,
    AssessmentScheme,
    IncentiveOutcome,
    IncentiveRule,
    Indicator,
    IndicatorScore,
    ServiceEvent,
    ServiceEventKind,
)
from service_records.models.assessments import Grade
from service_records.selectors import ledger_digest

# --- schemes ---------------------------------------------------------------------------------

def parse_scheme_document(data) -> dict:
    """Validates a scheme document (types, then tree rules); raises ServiceError with field
    errors, never anything else, whatever ``data`` holds."""
    if not isinstance(data, dict):
        raise ServiceError(_("A scheme document is a JSON object."), code="invalid_scheme",
                           fields={"non_field_errors": [_("Expected a JSON object.")]})
    serializer = SchemeDocumentSerializer(data=data)
    if not serializer.is_valid():
        raise ServiceError(_("The scheme document is invalid."), code="invalid_scheme",
                           fields=flatten_errors(serializer.errors))
    doc = serializer.validated_data
    problems = document_problems(doc, complete=False)
    if problems:
        raise ServiceError(_("The scheme document is invalid."), code="invalid_scheme", fields=problems)
    return doc


def _resolve(doc: dict) -> tuple[Region, list[TeacherTier], dict[str, ServiceEventKind]]:
    fields: dict[str, list[str]] = {}
    region = Region.objects.filter(code=doc["region"]).first()
    if region is None:
        fields["region"] = [_("Unknown region code %(code)s.") % {"code": doc["region"]}]
    tiers = list(TeacherTier.objects.filter(code__in=doc["tiers"]))
    unknown = sorted(set(doc["tiers"]) - {t.code for t in tiers})
    if unknown:
        fields["tiers"] = [_("Unknown teacher tiers: %(codes)s.") % {"codes": ", ".join(unknown)}]
    wanted: dict[str, list[str]] = {}

    def collect(nodes, path):
        for index, node in enumerate(nodes):
            here = f"{path}[{index}]"
            for code in node["event_kinds"]:
                wanted.setdefault(code, []).append(f"{here}.event_kinds")
            collect(node["children"], f"{here}.children")

    collect(doc["indicators"], "indicators")
    kinds = ServiceEventKind.objects.in_bulk(list(wanted), field_name="code")
    for code, paths in wanted.items():
        if code not in kinds:
            for path in paths:
                fields.setdefault(path, []).append(_("Unknown event kind %(code)s.") % {"code": code})
    if fields:
        raise ServiceError(_("The scheme document names things that do not exist."),
                           code="invalid_scheme", fields=fields)
    return region, tiers, kinds


def _write_tree(scheme: AssessmentScheme, nodes: list[dict], kinds: dict) -> None:
    links = []
    through = Indicator.event_kinds.through

    def write(items, parent):
        for order, node in enumerate(items):
            weights = node["weights"] or {}
            duty = node["duty"] or {}
            indicator = Indicator.objects.create(
                scheme=scheme, parent=parent, level=node["level"], code=node["code"], name=node["name"],
                order=order, max_points=node["max_points"], credit_per_unit=node["credit_per_unit"],
                cap_per_period=node["cap_per_period"],
                accepted_weight=weights.get("accepted", Decimal("1")),
                low_rating_below=weights.get("low_rating_below"),
                low_rating_weight=weights.get("low_rating", Decimal("1")),
                required_minimum=duty.get("minimum"),
                minimum_per=duty.get("per", Indicator.MinimumPer.PERIOD),
                consequence=duty.get("consequence", Indicator.Consequence.NONE),
            )
            links.extend(through(indicator_id=indicator.pk, serviceeventkind_id=kinds[code].pk)
                         for code in dict.fromkeys(node["event_kinds"]))
            write(node["children"], indicator)

    write(nodes, None)
    through.objects.bulk_create(links)


def _apply_document(scheme: AssessmentScheme, doc: dict, tiers, kinds) -> AssessmentScheme:
    scheme.name = doc["name"]
    scheme.period_label = doc["period"]["label"]
    scheme.period_start = doc["period"]["start"]
    scheme.period_end = doc["period"]["end"]
    scheme.excellent_min = doc["thresholds"]["excellent"]
    scheme.qualified_min = doc["thresholds"]["qualified"]
    scheme.save()
    scheme.tiers.set(tiers)
    scheme.indicators.all().delete()
    _write_tree(scheme, doc["indicators"], kinds)
    return scheme


@dataclass(frozen=True)
class Imported:
    scheme: AssessmentScheme
    created: bool
    changed: bool


@transaction.atomic
def scheme_import(*, data, actor=None) -> Imported:
    """Creates (or replaces) a draft scheme from a JSON document.

    - ``version`` absent: the next version of (region, code); it supersedes the published one.
    - ``version`` of an existing draft: the draft's content is replaced.
    - ``version`` of a published or retired scheme: nothing changes if the document equals it
      (importing twice is harmless), otherwise a Conflict: published schemes never change.
    ``actor`` None is the command line (no scope check); otherwise an administrator whose scope
    holds the region.
    """
    doc = parse_scheme_document(data)
    region, tiers, kinds = _resolve(doc)
    if actor is not None:
        access_manage_region(actor, region)
    versions = AssessmentScheme.objects.select_for_update().filter(region=region, code=doc["code"])
    version = doc["version"]
    existing = versions.filter(version=version).first() if version else None
    if existing is not None:
        if existing.status == AssessmentScheme.Status.DRAFT:
            before = scheme_to_document(existing)
            _apply_document(existing, doc, tiers, kinds)
            return Imported(existing, False, scheme_to_document(existing) != before)
        current = scheme_to_document(existing)
        if parse_scheme_document(current) == doc:
            return Imported(existing, False, False)
        raise Conflict(
            _("Version %(v)d of %(code)s is %(status)s and never changes: import the document "
              "without a version to make a new one.")
            % {"v": version, "code": doc["code"], "status": existing.get_status_display()},
            code="scheme_published", fields={"version": [_("This version is already published.")]})
    latest = versions.aggregate(v=Max("version"))["v"] or 0
    if version is not None and version <= latest:
        raise Conflict(_("Versions up to %(v)d of %(code)s exist; use a higher version or none.")
                       % {"v": latest, "code": doc["code"]}, code="scheme_version_taken",
                       fields={"version": [_("Use a version above %(v)d.") % {"v": latest}]})
    published = versions.filter(status=AssessmentScheme.Status.PUBLISHED).first()
    supersedes = published if published is not None and not _has_successor(published) else None
    scheme = AssessmentScheme(region=region, code=doc["code"], version=version or latest + 1,
                              supersedes=supersedes, status=AssessmentScheme.Status.DRAFT)
    _apply_document(scheme, doc, tiers, kinds)
    return Imported(scheme, True, True)


def _has_successor(scheme: AssessmentScheme) -> bool:
    return AssessmentScheme.objects.filter(supersedes=scheme).exists()


def scheme_validate_for_publish(scheme: AssessmentScheme) -> dict[str, list[str]]:
    """Field problems that keep the scheme from being published (empty when it may be)."""
    doc = scheme_to_document(scheme)
    serializer = SchemeDocumentSerializer(data=doc)
    if not serializer.is_valid():  # a draft edited in the admin may hold anything
        return flatten_errors(serializer.errors)
    return document_problems(serializer.validated_data, complete=True)


@transaction.atomic
def scheme_publish(*, scheme: AssessmentScheme, actor=None) -> AssessmentScheme:
    """Publishes a draft: checks it is complete (leaves name event kinds and give credit,
    thresholds ordered, a tree of A/B/C levels), then retires the version it supersedes and any
    other published version of the same code. Refused when a version it would retire has a
    final run (its period is frozen)."""
    if actor is not None:
        access_manage_region(actor, scheme.region)
    scheme = AssessmentScheme.objects.select_for_update().get(pk=scheme.pk)
    if scheme.status != AssessmentScheme.Status.DRAFT:
        raise Conflict(_("Only a draft can be published; this scheme is %(status)s.")
                       % {"status": scheme.get_status_display()}, code="scheme_not_draft")
    problems = scheme_validate_for_publish(scheme)
    if problems:
        raise ServiceError(_("The scheme cannot be published yet: %(n)d problem(s).") % {"n": len(problems)},
                           code="scheme_incomplete", fields=problems)
    others = list(AssessmentScheme.objects.select_for_update().filter(
        region=scheme.region, code=scheme.code, status=AssessmentScheme.Status.PUBLISHED))
    for other in others:
        if scheme_has_final_run(other):
            raise Conflict(_("Version %(v)d has a final assessment: its period is frozen and it cannot be "
                             "replaced.") % {"v": other.version}, code="period_frozen")
    for other in others:
        other.status = AssessmentScheme.Status.RETIRED
        other.save(update_fields=["status"])
        other.runs.filter(status=AssessmentRun.Status.COMPUTED).update(status=AssessmentRun.Status.SUPERSEDED)
    scheme.status = AssessmentScheme.Status.PUBLISHED
    scheme.published_at = timezone.now()
    scheme.published_by = actor if actor is not None and actor.is_authenticated else None
    scheme.save(update_fields=["status", "published_at", "published_by"])
    return scheme


@transaction.atomic
def scheme_new_version(*, scheme: AssessmentScheme, actor=None) -> AssessmentScheme:
    """"Editing" a published scheme: a draft copy (tree, tiers, thresholds) with the next
    version number that supersedes it. Publishing the draft retires this version."""
    if actor is not None:
        access_manage_region(actor, scheme.region)
    scheme = AssessmentScheme.objects.select_for_update().get(pk=scheme.pk)
    if scheme.status != AssessmentScheme.Status.PUBLISHED:
        raise Conflict(_("Only a published scheme gets a new version; edit the draft itself."),
                       code="scheme_not_published")
    successor = AssessmentScheme.objects.filter(supersedes=scheme).first()
    if successor is not None:
        raise Conflict(_("Version %(v)d already replaces this scheme (%(status)s); edit that one.")
                       % {"v": successor.version, "status": successor.get_status_display()},
                       code="scheme_has_successor")
    if scheme_has_final_run(scheme):
        raise Conflict(_("This scheme's period is finalized and frozen; it cannot get a new version."),
                       code="period_frozen")
    doc = scheme_to_document(scheme)
    latest = AssessmentScheme.objects.filter(region=scheme.region, code=scheme.code).aggregate(
        v=Max("version"))["v"]
    draft = AssessmentScheme(region=scheme.region, code=scheme.code, version=latest + 1, supersedes=scheme,
                             status=AssessmentScheme.Status.DRAFT)
    parsed = parse_scheme_document(doc)
    _region, tiers, kinds = _resolve(parsed)
    return _apply_document(draft, parsed, tiers, kinds)


# --- runs ------------------------------------------------------------------------------------

def _region_within(region: Region, scheme_region: Region) -> bool:
    return region.pk == scheme_region.pk or region.parent_id == scheme_region.pk


def assessment_run_compute(*, scheme: AssessmentScheme, region: Region | None = None,
                           actor=None, materialize: bool = True) -> AssessmentRun:
    """Computes a run of a published scheme for ``region`` (the scheme's region, or a county of
    a city scheme), set-based: a constant number of SQL statements whatever the number of
    teachers. The run stores the scheme version and the ledger digest it was computed at; the
    same ledger and scheme give the same results. On PostgreSQL the digest and the aggregates
    read one snapshot (REPEATABLE READ) when the call starts its own transaction.

    The run holds every teacher's result (points, grade, duties, consequences) when this
    returns. Its drill-down rows (IndicatorScore) are written after commit by a Celery task
    (``materialize`` False: not enqueued); until then ``selectors.result_scores`` derives them.

    Refused: a scheme that is not published, a region outside the scheme's, an actor whose scope
    does not hold the region, and a scheme whose period is finalized (frozen).
    """
    region = region or scheme.region
    if actor is not None:
        access_manage_region(actor, region)
    if not _region_within(region, scheme.region):
        raise ServiceError(_("%(region)s is not within the scheme's region %(scheme_region)s.")
                           % {"region": region, "scheme_region": scheme.region},
                           code="region_outside_scheme",
                           fields={"region": [_("Not in the scheme's region.")]})
    outermost = not connection.in_atomic_block
    started = timezone.now()
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        scheme = AssessmentScheme.objects.select_related("region").get(pk=scheme.pk)
        if scheme.status != AssessmentScheme.Status.PUBLISHED:
            raise Conflict(_("Only a published scheme can be computed; this one is %(status)s.")
                           % {"status": scheme.get_status_display()}, code="scheme_not_published")
        if scheme_has_final_run(scheme):
            raise Conflict(_("This period is finalized and frozen: its final run never changes."),
                           code="period_frozen")
        plan = engine.plan_for(scheme)
        digest = ledger_digest()
        run = AssessmentRun.objects.create(scheme=scheme, region=region, ledger_digest=digest,
                                           computed_by=actor if actor is not None and actor.is_authenticated
                                           else None)
        # computed_at is the snapshot time: the run counts the events recorded before it.
        run.computed_at = started
        run.teacher_count = engine.compute(run, plan)
        run.save(update_fields=["teacher_count", "computed_at"])
        if materialize:
            _enqueue_materialize(run)
        return run


def _late_events_exist(run: AssessmentRun) -> bool:
    start, end = engine.periods.period_bounds(run.scheme.period_start, run.scheme.period_end)
    return ServiceEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end,
        recorded_at__gte=run.computed_at,
        teacher_id__in=run.results.values("teacher_id"),
    ).exists()


@transaction.atomic
def assessment_run_finalize(*, run: AssessmentRun, actor) -> AssessmentRun:
    """Makes ``run`` the final snapshot of its scheme's period: status final, other computed
    runs of the scheme superseded, incentive outcomes created, and its drill-down rows
    (IndicatorScore) written after commit by a Celery task when they are not yet (derived until
    then: the same numbers). From then on the period is frozen (``selectors.period_is_frozen``)
    and no run of the scheme is computed again.

    Refused: an actor whose scope does not hold the scheme's region (teachers and school
    administrators never finalize), a run over part of the region, a run that is not the
    scheme's current computation, and a run that does not hold all the period's service:
    events recorded for the period since its snapshot, or results a recomputation from the
    ledger does not reproduce (compute again, then finalize)."""
    scheme = AssessmentScheme.objects.select_for_update().select_related("region").get(pk=run.scheme_id)
    if actor is None or not actor.is_authenticated:
        raise Forbidden(_("Only an administrator finalizes an assessment."))
    access_manage_region(actor, scheme.region)
    run = AssessmentRun.objects.select_for_update().get(pk=run.pk)
    if run.status == AssessmentRun.Status.FINAL:
        raise Conflict(_("This run is already final."), code="run_final")
    if scheme_has_final_run(scheme):
        raise Conflict(_("Another run of this scheme is already final; the period is frozen."),
                       code="period_frozen")
    if run.status != AssessmentRun.Status.COMPUTED or scheme.status != AssessmentScheme.Status.PUBLISHED:
        raise Conflict(_("This run was computed with a scheme version that has been replaced; "
                         "compute again with the published version."), code="run_superseded")
    if run.region_id != scheme.region_id:
        raise Conflict(_("Finalize a run over the scheme's whole region (%(region)s).")
                       % {"region": scheme.region}, code="run_partial_region")
    if _late_events_exist(run):
        raise Conflict(_("Service in this period was recorded after the run was computed; compute "
                         "again and finalize the new run."), code="run_stale")
    if engine.verify(run, engine.plan_for(scheme)):  # a recording in flight at the snapshot, seen since
        raise Conflict(_("The ledger this run was computed from changed while it was computed; compute "
                         "again and finalize the new run."), code="run_stale")
    scheme.runs.filter(status=AssessmentRun.Status.COMPUTED).exclude(pk=run.pk).update(
        status=AssessmentRun.Status.SUPERSEDED)
    run.status = AssessmentRun.Status.FINAL
    run.finalized_at = timezone.now()
    run.finalized_by = actor
    try:
        with transaction.atomic():
            run.save(update_fields=["status", "finalized_at", "finalized_by"])
    except IntegrityError as exc:  # a concurrent finalization won (one_final_run_per_scheme)
        raise Conflict(_("Another run of this scheme is already final; the period is frozen."),
                       code="period_frozen") from exc
    incentive_outcomes_create(run=run)
    _enqueue_materialize(run)
    return run


def _enqueue_materialize(run: AssessmentRun) -> None:
    from service_records.assessment.tasks import assessment_run_materialize_task

    transaction.on_commit(lambda: assessment_run_materialize_task.delay(run.pk))


def _materialize(run: AssessmentRun, plan) -> int:
    if IndicatorScore.objects.filter(result__run=run).exists():
        return 0
    return engine.materialize(run, plan)


@transaction.atomic
def assessment_run_materialize(*, run: AssessmentRun, actor=None) -> int:
    """Writes the drill-down rows (IndicatorScore) of every result of ``run``, derived from the
    ledger as recorded before the run's snapshot time, so they match its results exactly. A
    Celery task does it after a run is computed or finalized; call it to be sure they are there
    (before exporting a whole run, say). Idempotent; returns the rows written."""
    if actor is not None:
        access_manage_region(actor, run.region)
    run = AssessmentRun.objects.select_for_update().select_related("scheme", "region").get(pk=run.pk)
    return _materialize(run, engine.plan_for(run.scheme))


# --- incentives ------------------------------------------------------------------------------

ROLE_OF_MEMBERSHIP = {"host": IncentiveRule.Role.STUDIO_HOST, "member": IncentiveRule.Role.STUDIO_MEMBER,
                      "trainee": IncentiveRule.Role.STUDIO_TRAINEE}


def _explain(run: AssessmentRun, result: dict, rule: IncentiveRule, studio_name: str, amount) -> str:
    grade_label = Grade(result["grade"]).label
    parts = [_("Grade %(grade)s in %(scheme)s v%(version)d (run #%(run)d, ledger %(digest)s): "
               "%(points)s points") % {"grade": grade_label, "scheme": run.scheme.name,
                                       "version": run.scheme.version, "run": run.pk,
                                       "digest": run.ledger_digest[:12], "points": result["points"]}]
    if result["grade_by_points"] != result["grade"]:
        parts.append(_("%(by_points)s by points, one level lower for the missed duties %(codes)s")
                     % {"by_points": Grade(result["grade_by_points"]).label,
                        "codes": ", ".join(result["missed_duties"])})
    elif result["missed_duties"]:
        parts.append(_("missed duties %(codes)s") % {"codes": ", ".join(result["missed_duties"])})
    if not result["awards_eligible"]:
        parts.append(_("no awards this year (seed 004 art. 10)"))
    grades = "/".join(str(Grade(g).label) for g in rule.grades) or "—"
    role = IncentiveRule.Role(rule.role).label
    where = (_(" as %(role)s of %(studio)s") % {"role": role, "studio": studio_name}) if studio_name else ""
    parts.append(_("rule %(code)s \"%(name)s\" (%(role)s; grades %(grades)s; %(stipend)s CNY)%(where)s → "
                   "%(amount)s CNY") % {"code": rule.code, "name": rule.name, "role": role, "grades": grades,
                                        "stipend": rule.stipend, "where": where, "amount": amount})
    return "; ".join(str(p) for p in parts) + "."


def incentive_outcomes_create(*, run: AssessmentRun, actor=None) -> int:
    """Turns a final run into incentive outcomes, one per (teacher, applicable rule, studio):
    a studio-role rule for each studio role the teacher held during the period (from the
    studios' memberships), an "any teacher" rule once; only when the teacher's grade is among
    the rule's grades. Amounts are Decimal; each row explains the result and rule behind it.
    Idempotent: outcomes that exist are kept, missing ones (rules added later) are created.
    Three queries and bulk inserts, whatever the number of teachers."""
    if actor is not None:
        access_manage_region(actor, run.scheme.region)
    if run.status != AssessmentRun.Status.FINAL:
        raise Conflict(_("Incentives follow only from a final run."), code="run_not_final")
    scheme = run.scheme
    rules = rules_for_run(run)
    if not rules:
        return 0
    studio_rules = [r for r in rules if r.role != IncentiveRule.Role.ANY_TEACHER]
    roles: dict[int, list[tuple]] = {}
    if studio_rules:
        held = studio_roles_during(teacher_ids=run.results.values("teacher_id"), start=scheme.period_start,
                                   end=scheme.period_end)
        for teacher_id, role, _studio_id, studio_name in held:
            roles.setdefault(teacher_id, []).append((ROLE_OF_MEMBERSHIP.get(role), studio_name))
    before = run.incentives.count()
    batch: list[IncentiveOutcome] = []
    results = run.results.values("pk", "teacher_id", "points", "grade", "grade_by_points", "missed_duties",
                                 "awards_eligible").order_by("pk")
    with transaction.atomic():
        for result in results.iterator(chunk_size=5000):
            for rule in rules:
                if result["grade"] not in rule.grades:
                    continue
                if rule.role == IncentiveRule.Role.ANY_TEACHER:
                    studios = [""]
                else:
                    held_roles = roles.get(result["teacher_id"], [])
                    studios = [name for role, name in held_roles if role == rule.role]
                for studio_name in studios:
                    amount = Decimal(rule.stipend).quantize(Decimal("0.01"))
                    batch.append(IncentiveOutcome(
                        run=run, result_id=result["pk"], rule=rule, teacher_id=result["teacher_id"],
                        studio_name=studio_name[:128], grade=result["grade"], amount=amount,
                        awards_eligible=rule.awards_eligible and result["awards_eligible"],
                        title_review_eligible=rule.title_review_eligible,
                        explanation=_explain(run, result, rule, studio_name, amount)))
            if len(batch) >= 5000:
                IncentiveOutcome.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        if batch:
            IncentiveOutcome.objects.bulk_create(batch, ignore_conflicts=True)
    return run.incentives.count() - before


def incentive_rules_seed(*, region: Region, rules: list[dict]) -> int:
    """Creates the given rules of ``region`` that do not exist (by code and valid_from)."""
    made = 0
    for spec in rules:
        _rule, was_created = IncentiveRule.objects.get_or_create(
            region=region, code=spec["code"], valid_from=spec["valid_from"],
            defaults={k: v for k, v in spec.items() if k not in {"code", "valid_from"}})
        made += was_created
    return made


"""Writes of the review: disputes, flags, their resolution, and the daily usage figures.

Every resolution that changes the record does so through the ledger (``service_event_record`` /
``service_event_correct``) with an idempotency key derived from the dispute or flag, inside the
same transaction as the resolution: resolving twice records once, and a failed resolution
records nothing. The dispute and flag models keep their history (simple-history: who, when,
before and after) besides the resolution fields.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict, NotFound, ServiceError
from regions.models import Region
from service_records.models import DailyUsage, EventFlag, ServiceDispute, ServiceEvent, ServiceEventKind
from service_records.review import usage
from service_records.review.selectors import access_resolve, event_net_quantity, period_frozen_for
from service_records.services import service_event_correct, service_event_record

TWO_PLACES = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_OPEN_DISPUTES = 50


class Decision:
    ACCEPT = "accept"
    REJECT = "reject"
    CLEAR = "clear"
    CORRECT = "correct"


def _refuse_frozen(*, teacher_id: int, when) -> None:
    if period_frozen_for(teacher_id=teacher_id, when=when):
        raise Conflict(
            _("The assessment period of %(day)s is finalized; its record can no longer change.")
            % {"day": timezone.localtime(when).date().isoformat()},
            code="period_frozen",
        )


def _audited(instance, actor):
    # simple-history takes the user from the request when there is one; services also run
    # from commands and tasks, so name the actor explicitly.
    instance._history_user = actor
    return instance


# --- disputes -------------------------------------------------------------------------------

def dispute_open(
    *, teacher, type: str, description: str, event_id: int | None = None, kind: str | None = None,
    occurred_at: datetime.datetime | None = None, quantity: Decimal | None = None,
    evidence_url: str = "",
) -> ServiceDispute:
    """A teacher disputes one of their own events ("wrong") or reports one that is missing.

    Guarantees: only the teacher's own events can be disputed (another teacher's is NotFound);
    one open dispute per event; nothing is disputed in a finalized period; a missing event
    names an active kind, a past time and a positive quantity.
    """
    description = (description or "").strip()
    if not description:
        raise ServiceError(_("Say what is wrong or missing."), code="description_required",
                           fields={"description": [_("This field is required.")]})
    with transaction.atomic():
        open_count = ServiceDispute.objects.filter(teacher=teacher, status=ServiceDispute.Status.OPEN).count()
        if open_count >= MAX_OPEN_DISPUTES:
            raise Conflict(_("You have %(n)s open disputes; wait until some are resolved.")
                           % {"n": open_count}, code="too_many_open_disputes")
        dispute = ServiceDispute(teacher=teacher, type=type, description=description,
                                 evidence_url=evidence_url or "")
        if type == ServiceDispute.Type.WRONG:
            own = ServiceEvent.objects.select_for_update().filter(teacher_id=teacher.pk)
            event = own.filter(pk=event_id).first() if event_id else None
            if event is None:
                raise NotFound(_("No such event in your record."), code="event_not_found")
            if ServiceDispute.objects.filter(event=event, status=ServiceDispute.Status.OPEN).exists():
                raise Conflict(_("This event is already disputed; wait for the answer."),
                               code="already_disputed")
            _refuse_frozen(teacher_id=teacher.pk, when=event.occurred_at)
            dispute.event = event
        elif type == ServiceDispute.Type.MISSING:
            fields = {}
            kind_obj = ServiceEventKind.objects.filter(code=kind, is_active=True).first() if kind else None
            if kind_obj is None:
                fields["kind"] = [_("Choose the kind of service that is missing.")]
            if occurred_at is None:
                fields["occurred_at"] = [_("Say when it happened.")]
            elif timezone.is_naive(occurred_at):
                fields["occurred_at"] = [_("Give the time with its time zone.")]
            elif occurred_at > timezone.now():
                fields["occurred_at"] = [_("Service cannot be reported before it happened.")]
            if quantity is None or quantity <= 0:
                fields["quantity"] = [_("Give a quantity above zero.")]
            if fields:
                raise ServiceError(_("The missing event is not fully described."),
                                   code="missing_event_incomplete", fields=fields)
            _refuse_frozen(teacher_id=teacher.pk, when=occurred_at)
            dispute.kind = kind_obj
            dispute.occurred_at = occurred_at
            dispute.quantity = Decimal(quantity).quantize(TWO_PLACES)
        else:
            raise ServiceError(_("Unknown dispute type."), code="invalid",
                               fields={"type": [_("Choose wrong or missing.")]})
        _audited(dispute, teacher).save()
    return dispute


def dispute_resolve(
    *, dispute_id: int, actor, decision: str, note: str = "", quantity: Decimal | None = None,
) -> ServiceDispute:
    """An administrator whose scope holds the teacher's school accepts or rejects a dispute.

    Accepting a "wrong" dispute records a compensating event that brings the event's net
    quantity to ``quantity`` (default 0: it did not happen); accepting a "missing" one records
    the missing event (``quantity`` overrides the teacher's figure), with the dispute as its
    evidence. Rejecting needs a note. The ledger key is derived from the dispute, so resolving
    twice records once; resolving again with the same decision returns the dispute unchanged,
    with the other decision is a Conflict. Refused in a finalized period.
    """
    note = (note or "").strip()
    if decision not in (Decision.ACCEPT, Decision.REJECT):
        raise ServiceError(_("Decide accept or reject."),
                           fields={"decision": [_("Choose accept or reject.")]})
    if decision == Decision.REJECT and not note:
        raise ServiceError(_("Say why the dispute is rejected."), code="note_required",
                           fields={"note": [_("This field is required.")]})
    with transaction.atomic():
        dispute = (ServiceDispute.objects.select_for_update(of=("self",)).select_related("event", "kind")
                   .filter(pk=dispute_id).first())
        if dispute is None:
            raise NotFound(_("No such dispute."))
        access_resolve(actor, dispute.teacher_id)
        wanted = (ServiceDispute.Status.ACCEPTED if decision == Decision.ACCEPT
                  else ServiceDispute.Status.REJECTED)
        if dispute.status != ServiceDispute.Status.OPEN:
            if dispute.status == wanted:
                return dispute
            raise Conflict(_("This dispute was already %(status)s.")
                           % {"status": dispute.get_status_display()}, code="already_resolved")
        when = dispute.event.occurred_at if dispute.event_id else dispute.occurred_at
        _refuse_frozen(teacher_id=dispute.teacher_id, when=when)
        if decision == Decision.ACCEPT:
            dispute.compensating_event = _record_accepted_dispute(dispute, actor=actor, note=note,
                                                                  quantity=quantity)
        dispute.status = wanted
        dispute.resolved_at = timezone.now()
        dispute.resolved_by = actor
        dispute.resolution_note = note
        _audited(dispute, actor).save()
    return dispute


def _record_accepted_dispute(dispute: ServiceDispute, *, actor, note: str, quantity) -> ServiceEvent:
    key = f"review:dispute:{dispute.pk}:accept"
    reason = note or _("Dispute %(id)s accepted.") % {"id": dispute.pk}
    if dispute.type == ServiceDispute.Type.WRONG:
        return _correct_to(dispute.event, actor=actor, key=key, reason=reason, quantity=quantity)
    amount = dispute.quantity if quantity is None else Decimal(quantity).quantize(TWO_PLACES)
    if amount <= 0:
        raise ServiceError(_("An accepted missing event needs a quantity above zero."),
                           code="invalid_quantity", fields={"quantity": [_("Give a quantity above zero.")]})
    return service_event_record(
        teacher_id=dispute.teacher_id, kind=dispute.kind, idempotency_key=key,
        occurred_at=dispute.occurred_at, quantity=amount, source=dispute,
        recorded_by_id=actor.pk, reason=reason,
    ).event


def _correct_to(event: ServiceEvent, *, actor, key: str, reason: str, quantity) -> ServiceEvent:
    """A compensating event that brings ``event``'s net quantity to ``quantity`` (default 0)."""
    target = ZERO if quantity is None else Decimal(quantity).quantize(TWO_PLACES)
    if target < 0:
        raise ServiceError(_("The corrected quantity cannot be below zero."), code="invalid_quantity",
                           fields={"quantity": [_("Give zero or more.")]})
    existing = ServiceEvent.objects.filter(idempotency_key=key).first()
    if existing is not None:  # recorded by an earlier attempt of this very resolution
        return existing
    delta = target - event_net_quantity(event)
    if delta == 0:
        raise ServiceError(_("The record already shows %(q)s; there is nothing to correct.") % {"q": target},
                           code="nothing_to_correct",
                           fields={"quantity": [_("Give the quantity it should be.")]})
    return service_event_correct(event=event, actor_id=actor.pk, reason=reason, idempotency_key=key,
                                 quantity=delta).event


# --- flags ----------------------------------------------------------------------------------

def flag_create(*, event: ServiceEvent, actor, reason: str) -> EventFlag:
    """An administrator in scope flags an event for review; one open flag per event."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the event needs review."), code="reason_required",
                           fields={"reason": [_("This field is required.")]})
    with transaction.atomic():
        access_resolve(actor, event.teacher_id)
        ServiceEvent.objects.select_for_update().filter(pk=event.pk).first()
        if EventFlag.objects.filter(event=event, status=EventFlag.Status.OPEN).exists():
            raise Conflict(_("This event is already flagged for review."), code="already_flagged")
        flag = EventFlag(event=event, flagged_by=actor, reason=reason)
        _audited(flag, actor).save()
    return flag


def flag_resolve(*, flag_id: int, actor, decision: str, note: str = "",
                 quantity: Decimal | None = None) -> EventFlag:
    """Clears a flag (the event stands) or corrects the event with a compensating event that
    brings its net quantity to ``quantity`` (default 0). A correction needs a note; the key is
    derived from the flag, so resolving twice records once. Refused in a finalized period."""
    note = (note or "").strip()
    if decision not in (Decision.CLEAR, Decision.CORRECT):
        raise ServiceError(_("Decide clear or correct."),
                           fields={"decision": [_("Choose clear or correct.")]})
    if decision == Decision.CORRECT and not note:
        raise ServiceError(_("Say why the event is corrected."), code="note_required",
                           fields={"note": [_("This field is required.")]})
    with transaction.atomic():
        flag = (EventFlag.objects.select_for_update(of=("self",)).select_related("event")
                .filter(pk=flag_id).first())
        if flag is None:
            raise NotFound(_("No such flag."))
        access_resolve(actor, flag.event.teacher_id)
        wanted = EventFlag.Status.CLEARED if decision == Decision.CLEAR else EventFlag.Status.CORRECTED
        if flag.status != EventFlag.Status.OPEN:
            if flag.status == wanted:
                return flag
            raise Conflict(_("This flag was already %(status)s.") % {"status": flag.get_status_display()},
                           code="already_resolved")
        if decision == Decision.CORRECT:
            _refuse_frozen(teacher_id=flag.event.teacher_id, when=flag.event.occurred_at)
            flag.compensating_event = _correct_to(
                flag.event, actor=actor, key=f"review:flag:{flag.pk}:correct", reason=note, quantity=quantity)
        flag.status = wanted
        flag.resolved_at = timezone.now()
        flag.resolved_by = actor
        flag.resolution_note = note
        _audited(flag, actor).save()
    return flag


# --- daily usage ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Flushed:
    day: datetime.date
    rows: int


def daily_usage_flush(*, day: datetime.date) -> Flushed:
    """Writes the cache counters of ``day`` to ``DailyUsage`` as absolute numbers (an upsert
    per county and role: the same as update_or_create, in one statement). Idempotent: running
    it twice, or again later in the day, leaves the figures the counters hold. Counters the
    cache no longer holds (expired, or the cache was emptied) are left as written before, never
    overwritten with zero."""
    county_ids = list(Region.objects.filter(kind=Region.Kind.COUNTY).values_list("pk", flat=True))
    counted = usage.usage_read(day=day, county_ids=county_ids)
    rows = [DailyUsage(county_id=county_id, day=day, role=role, visits=visits, active_users=active)
            for (county_id, role), (visits, active) in counted.items()]
    if rows:
        DailyUsage.objects.bulk_create(rows, update_conflicts=True, unique_fields=["county", "day", "role"],
                                       update_fields=["visits", "active_users"], batch_size=500)
    return Flushed(day=day, rows=len(rows))

"""Writes on the service ledger. Other apps call these inside their own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict, ServiceError
from service_records.hashing import TWO_PLACES, event_hash
from service_records.models import LedgerHead, ServiceEvent, ServiceEventKind


@dataclass(frozen=True)
class Recorded:
    event: ServiceEvent
    created: bool


def _lock_head(teacher_id: int) -> LedgerHead:
    # INSERT ... ON CONFLICT DO NOTHING, then lock: safe when two transactions start the
    # same teacher's chain at once.
    LedgerHead.objects.bulk_create([LedgerHead(teacher_id=teacher_id)], ignore_conflicts=True)
    return LedgerHead.objects.select_for_update().get(teacher_id=teacher_id)


def _existing(key: str, *, teacher_id: int, kind_id: int) -> ServiceEvent | None:
    event = ServiceEvent.objects.filter(idempotency_key=key).first()
    if event is not None and (event.teacher_id != teacher_id or event.kind_id != kind_id):
        raise Conflict(
            _("The idempotency key %(key)s already records another teacher's or kind's service.")
            % {"key": key},
            code="idempotency_key_reused",
        )
    return event


def service_event_record(
    *,
    teacher_id: int,
    kind: str | ServiceEventKind,
    idempotency_key: str,
    occurred_at: datetime,
    quantity: Decimal | int | str = 1,
    source=None,
    rating: Decimal | None = None,
    accepted: bool | None = None,
    review_outcome: str = "",
    recorded_by_id: int | None = None,
    corrects: ServiceEvent | None = None,
    reason: str = "",
) -> Recorded:
    """Appends one fact to the teacher's chain, exactly once per ``idempotency_key``.

    Call it inside the transaction of the action it records: the fact and the action commit
    or roll back together. Recording a key again returns the stored event (``created`` False),
    also when two transactions race with the same key on PostgreSQL (the unique index makes the
    loser wait, fail inside a savepoint, and read the winner's row). A key reused for another
    teacher or kind is a Conflict.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise ServiceError(_("An idempotency key of 1 to 200 characters is required."),
                           code="idempotency_key_invalid")
    if timezone.is_naive(occurred_at):
        raise ServiceError(_("occurred_at must be timezone-aware."), code="naive_datetime")
    kind_obj = kind if isinstance(kind, ServiceEventKind) else ServiceEventKind.objects.filter(
        code=kind).first()
    if kind_obj is None:
        raise ServiceError(_("Unknown service event kind %(kind)s.") % {"kind": kind},
                           code="unknown_event_kind")
    quantity = Decimal(quantity).quantize(TWO_PLACES)

    with transaction.atomic():
        found = _existing(idempotency_key, teacher_id=teacher_id, kind_id=kind_obj.pk)
        if found is not None:
            return Recorded(found, False)
        head = _lock_head(teacher_id)
        found = _existing(idempotency_key, teacher_id=teacher_id, kind_id=kind_obj.pk)
        if found is not None:  # committed by a transaction we waited for on the head lock
            return Recorded(found, False)
        event = ServiceEvent(
            teacher_id=teacher_id,
            sequence=head.sequence + 1,
            kind=kind_obj,
            source_type=ContentType.objects.get_for_model(source) if source is not None else None,
            source_id=str(source.pk) if source is not None else "",
            occurred_at=occurred_at,
            quantity=quantity,
            rating=rating,
            accepted=accepted,
            review_outcome=review_outcome,
            idempotency_key=idempotency_key,
            recorded_at=timezone.now(),
            recorded_by_id=recorded_by_id,
            corrects=corrects,
            reason=reason,
            prev_hash=head.last_hash,
        )
        event.hash = event_hash(event)
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            found = _existing(idempotency_key, teacher_id=teacher_id, kind_id=kind_obj.pk)
            if found is None:
                raise
            return Recorded(found, False)
        LedgerHead.objects.filter(pk=head.pk).update(sequence=event.sequence, last_hash=event.hash)
        return Recorded(event, True)


def service_event_correct(
    *, event: ServiceEvent, actor_id: int, reason: str, idempotency_key: str,
    quantity: Decimal | None = None,
) -> Recorded:
    """Records a compensating event for ``event``: by default it cancels the event's quantity
    (quantity = −original); with ``quantity`` it adds that amount instead (e.g. a missing
    event reported by the teacher and accepted). Who and why are part of the hashed content."""
    if not reason or not reason.strip():
        raise ServiceError(_("A correction needs a reason."), code="reason_required",
                           fields={"reason": [_("Say why the record is corrected.")]})
    return service_event_record(
        teacher_id=event.teacher_id,
        kind=event.kind,
        idempotency_key=idempotency_key,
        occurred_at=event.occurred_at,
        quantity=-event.quantity if quantity is None else quantity,
        source=event.source if event.source_type_id else None,
        recorded_by_id=actor_id,
        corrects=event,
        reason=reason.strip(),
    )

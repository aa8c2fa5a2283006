"""Reads of the service ledger: verification, digests, totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from service_records.hashing import TWO_PLACES, event_hash, heads_digest
from service_records.models import GENESIS_HASH, LedgerHead, ServiceEvent


@dataclass(frozen=True)
class BrokenLink:
    teacher_id: int
    sequence: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id else "chain head"
        return f"teacher {self.teacher_id}, link {self.sequence} ({where}): {self.problem}"


def ledger_verify(*, teacher_ids: list[int] | None = None) -> BrokenLink | None:
    """Walks every chain (streamed) and returns the first broken link, or None if intact."""
    heads = LedgerHead.objects.all()
    events = ServiceEvent.objects.order_by("teacher_id", "sequence")
    if teacher_ids is not None:
        heads = heads.filter(teacher_id__in=teacher_ids)
        events = events.filter(teacher_id__in=teacher_ids)
    head_of = {h.teacher_id: (h.sequence, h.last_hash) for h in heads}

    current, expected_seq, expected_prev = None, 0, GENESIS_HASH

    def close_chain(teacher_id):
        head = head_of.pop(teacher_id, None)
        if head != (expected_seq, expected_prev):
            return BrokenLink(teacher_id, expected_seq, None,
                              "the chain head does not match the last event (events removed?)")
        return None

    for event in events.iterator(chunk_size=5000):
        if event.teacher_id != current:
            if current is not None and (broken := close_chain(current)):
                return broken
            current, expected_seq, expected_prev = event.teacher_id, 0, GENESIS_HASH
        if event.sequence != expected_seq + 1:
            return BrokenLink(current, expected_seq + 1, event.pk,
                              f"link {expected_seq + 1} is missing (found {event.sequence})")
        if event.prev_hash != expected_prev:
            return BrokenLink(current, event.sequence, event.pk,
                              "previous hash does not match the preceding event")
        if event_hash(event) != event.hash:
            return BrokenLink(current, event.sequence, event.pk,
                              "content does not match its hash (the row was edited)")
        expected_seq, expected_prev = event.sequence, event.hash
    if current is not None and (broken := close_chain(current)):
        return broken
    for teacher_id, (sequence, _last) in head_of.items():
        if sequence:
            return BrokenLink(teacher_id, 1, None, "the chain head names events that are gone")
    return None


def ledger_digest() -> str:
    """One hash of the whole ledger as it stands (every chain's head), for assessments."""
    return heads_digest(
        LedgerHead.objects.order_by("teacher_id").values_list("teacher_id", "sequence", "last_hash")
        .iterator(chunk_size=10000)
    )


def service_total(*, teacher_id: int, kind_code: str | None = None) -> Decimal:
    """Sum of the teacher's quantities, exact to the cent. (SQLite sums decimals as floats;
    quantizing the sum to the stored two places gives the exact total back.)"""
    qs = ServiceEvent.objects.filter(teacher_id=teacher_id)
    if kind_code:
        qs = qs.filter(kind__code=kind_code)
    total = qs.aggregate(total=Sum("quantity"))["total"] or 0
    return Decimal(total).quantize(TWO_PLACES)

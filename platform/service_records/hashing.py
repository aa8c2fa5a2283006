"""The canonical content of a service event and its chained hash.

The hash covers every field that gives the event its meaning, in a fixed JSON form
(sorted keys, UTC timestamps with microseconds, decimals with two places), plus the
previous hash of the teacher's chain. Change any of them and verification fails.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

TWO_PLACES = Decimal("0.01")


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(TWO_PLACES))


def canonical_content(event) -> dict:
    return {
        "teacher": event.teacher_id,
        "sequence": event.sequence,
        "kind": event.kind_id,
        "source_type": event.source_type_id,
        "source_id": event.source_id or "",
        "occurred_at": _ts(event.occurred_at),
        "quantity": _dec(event.quantity),
        "rating": _dec(event.rating),
        "accepted": event.accepted,
        "review_outcome": event.review_outcome or "",
        "idempotency_key": event.idempotency_key,
        "recorded_at": _ts(event.recorded_at),
        "recorded_by": event.recorded_by_id,
        "corrects": event.corrects_id,
        "reason": event.reason or "",
        "prev_hash": event.prev_hash,
    }


def event_hash(event) -> str:
    payload = json.dumps(canonical_content(event), sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def heads_digest(heads) -> str:
    """One hash over (teacher, sequence, last hash) of every chain, in teacher order."""
    digest = hashlib.sha256()
    for teacher_id, sequence, last_hash in heads:
        digest.update(f"{teacher_id}:{sequence}:{last_hash};".encode())
    return digest.hexdigest()

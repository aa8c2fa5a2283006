"""Writes on notifications."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification

_BATCH = 2000


def notify(*, recipient_ids: Iterable[int], kind: str, title: str, body: str = "", link: str = "",
           dedupe_key: str = "") -> int:
    """Creates one notification per distinct recipient, in bulk; returns how many were offered
    (the databases do not report the rows a dedupe conflict skipped, so this is an upper bound).

    With a ``dedupe_key``, a recipient who already has a notification with that key gets no
    second one (reminders sent by a retried task, a report returned twice, ...). Call it inside
    the transaction of the action it tells about."""
    written = 0
    batch: list[Notification] = []
    for recipient_id in dict.fromkeys(recipient_ids):
        batch.append(Notification(recipient_id=recipient_id, kind=kind, title=title[:200], body=body,
                                  link=link[:500], dedupe_key=dedupe_key[:200]))
        if len(batch) >= _BATCH:
            written += _write(batch)
            batch = []
    if batch:
        written += _write(batch)
    return written


def _write(batch: list[Notification]) -> int:
    with transaction.atomic():
        created = Notification.objects.bulk_create(batch, ignore_conflicts=True)
    return len(created)


def notification_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Marks the user's notifications read (all unread ones when ``ids`` is None)."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())

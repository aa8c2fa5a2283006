"""Periodic tasks of the review (run by Celery beat, see settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from service_records.review.services import daily_usage_flush


@shared_task(name="service_records.review.flush_daily_usage", ignore_result=True)
def flush_daily_usage(day: str | None = None) -> int:
    """Copies the cached visit counters to ``DailyUsage``: today and yesterday (so the last
    minutes before midnight are written after it), or the ISO ``day`` given. Idempotent: it
    writes absolute numbers, so running it twice or late changes nothing. Returns rows written."""
    if day:
        days = [datetime.date.fromisoformat(day)]
    else:
        today = timezone.localdate()
        days = [today - datetime.timedelta(days=1), today]
    return sum(daily_usage_flush(day=d).rows for d in days)

"""Celery tasks of courses. Idempotent: safe to run twice, also at the same time."""

from celery import shared_task

from courses.services import lecture_reminders_send


@shared_task(name="courses.lecture_reminders_send")
def lecture_reminders_send_task() -> int:
    """Run by beat every two minutes (settings.CELERY_BEAT_SCHEDULE)."""
    return lecture_reminders_send()

"""Celery tasks of common."""

from celery import shared_task


@shared_task(name="common.ping")
def ping() -> str:
    """Answers "pong": proves a worker (or the eager in-process runner) executes tasks."""
    return "pong"

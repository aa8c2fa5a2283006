"""Celery tasks of service_records, found by ``app.autodiscover_tasks()``. The parts' own task
modules are imported here so a worker registers them: ``config.celery`` also lists
``service_records.review`` and ``service_records.assessment``; the exports part is listed here."""

from service_records.exports.tasks import export_job_purge_task, export_job_run_task

__all__ = ["export_job_purge_task", "export_job_run_task"]

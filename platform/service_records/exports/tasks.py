"""Celery tasks of the exports part. Tasks take ids and are safe to run twice."""

from celery import shared_task


@shared_task(name="service_records.export_job_run", ignore_result=True)
def export_job_run_task(job_id: int) -> None:
    """Builds the file of an export job (``services.export_job_run``)."""
    from service_records.exports.services import export_job_run

    export_job_run(job_id=job_id)


@shared_task(name="service_records.export_job_purge", ignore_result=True)
def export_job_purge_task() -> int:
    """Deletes export files older than ``services.EXPORT_FILE_TTL`` (schedule it daily)."""
    from service_records.exports.services import export_job_purge

    return export_job_purge()

"""Celery tasks of accounts. Tasks take ids and are safe to run twice."""

from celery import shared_task


@shared_task(name="accounts.import_job_run", ignore_result=True)
def import_job_run_task(job_id: int) -> None:
    """Runs an onboarding import job (accounts.imports.services.import_job_run)."""
    from accounts.imports.services import import_job_run

    import_job_run(job_id=job_id)


@shared_task(name="accounts.import_credentials_purge", ignore_result=True)
def import_credentials_purge_task() -> int:
    """Deletes initial-password files nobody downloaded in time (run daily from beat)."""
    from accounts.imports.services import import_credentials_purge

    return import_credentials_purge()

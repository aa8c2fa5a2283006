"""Celery tasks of assessment. Tasks take ids and are safe to run twice."""

from celery import shared_task


@shared_task(name="service_records.assessment_run_materialize", ignore_result=True)
def assessment_run_materialize_task(run_id: int) -> int:
    """Writes the drill-down rows of a computed run (services.assessment_run_materialize)."""
    from service_records.assessment.services import assessment_run_materialize
    from service_records.models import AssessmentRun

    run = AssessmentRun.objects.filter(pk=run_id).first()
    return 0 if run is None else assessment_run_materialize(run=run)

"""Writes of the exports part: issuing service certificates; export jobs (a file built by a
Celery task for a download that would outlast one HTTP request)."""

from __future__ import annotations

import datetime
import logging
import tempfile

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework import status

from common.errors import Conflict, NotFound, ServiceError
from service_records.exports import selectors
from service_records.exports.writers import csv_stream, xlsx_stream
from service_records.models import GENESIS_HASH, ExportJob, LedgerHead, ServiceCertificate
from service_records.models.exports import export_file_path

logger = logging.getLogger(__name__)

MAX_PERIOD_DAYS = 4 * 366  # a studio cycle is two or three years
CODE_ATTEMPTS = 5


def _default_label(start: datetime.date, end: datetime.date) -> str:
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return str(start.year)
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _check_period(start: datetime.date, end: datetime.date, label: str) -> None:
    for name, day in (("period_start", start), ("period_end", end)):
        if not selectors.EARLIEST_DAY <= day <= selectors.LATEST_DAY:
            raise ServiceError(_("The period lies outside the years the platform keeps records for."),
                               code="invalid", fields={name: [_("Must lie between %(first)s and %(last)s.")
                                                              % {"first": selectors.EARLIEST_DAY,
                                                                 "last": selectors.LATEST_DAY}]})
    if end < start:
        raise ServiceError(_("The period ends before it starts."), code="invalid",
                           fields={"period_end": [_("Must not be before the period start.")]})
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ServiceError(_("A certificate covers at most four years."), code="invalid",
                           fields={"period_end": [_("Choose a period of at most four years.")]})
    if start > timezone.localdate():
        raise ServiceError(_("The period has not started yet."), code="invalid",
                           fields={"period_start": [_("Must not be in the future.")]})
    if len(label) > ServiceCertificate._meta.get_field("period_label").max_length:
        raise ServiceError(_("The period label is too long."), code="invalid",
                           fields={"period_label": [_("At most 32 characters.")]})


@transaction.atomic
def certificate_issue(*, actor, teacher_id: int, period_start: datetime.date, period_end: datetime.date,
                      period_label: str = "") -> ServiceCertificate:
    """Issues a service certificate (服务证明) of a teacher for a period of local days.

    Allowed to the teacher themself and to administrators whose scope holds the teacher's
    school. The certificate records the teacher's chain head at issue (position and hash) and
    the totals by kind of the period's events up to that position, with a random 12-character
    verification code. Anyone can later check it against the ledger
    (``selectors.certificate_verify``); events recorded afterwards never change what it states.
    If a final assessment run covers exactly this period, the teacher's result is attached.
    """
    teacher = selectors.teacher_for_certificate(teacher_id)
    selectors.access_issue_certificate(actor, teacher)
    label = (period_label or "").strip() or _default_label(period_start, period_end)
    _check_period(period_start, period_end, label)
    # The head names the last committed link; events appended while we read have a higher
    # position and are left out of the totals, so position, hash and totals agree.
    sequence, last_hash = LedgerHead.objects.filter(teacher_id=teacher.user_id).values_list(
        "sequence", "last_hash").first() or (0, GENESIS_HASH)
    totals = selectors.ledger_totals(teacher_id=teacher.user_id, start=period_start, end=period_end,
                                     through_sequence=sequence)
    result = selectors.final_result_for_period(teacher_id=teacher.user_id, start=period_start, end=period_end)
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return ServiceCertificate.objects.create(
                    code=selectors.certificate_code_new(), teacher_id=teacher.user_id, period_label=label,
                    period_start=period_start, period_end=period_end, result=result,
                    chain_sequence=sequence, chain_hash=last_hash, totals=totals,
                    issued_by=actor if actor.is_authenticated else None,
                )
        except IntegrityError:  # a code collision (60 random bits): draw again
            continue
    raise Conflict(_("Could not draw a unique verification code; please try again."), code="code_collision")


# --- export jobs ----------------------------------------------------------------------------

EXPORT_FILE_TTL = datetime.timedelta(days=3)
# A job still "running" after this was lost with its worker (killed, restarted): run it again.
EXPORT_STALE_AFTER = datetime.timedelta(hours=2)
MAX_ACTIVE_EXPORTS = 3


class ExportGone(ServiceError):
    status_code = status.HTTP_410_GONE
    default_code = "export_expired"


def _params_json(params: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime.date) else value
            for key, value in params.items() if value is not None}


def export_job_create(*, actor, fmt: str, params: dict) -> ExportJob:
    """Queues an evidence export (``params``: ``occurred_from``, ``occurred_to`` and the
    optional ``county``, ``school``, ``tier``, ``kind`` of the streamed export) for ``actor``,
    an administrator; a Celery task builds the file after commit. At most
    ``MAX_ACTIVE_EXPORTS`` of one administrator's jobs wait or run at once (409)."""
    selectors.access_export(actor)
    if fmt not in ExportJob.Format.values:
        raise ServiceError(_("Choose csv or xlsx."), fields={"format": [_("Choose csv or xlsx.")]})
    with transaction.atomic():
        active = ExportJob.objects.filter(requested_by=actor, status__in=[ExportJob.Status.PENDING,
                                                                          ExportJob.Status.RUNNING]).count()
        if active >= MAX_ACTIVE_EXPORTS:  # a guard against repeated clicks, not a lock
            raise Conflict(_("You have %(n)s exports waiting or running; wait until they finish.")
                           % {"n": active}, code="too_many_exports")
        job = ExportJob.objects.create(kind=ExportJob.Kind.EVIDENCE, format=fmt, params=_params_json(params),
                                       requested_by=actor, language=translation.get_language() or "")
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from service_records.exports.tasks import export_job_run_task

    export_job_run_task.delay(job_id)


def _claim(job_id: int) -> bool:
    now = timezone.now()
    return bool(ExportJob.objects.filter(pk=job_id).filter(
        Q(status=ExportJob.Status.PENDING)
        | Q(status=ExportJob.Status.RUNNING, started_at__lt=now - EXPORT_STALE_AFTER),
    ).update(status=ExportJob.Status.RUNNING, started_at=now))


def _job_table(job: ExportJob) -> selectors.Table:
    params = dict(job.params)
    start = datetime.date.fromisoformat(params.pop("occurred_from"))
    end = datetime.date.fromisoformat(params.pop("occurred_to"))
    return selectors.evidence_table(user=job.requested_by, start=start, end=end, **params)


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Builds a pending job's file once (safe to run twice: a job finished or running is left
    alone; one stuck "running" past ``EXPORT_STALE_AFTER`` is run again). The rows are read
    as the streamed download reads them (a server-side cursor in one transaction, one
    snapshot) and written through a temporary file to the media storage, so memory stays flat.
    The requester's scope is checked again: an administrator who lost the role gets nothing."""
    if not _claim(job_id):
        return None
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    with translation.override(job.language or None):
        _build(job)
    job.refresh_from_db()
    return job


def _build(job: ExportJob) -> None:
    try:
        if job.requested_by is None:
            raise ServiceError(_("The administrator who asked for this export no longer exists."))
        selectors.access_export(job.requested_by)
        table = _job_table(job)
        if job.format == ExportJob.Format.CSV:
            chunks = csv_stream(table.columns, table.rows)
        else:
            chunks = xlsx_stream(table.columns, table.rows, title=table.title)
        with tempfile.TemporaryFile() as spool:
            with transaction.atomic():
                for chunk in chunks:
                    spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            name = default_storage.save(export_file_path(job, f"{table.filename}.{job.format}"), File(spool))
    except ServiceError as exc:
        _finish(job, status=ExportJob.Status.FAILED, error=exc.message)
    except Exception:
        logger.exception("export job %s crashed", job.pk)  # never the rows: personal data
        _finish(job, status=ExportJob.Status.FAILED,
                error=_("The export stopped on an internal error. Try again, or contact support with the "
                        "job number."))
    else:
        _finish(job, status=ExportJob.Status.SUCCEEDED, file=name, size=size)


def _finish(job: ExportJob, **fields) -> None:
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now(), **fields)


def export_job_open(*, actor, job: ExportJob):
    """The finished file of ``actor``'s own job, opened for reading (the caller closes it).
    Refused: another administrator's job (404), a job not finished (409 ``export_not_ready``),
    a failed one (409 ``export_failed``), an expired one (410 ``export_expired``)."""
    selectors.access_export(actor)
    if job.requested_by_id != actor.pk:
        raise NotFound(_("No such export."))
    if job.status in (ExportJob.Status.PENDING, ExportJob.Status.RUNNING):
        raise Conflict(_("The export is not ready yet; try again in a minute."), code="export_not_ready")
    if job.status == ExportJob.Status.FAILED:
        raise Conflict(_("The export failed: %(error)s") % {"error": job.error}, code="export_failed")
    if job.status == ExportJob.Status.EXPIRED or not job.file or not default_storage.exists(job.file.name):
        raise ExportGone(_("The file was deleted %(days)s days after it was made; start the export again.")
                         % {"days": EXPORT_FILE_TTL.days})
    return default_storage.open(job.file.name, "rb")


def export_job_purge(*, now: datetime.datetime | None = None) -> int:
    """Deletes the files of jobs finished more than ``EXPORT_FILE_TTL`` ago (they hold personal
    data); the jobs stay, marked expired. Returns how many files went."""
    now = now or timezone.now()
    old = ExportJob.objects.filter(status=ExportJob.Status.SUCCEEDED,
                                   finished_at__lt=now - EXPORT_FILE_TTL).only("pk", "file")
    count = 0
    for job in old.iterator(chunk_size=500):
        if job.file:
            default_storage.delete(job.file.name)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.EXPIRED, file="")
        count += 1
    return count

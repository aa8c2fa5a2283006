"""Import jobs: create one from an upload, run it (from a Celery task), hand over the initial
passwords it produced once, and purge what is left behind. Each service says what it guarantees."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from accounts.imports.credentials import CredentialsSpool, decrypt_lines
from accounts.imports.engine import ImportReport, access_import_kind, import_scope, people_import
from accounts.imports.readers import sniff
from accounts.models import ImportJob, User
from common.errors import Forbidden, NotFound, ServiceError

logger = logging.getLogger(__name__)

# A job left "running" this long is taken to have died with its worker and may be run again
# (its transaction rolled back with it, so running it again is safe).
STALE_AFTER = timedelta(hours=6)
# Initial passwords nobody downloaded are deleted after this long (import_credentials_purge).
CREDENTIALS_TTL = timedelta(days=7)


class FileTooLarge(ServiceError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


class CredentialsGone(ServiceError):
    status_code = status.HTTP_410_GONE
    default_code = "credentials_gone"


def import_job_create(*, actor: User, kind: str, upload: File, dry_run: bool = False) -> ImportJob:
    """Stores the upload and creates a pending job; its task is enqueued after commit.
    Refuses (403) non-administrators and school administrators importing schools; refuses
    (4xx) a file that is too large or whose content does not match its extension."""
    scope = import_scope(actor)
    access_import_kind(scope=scope, kind=kind)
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        message = _("The file is larger than the limit of %(mb)s MB.") % {"mb": round(limit / 2**20, 1)}
        raise FileTooLarge(message, fields={"file": [message]})
    sniff(upload, upload.name, max_bytes=limit)
    upload.seek(0)
    job = ImportJob(
        kind=kind, dry_run=dry_run, created_by=actor, original_name=(upload.name or "")[-255:],
        scope_level=scope.level, scope_region_id=scope.region_id, scope_school_id=scope.school_id,
    )
    job.upload.save(upload.name, upload, save=False)
    try:
        with transaction.atomic():
            job.save()
            transaction.on_commit(lambda: _enqueue(job.pk))
    except BaseException:
        job.upload.delete(save=False)
        raise
    return job


def _enqueue(job_id: int) -> None:
    from accounts.tasks import import_job_run_task

    import_job_run_task.delay(job_id)


def _claim(job_id: int) -> bool:
    now = timezone.now()
    return bool(
        ImportJob.objects.filter(pk=job_id)
        .filter(Q(status=ImportJob.Status.PENDING)
                | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - STALE_AFTER))
        .update(status=ImportJob.Status.RUNNING, started_at=now)
    )


def _report_fields(report: ImportReport) -> dict:
    return {
        "rows_total": report.rows, "created_count": report.created, "updated_count": report.updated,
        "unchanged_count": report.unchanged, "error_count": report.error_count, "errors": report.errors,
    }


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Runs a pending job once: safe to call twice (a finished or running job is left alone;
    a job stuck "running" past STALE_AFTER is run again). The import's writes, the job's
    success and its credentials file commit together. The upload is deleted afterwards.
    Returns the job, or None when there was nothing to do."""
    if not _claim(job_id):
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    report = ImportReport(kind=job.kind, dry_run=job.dry_run)
    spool = CredentialsSpool(job.kind) if job.kind != ImportJob.Kind.SCHOOLS else None
    saved: list[str] = []

    def before_commit(report: ImportReport) -> None:
        name = ""
        if spool is not None and spool.count:
            name = default_storage.save(f"imports/credentials/{uuid.uuid4().hex}.enc", File(spool.rewind()))
            saved.append(name)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.SUCCEEDED, finished_at=timezone.now(), credentials_file=name,
            credentials_count=spool.count if spool else 0, **_report_fields(report))

    try:
        if job.created_by is None and job.scope_level != ImportJob.ScopeLevel.ALL:
            raise Forbidden(_("The administrator who started this import no longer exists."))
        with job.upload.open("rb") as upload:
            report = people_import(
                kind=job.kind, file=upload, filename=job.upload.name, actor=job.created_by,
                dry_run=job.dry_run, credentials=spool, before_commit=before_commit,
                reason=f"import job {job.pk}",
            )
    except ServiceError as exc:  # the creator lost their role since: refused, not crashed
        report.error(None, None, exc.message)
    except Exception:
        # Log where, never what: the rows are minors' personal data and passwords.
        logger.exception("import job %s crashed", job.pk)
        for name in saved:
            default_storage.delete(name)
        report.error(None, None, _("The import stopped on an internal error; nothing was written. "
                                   "Try again, or contact support with the job number."))
    finally:
        if spool is not None:
            spool.close()
    if not report.written:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.SUCCEEDED if report.ok else ImportJob.Status.FAILED,
            finished_at=timezone.now(), **_report_fields(report))
    # The sheet holds minors' personal data: once the report is kept, the file goes.
    if job.upload:
        job.upload.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(upload="")
    job.refresh_from_db()
    return job


def import_credentials_take(*, actor: User, job: ImportJob) -> Iterator[bytes]:
    """The initial passwords of the accounts ``job`` created, as CSV chunks, for the
    administrator who started it, once: the first call claims them (a second gets 410) and the
    file is deleted when the download ends."""
    if job.created_by_id != actor.pk:
        raise Forbidden(_("Only the administrator who started this import may download its passwords."))
    if job.credentials_downloaded_at is not None:
        raise CredentialsGone(_("These passwords were downloaded already. Reset a password if one is lost."))
    if not job.credentials_file:
        raise NotFound(_("This import created no accounts, so there are no passwords to download."))
    claimed = ImportJob.objects.filter(pk=job.pk, credentials_downloaded_at__isnull=True).exclude(
        credentials_file="").update(credentials_downloaded_at=timezone.now())
    if not claimed:
        raise CredentialsGone(_("These passwords were downloaded already. Reset a password if one is lost."))
    name = job.credentials_file.name
    source = default_storage.open(name, "rb")

    def stream() -> Iterator[bytes]:
        try:
            yield from decrypt_lines(source)
        finally:
            source.close()
            default_storage.delete(name)
            ImportJob.objects.filter(pk=job.pk).update(credentials_file="")

    return stream()


def import_credentials_purge(*, now=None) -> int:
    """Deletes credentials files whose download broke off, or that nobody downloaded within
    CREDENTIALS_TTL. Returns how many went."""
    now = now or timezone.now()
    jobs = ImportJob.objects.exclude(credentials_file="").filter(
        # a claimed file is normally deleted when its download ends; an hour is for a broken one
        Q(credentials_downloaded_at__lt=now - timedelta(hours=1)) | Q(finished_at__lt=now - CREDENTIALS_TTL))
    count = 0
    for job in jobs.only("pk", "credentials_file"):
        default_storage.delete(job.credentials_file.name)
        ImportJob.objects.filter(pk=job.pk).update(credentials_file="")
        count += 1
    return count

import uuid
from pathlib import PurePath

from django.db import models
from django.utils.translation import gettext_lazy as _


def export_file_path(job, filename: str) -> str:
    return f"exports/{uuid.uuid4().hex}/{PurePath(filename).name}"


class ExportJob(models.Model):
    """An export built in the background (导出任务) for the administrator who asked for it,
    downloaded when ready. A whole city's evidence over a year takes longer than one HTTP
    request may last (gunicorn's timeout); a Celery task writes the file to the media storage
    instead, with the same writers as the streamed download. Files are deleted after
    ``exports.services.EXPORT_FILE_TTL`` (``export_job_purge``)."""

    class Kind(models.TextChoices):
        EVIDENCE = "evidence", _("service evidence")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.EVIDENCE)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True,
                              help_text=_("The export's filters: days, county, school, tier, kind."))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # SET_NULL: a deleted requester's job stays until its file is purged (nobody downloads it).
    requested_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True,
                                     related_name="export_jobs", verbose_name=_("requested by"))
    file = models.FileField(_("file"), upload_to=export_file_path, max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    error = models.TextField(_("error"), blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True,
                                help_text=_("The requester's language: the file's headers and labels."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="export_job_requester"),
            models.Index(fields=["status", "finished_at"], name="export_job_status_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.format} #{self.pk} ({self.status})"

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class User(AbstractUser):
    """Everyone who logs in. What a person is (student, teacher, administrator) is the profile
    they hold; personal details live there, and minors' details are kept to the minimum."""

    display_name = models.CharField(
        _("display name"), max_length=64, blank=True,
        help_text=_("Shown to other users (chat, answer desk); never a student's real name."),
    )
    must_change_password = models.BooleanField(
        _("must change password"), default=False,
        help_text=_("Set for initial and reset passwords; cleared when the user sets their own."),
    )
    history = HistoricalRecords(excluded_fields=["last_login", "password"])

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.display_name or self.username


class TeacherTier(models.Model):
    """A teacher tier, e.g. the three tiers of famous and backbone teachers (三层次名师).
    Tiers are data: each region names and ranks its own."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    rank = models.PositiveSmallIntegerField(_("rank"), default=0, help_text=_("1 is the highest tier."))
    is_three_tier = models.BooleanField(
        _("three-tier teacher"), default=True,
        help_text=_("Teachers of this tier owe online service (seed 000, seed 004 art. 10)."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("teacher tier")
        verbose_name_plural = _("teacher tiers")
        ordering = ["rank", "code"]

    def __str__(self) -> str:
        return self.name


class StudentProfile(models.Model):
    """A student (学生). Real name is visible only to the student, their own school's teachers
    and administrators whose scope holds the school (accounts.selectors)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True,
                                related_name="student_profile", verbose_name=_("user"))
    school = models.ForeignKey("regions.School", on_delete=models.PROTECT, related_name="students",
                               verbose_name=_("school"))
    grade = models.ForeignKey("regions.Grade", on_delete=models.PROTECT, related_name="students",
                              verbose_name=_("grade"))
    class_name = models.CharField(_("class"), max_length=32, blank=True)
    student_number = models.CharField(_("student number"), max_length=32)
    real_name = models.CharField(_("real name"), max_length=64)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        constraints = [
            models.UniqueConstraint(fields=["school", "student_number"],
                                    name="student_number_unique_per_school"),
        ]
        indexes = [models.Index(fields=["school", "grade", "class_name"])]

    def __str__(self) -> str:
        return f"{self.student_number}"


class TeacherProfile(models.Model):
    """A teacher (教师): school, subjects taught and tier (三层次名师 or none)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True,
                                related_name="teacher_profile", verbose_name=_("user"))
    school = models.ForeignKey("regions.School", on_delete=models.PROTECT, related_name="teachers",
                               verbose_name=_("school"))
    staff_number = models.CharField(_("staff number"), max_length=32)
    real_name = models.CharField(_("real name"), max_length=64)
    subjects = models.ManyToManyField("regions.Subject", blank=True, related_name="teachers",
                                      verbose_name=_("subjects"))
    tier = models.ForeignKey(TeacherTier, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="teachers", verbose_name=_("tier"))
    history = HistoricalRecords(m2m_fields=[subjects])

    class Meta:
        verbose_name = _("teacher")
        verbose_name_plural = _("teachers")
        constraints = [
            models.UniqueConstraint(fields=["school", "staff_number"],
                                    name="staff_number_unique_per_school"),
        ]

    def __str__(self) -> str:
        return self.real_name


class AdministratorProfile(models.Model):
    """An administrator (管理员) scoped to a city, a county or a school. The scope decides
    everything they may see (accounts.selectors) and edit (admin sites, reviews)."""

    class Level(models.TextChoices):
        CITY = "city", _("city")
        COUNTY = "county", _("county")
        SCHOOL = "school", _("school")

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True,
                                related_name="admin_profile", verbose_name=_("user"))
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="administrators", verbose_name=_("region"))
    school = models.ForeignKey("regions.School", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="administrators", verbose_name=_("school"))
    real_name = models.CharField(_("real name"), max_length=64)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("administrator")
        verbose_name_plural = _("administrators")
        constraints = [
            models.CheckConstraint(
                name="admin_scope_matches_level",
                condition=(
                    Q(level__in=["city", "county"], region__isnull=False, school__isnull=True)
                    | Q(level="school", region__isnull=True, school__isnull=False)
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.real_name} ({self.get_level_display()})"


def _import_upload_path(instance, filename: str) -> str:
    # An unguessable folder per upload: the sheets hold minors' personal data, and media may be
    # served by a plain file server in development.
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:8]
    return f"imports/{uuid.uuid4().hex}/upload{suffix}"


class ImportJob(models.Model):
    """One onboarding import (导入) of schools, teachers or students from an XLSX/CSV sheet.

    Created by an administrator (or the import_people command), run by a Celery task. The job
    keeps the report (counts, errors by row and column); the uploaded sheet is deleted when the
    job finishes. Initial passwords of the accounts it created are kept encrypted in
    ``credentials_file`` until the administrator who started the job downloads them, once."""

    class Kind(models.TextChoices):
        SCHOOLS = "schools", _("schools")
        TEACHERS = "teachers", _("teachers")
        STUDENTS = "students", _("students")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    class ScopeLevel(models.TextChoices):
        ALL = "all", _("all (superuser or command line)")
        CITY = "city", _("city")
        COUNTY = "county", _("county")
        SCHOOL = "school", _("school")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.PENDING, db_index=True)
    dry_run = models.BooleanField(_("dry run"), default=False,
                                  help_text=_("Validate and count only; write nothing."))
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="import_jobs", verbose_name=_("created by"))
    # The creator's scope when the job was created: decides who else may see the job.
    scope_level = models.CharField(_("scope level"), max_length=16, choices=ScopeLevel.choices)
    scope_region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("scope region"))
    scope_school = models.ForeignKey("regions.School", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("scope school"))
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    upload = models.FileField(_("uploaded file"), upload_to=_import_upload_path, max_length=255,
                              blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0,
                                              help_text=_("All errors found; the list keeps the first ones."))
    errors = models.JSONField(_("error list"), default=list, blank=True)
    credentials_file = models.FileField(_("credentials file"), max_length=255, blank=True)
    credentials_count = models.PositiveIntegerField(_("new accounts"), default=0)
    credentials_downloaded_at = models.DateTimeField(_("credentials downloaded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

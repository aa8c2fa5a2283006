"""Studio activities (工作室活动) and their paper trail (seed 004 art. 7 and 8).

An activity goes through these states, each change made by one service in
``studios.activities.services``:

    draft ──publish notice (before it starts)──▶ announced ──report──▶ submitted
      │                                             │                  │    ▲
      └──────────── cancel (before it starts) ──────┘       return ────┘    │ resubmit
                                                                 ▼          │
                                                              returned ─────┘
    submitted ──approve (the office)──▶ published

Only approval records service events (for the presenters) and counts trainees' unexcused
absences. Attendance is written with the report: every trainee of the studio on the day is
present, excused (leave approved in advance) or absent.
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Activity(models.Model):
    """One studio activity (工作室活动): guidance, lesson study, an open lesson, an outreach
    session, a member's report to the host, ..."""

    class Kind(models.TextChoices):
        GUIDANCE = "guidance", _("famous-teacher guidance")  # 名师导教
        LESSON_STUDY = "lesson_study", _("lesson study")  # 课例研讨
        RESEARCH_PROJECT = "research_project", _("research project")  # 课题研究
        ONLINE_SEMINAR = "online_seminar", _("online seminar")  # 在线研讨
        OUTREACH = "outreach", _("outreach session")  # 送教下乡
        OPEN_LESSON = "open_lesson", _("open or research lesson")  # 公开课 / 研究课
        MEMBER_REPORT = "member_report", _("member report")  # 成员汇报

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        ANNOUNCED = "announced", _("notice published")
        SUBMITTED = "submitted", _("report submitted")
        RETURNED = "returned", _("report returned")
        PUBLISHED = "published", _("report approved and published")
        CANCELLED = "cancelled", _("cancelled")

    studio = models.ForeignKey("studios.Studio", on_delete=models.PROTECT, related_name="activities",
                               verbose_name=_("studio"))
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    notice = models.TextField(_("notice"), blank=True,
                              help_text=_("The activity notice (活动通知), published before it starts."))
    is_online = models.BooleanField(_("online"), default=False)
    place = models.CharField(_("place"), max_length=200, blank=True,
                             help_text=_("Where it takes place, or the meeting link when online."))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    presenters = models.ManyToManyField("accounts.TeacherProfile", related_name="studio_activities",
                                        verbose_name=_("organisers and presenters"), blank=True)
    served_county = models.ForeignKey("regions.Region", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("county served"),
                                      help_text=_("Outreach (送教下乡): the county served."))
    served_school = models.ForeignKey("regions.School", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("school served"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)
    notice_published_at = models.DateTimeField(_("notice published at"), null=True, blank=True)
    report = models.TextField(_("report"), blank=True, help_text=_("The activity report (活动报道)."))
    report_submitted_at = models.DateTimeField(_("report submitted at"), null=True, blank=True)
    report_submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="+", verbose_name=_("report by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("reviewed by"))
    review_comment = models.TextField(_("review comment"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], m2m_fields=[presenters])

    class Meta:
        verbose_name = _("studio activity")
        verbose_name_plural = _("studio activities")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(name="activity_ends_after_start", condition=Q(ends_at__gt=F("starts_at")),
                                   violation_error_message=_("An activity must end after it starts.")),
        ]
        indexes = [
            models.Index(fields=["studio", "state", "starts_at"], name="activity_studio_state_time"),
            models.Index(fields=["state", "starts_at"], name="activity_state_time"),
        ]

    def __str__(self) -> str:
        return self.title


def _attachment_path(instance, filename: str) -> str:
    # A random name: the original one (kept in original_name) may carry a person's name.
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"activities/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{suffix}"


class ActivityAttachment(models.Model):
    """A file attached to an activity's report (photos, slides, a sign-in sheet)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attachments",
                                 verbose_name=_("activity"))
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity attachment")
        verbose_name_plural = _("activity attachments")
        ordering = ["activity_id", "id"]

    def __str__(self) -> str:
        return self.original_name


class ActivityReview(models.Model):
    """One decision of the office on a report: approved, or returned with comments."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", _("approved")
        RETURNED = "returned", _("returned")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="reviews",
                                 verbose_name=_("activity"))
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("reviewer"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("reviewed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity report review")
        verbose_name_plural = _("activity report reviews")
        ordering = ["activity_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.activity} · {self.get_outcome_display()}"


class LeaveRequest(models.Model):
    """A trainee's request to be excused from an activity (请假), made before it starts and
    decided by the host (seed 004 art. 7)."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        DECLINED = "declined", _("declined")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="leave_requests",
                                 verbose_name=_("activity"))
    membership = models.ForeignKey("studios.Membership", on_delete=models.PROTECT,
                                   related_name="leave_requests", verbose_name=_("trainee"))
    reason = models.CharField(_("reason"), max_length=500)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decision_note = models.CharField(_("note on the decision"), max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("leave request")
        verbose_name_plural = _("leave requests")
        ordering = ["activity_id", "requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "membership"], condition=~Q(state="declined"),
                name="leave_request_one_open_per_trainee",
                violation_error_message=_("This trainee already asked for leave from this activity."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership} · {self.activity}"


class Attendance(models.Model):
    """Whether one trainee attended one activity (考勤), written with the report."""

    class Status(models.TextChoices):
        PRESENT = "present", _("present")
        EXCUSED = "excused", _("excused (leave approved)")
        ABSENT = "absent", _("absent without leave")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendance",
                                 verbose_name=_("activity"))
    membership = models.ForeignKey("studios.Membership", on_delete=models.PROTECT,
                                   related_name="attendance", verbose_name=_("trainee"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["activity_id", "membership_id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "membership"], name="attendance_once_per_trainee"),
        ]
        indexes = [models.Index(fields=["membership", "status"], name="attendance_trainee_status")]

    def __str__(self) -> str:
        return f"{self.membership} · {self.get_status_display()}"


from studios.models import Studio  # noqa: E402  (studios.models imports this module at its end)


class StudioStatistics(Studio):
    """The studios seen through their figures (seed 001), for a read-only admin page."""

    class Meta:
        proxy = True
        verbose_name = _("studio statistics")
        verbose_name_plural = _("studio statistics")

"""Lecture courses (名师大讲堂) run by studios or teachers, their lectures and enrolments.

A course belongs to a studio (or, for a teacher's own course, to that teacher) and is visible
city-wide, to one school, or to the studio only. Students (and teachers) enrol in a course.
A lecture is one session of a course with lecturer(s) and assistant(s); the stream itself comes
from an external streaming service (the lecture holds its addresses), this backend is the
control and interaction plane (live/ runs the room). States move only through
``courses.services``:

    draft -> scheduled -> live -> ended -> replay        (draft/scheduled -> cancelled)
"""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def _resource_upload_path(instance, filename: str) -> str:
    # A random name: the original one (kept in original_name) may carry a person's name, and
    # media may be served by a plain file server; the suffix stays for content-type guessing.
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"resources/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{suffix}"


def _cover_upload_path(instance, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"courses/covers/{uuid.uuid4().hex}{suffix}"


class Course(models.Model):
    class Visibility(models.TextChoices):
        CITY = "city", _("everyone in the city")
        SCHOOL = "school", _("one school")
        STUDIO = "studio", _("the studio only")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        ARCHIVED = "archived", _("archived")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    studio = models.ForeignKey("studios.Studio", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="courses", verbose_name=_("studio"))
    owner = models.ForeignKey("accounts.TeacherProfile", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="owned_courses", verbose_name=_("owner"),
                              help_text=_("The teacher who runs a course that belongs to no studio."))
    city = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="courses",
                             verbose_name=_("city"))
    school = models.ForeignKey("regions.School", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="courses", verbose_name=_("school"),
                               help_text=_("For school-only visibility: the school that sees it."))
    subject = models.ForeignKey("regions.Subject", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="courses", verbose_name=_("subject"))
    stage = models.ForeignKey("regions.SchoolStage", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="courses", verbose_name=_("school stage"))
    grade = models.ForeignKey("regions.Grade", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="courses", verbose_name=_("grade"))
    visibility = models.CharField(_("visibility"), max_length=16, choices=Visibility.choices,
                                  default=Visibility.CITY)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    cover = models.FileField(_("cover image"), upload_to=_cover_upload_path, blank=True, max_length=255)
    enrolment_open = models.BooleanField(_("open for enrolment"), default=True)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True,
                                           help_text=_("Most enrolled at once; empty means no limit."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="course_has_studio_or_owner",
                condition=Q(studio__isnull=False) | Q(owner__isnull=False),
                violation_error_message=_("A course belongs to a studio or to a teacher."),
            ),
            models.CheckConstraint(
                name="course_school_visibility_has_school",
                condition=~Q(visibility="school") | Q(school__isnull=False),
                violation_error_message=_("A school-only course names its school."),
            ),
        ]
        indexes = [models.Index(fields=["city", "status", "visibility"], name="course_catalogue")]

    def __str__(self) -> str:
        return self.title


class Enrolment(models.Model):
    """A user's enrolment in a course; leaving keeps the row (left_at)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments",
                               verbose_name=_("course"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments",
                             verbose_name=_("user"))
    enrolled_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["course_id", "enrolled_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], condition=Q(left_at__isnull=True),
                                    name="enrolment_one_current_per_user",
                                    violation_error_message=_("Already enrolled in this course.")),
        ]
        indexes = [models.Index(fields=["user", "left_at"], name="enrolment_user_current")]

    def __str__(self) -> str:
        return f"{self.user} · {self.course}"


class Lecture(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        SCHEDULED = "scheduled", _("scheduled")
        LIVE = "live", _("live")
        ENDED = "ended", _("ended")
        REPLAY = "replay", _("replay available")
        CANCELLED = "cancelled", _("cancelled")

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="lectures",
                               verbose_name=_("course"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT,
                             db_index=True)
    # Addresses of the external streaming service. The push (RTMP) address carries the stream
    # key and is shown to the lecture's staff only; viewers get the play (HLS) address.
    stream_push_url = models.CharField(_("push address (RTMP)"), max_length=500, blank=True)
    stream_play_url = models.CharField(_("play address (HLS)"), max_length=500, blank=True)
    replay_url = models.CharField(_("replay address"), max_length=500, blank=True)
    went_live_at = models.DateTimeField(_("went live at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    peak_viewers = models.PositiveIntegerField(_("peak concurrent viewers"), default=0)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "peak_viewers"])

    class Meta:
        verbose_name = _("lecture")
        verbose_name_plural = _("lectures")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(name="lecture_ends_after_start", condition=Q(ends_at__gt=F("starts_at")),
                                   violation_error_message=_("A lecture must end after it starts.")),
        ]
        indexes = [
            models.Index(fields=["state", "starts_at"], name="lecture_due_reminders",
                         condition=Q(reminded_at__isnull=True)),
            models.Index(fields=["course", "starts_at"], name="lecture_course_start"),
        ]

    def __str__(self) -> str:
        return self.title


class LectureStaff(models.Model):
    """A teacher who gives (lecturer) or helps run (assistant, the room's moderator) a lecture."""

    class Role(models.TextChoices):
        LECTURER = "lecturer", _("lecturer")
        ASSISTANT = "assistant", _("assistant")

    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="staff",
                                verbose_name=_("lecture"))
    teacher = models.ForeignKey("accounts.TeacherProfile", on_delete=models.PROTECT,
                                related_name="lecture_roles", verbose_name=_("teacher"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lecture staff")
        verbose_name_plural = _("lecture staff")
        ordering = ["lecture_id", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lecture", "teacher"], name="lecture_staff_once",
                violation_error_message=_("This teacher already has a role in the lecture."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.get_role_display()} · {self.lecture}"


class Resource(models.Model):
    """A teaching resource (slides, a handout, a worksheet) attached to a lecture or to a studio.

    Quality review (seed 002): a member of the studio (or the lecture's staff) submits it; the
    studio's host or an administrator in scope approves it (published) or returns it with a
    comment; nobody reviews their own submission. Approval records ``resource_published`` in
    the submitter's service record."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved (published)")
        RETURNED = "returned", _("returned")

    lecture = models.ForeignKey(Lecture, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="resources", verbose_name=_("lecture"))
    studio = models.ForeignKey("studios.Studio", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="resources", verbose_name=_("studio"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    file = models.FileField(_("file"), upload_to=_resource_upload_path, max_length=255)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=128)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="submitted_resources", verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="resource_on_lecture_or_studio",
                condition=(Q(lecture__isnull=False, studio__isnull=True)
                           | Q(lecture__isnull=True, studio__isnull=False)),
                violation_error_message=_("A resource belongs to a lecture or to a studio, not both."),
            ),
            models.CheckConstraint(
                name="resource_published_iff_approved",
                condition=(Q(state="approved", published_at__isnull=False)
                           | (~Q(state="approved") & Q(published_at__isnull=True))),
                violation_error_message=_("An approved resource has its publication time, others none."),
            ),
        ]
        indexes = [
            models.Index(fields=["studio", "state"], name="resource_studio_state"),
            models.Index(fields=["lecture", "state"], name="resource_lecture_state"),
            models.Index(fields=["state", "published_at"], name="resource_published"),
        ]

    def __str__(self) -> str:
        return self.title


class CalendarFeed(models.Model):
    """A user's personal iCalendar feed address (``/calendar/<token>.ics``). The token is the only
    credential of the feed (calendar apps cannot sign in), so it can be rotated (a new address,
    the old one stops working) or revoked."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="calendar_feed", verbose_name=_("user"))
    token = models.CharField(_("token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user}"

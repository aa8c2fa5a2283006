"""Famous-teacher studios (名师工作室): their kinds, cycles and memberships.

A studio is hosted at a school (设站学校) for a cycle of a few years and is run by one host
teacher (主持人) with members (成员) and trainees (学员). How many members and trainees a
studio may (or must) have depends on its kind and is held as data on :class:`StudioKind`,
because every bureau writes its own numbers (seed 003: at most 8 members, at least 5 of them
from other schools, fewer than 10 trainees; seed 004: outreach studios admit 10 or more
trainees). Memberships are never deleted: ending one records the day and the reason, so the
roster of any past day can be rebuilt and service can be credited to the right role.

Invariants (kept by ``studios.services``, the first two also by the database):
- a teacher holds at most one current role in a studio;
- a studio has at most one current host; an active studio has exactly one;
- a closed studio has no current memberships (closing ends them all on the closing day).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def add_years(day: datetime.date, years: int) -> datetime.date:
    """The same calendar day ``years`` later; 29 February falls back to 28 February. Raises
    ValueError past the year 9999."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        if (day.month, day.day) != (2, 29):
            raise
        return day.replace(year=day.year + years, day=28)


class StudioKind(models.Model):
    """A kind of studio (学科工作室, 名校长工作室, 名班主任工作室, 名师送教工作站, ...) with its
    cycle length and role limits. Limits left empty mean "no limit"; minimums of 0 mean
    "no minimum". Maximums are enforced when people join; minimums are targets a studio
    works towards (shown on the studio, checked by the yearly assessment), except
    ``min_members_from_other_schools``, which also caps how many members may come from the
    host school so that the studio can still reach it."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    description = models.TextField(_("description"), blank=True)
    default_cycle_years = models.PositiveSmallIntegerField(
        _("cycle (years)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("Length of a studio's cycle; empty means the platform default "
                    "(STUDIO_DEFAULT_CYCLE_YEARS)."),
    )
    max_members = models.PositiveSmallIntegerField(
        _("most members"), null=True, blank=True,
        help_text=_("Members (成员) a studio may have at once, the host not counted; empty means no limit."),
    )
    min_members = models.PositiveSmallIntegerField(
        _("fewest members"), default=0,
        help_text=_("Members a studio should have (a target, not enforced when someone leaves)."),
    )
    min_members_from_other_schools = models.PositiveSmallIntegerField(
        _("fewest members from other schools"), default=0,
        help_text=_("Members who must teach at a school other than the host school (设站学校)."),
    )
    max_trainees = models.PositiveSmallIntegerField(
        _("most trainees"), null=True, blank=True,
        help_text=_("Trainees (学员) a studio may have at once; empty means no limit."),
    )
    min_trainees = models.PositiveSmallIntegerField(
        _("fewest trainees"), default=0,
        help_text=_("Trainees a studio should admit (a target, e.g. 10 or more for outreach studios)."),
    )
    # Duties and attendance (seeds 003, 004): data per kind, because every bureau sets its own.
    trainee_absence_limit = models.PositiveSmallIntegerField(
        _("unexcused absences that end a traineeship"), null=True, blank=True, default=2,
        validators=[MinValueValidator(1)],
        help_text=_("Seed 004 art. 7: two unexcused absences in a cycle end a traineeship; empty: never."),
    )
    member_reports_per_year = models.PositiveSmallIntegerField(
        _("member reports per member and year"), default=2,
        help_text=_("Reports each member gives the host in a year (成员汇报); 0: no duty."))
    research_lessons_per_term = models.PositiveSmallIntegerField(
        _("research lessons per person and term"), default=1,
        help_text=_("Open research lessons the host and each member give in a term; 0: no duty."))
    offline_activities_per_cycle = models.PositiveSmallIntegerField(
        _("offline activities per cycle"), default=5,
        help_text=_("Activities held in person during a cycle (线下活动); 0: no duty."))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(
        _("open for new studios"), default=True,
        help_text=_("Existing studios keep their kind; new studios can only use open kinds."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("studio kind")
        verbose_name_plural = _("studio kinds")
        ordering = ["order", "code"]
        constraints = [
            models.CheckConstraint(
                name="studio_kind_member_limits_consistent",
                condition=Q(max_members__isnull=True)
                | (Q(max_members__gte=F("min_members"))
                   & Q(max_members__gte=F("min_members_from_other_schools"))),
                violation_error_message=_("The most members must not be below the fewest members "
                                          "or the fewest members from other schools."),
            ),
            models.CheckConstraint(
                name="studio_kind_trainee_limits_consistent",
                condition=Q(max_trainees__isnull=True) | Q(max_trainees__gte=F("min_trainees")),
                violation_error_message=_("The most trainees must not be below the fewest trainees."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cycle_years(self) -> int:
        return self.default_cycle_years or settings.STUDIO_DEFAULT_CYCLE_YEARS

    @property
    def max_members_from_host_school(self) -> int | None:
        """How many members may teach at the host school so that the other-schools minimum
        stays reachable; None when members are unlimited."""
        if self.max_members is None:
            return None
        return max(self.max_members - self.min_members_from_other_schools, 0)


class Studio(models.Model):
    """A famous-teacher studio (名师工作室 / 工作站) hosted at a school for one cycle."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CLOSED = "closed", _("closed")

    name = models.CharField(_("name"), max_length=128)
    kind = models.ForeignKey(StudioKind, on_delete=models.PROTECT, related_name="studios",
                             verbose_name=_("kind"))
    host_school = models.ForeignKey(
        "regions.School", on_delete=models.PROTECT, related_name="hosted_studios",
        verbose_name=_("host school"), help_text=_("The school where the studio is based (设站学校)."),
    )
    subject = models.ForeignKey("regions.Subject", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="studios", verbose_name=_("subject"))
    stage = models.ForeignKey("regions.SchoolStage", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="studios", verbose_name=_("school stage"))
    description = models.TextField(_("description"), blank=True)
    cycle_start = models.DateField(_("cycle start"))
    cycle_end = models.DateField(
        _("cycle end"), help_text=_("By default the start plus the kind's cycle length."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.ACTIVE, db_index=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("studio")
        verbose_name_plural = _("studios")
        ordering = ["-cycle_start", "id"]
        constraints = [
            models.CheckConstraint(
                name="studio_cycle_end_after_start",
                condition=Q(cycle_end__gt=F("cycle_start")),
                violation_error_message=_("The cycle must end after it starts."),
            ),
            models.CheckConstraint(
                name="studio_closed_has_closing_day",
                condition=(Q(status="active", closed_on__isnull=True)
                           | Q(status="closed", closed_on__isnull=False)),
                violation_error_message=_("A closed studio needs its closing day, an active one none."),
            ),
            models.UniqueConstraint(
                fields=["host_school", "name"], condition=Q(status="active"),
                name="studio_active_name_unique_per_school",
                violation_error_message=_("The host school already has an active studio of this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Membership(models.Model):
    """One teacher's role in one studio for a stretch of time (joined_on .. left_on).

    A membership is current while ``left_on`` is empty. Ending it records the day and the
    reason; the row stays, so the studio's history (and each teacher's) is complete."""

    class Role(models.TextChoices):
        HOST = "host", _("host")  # 主持人
        MEMBER = "member", _("member")  # 成员
        TRAINEE = "trainee", _("trainee")  # 学员

    class LeaveReason(models.TextChoices):
        RESIGNED = "resigned", _("left at their own request")
        REMOVED = "removed", _("removed by the host or an administrator")
        TRANSFERRED = "transferred", _("moved to another school or post")
        HOST_REPLACED = "host_replaced", _("replaced as host")
        ROLE_CHANGED = "role_changed", _("took another role in the studio")
        STUDIO_CLOSED = "studio_closed", _("the studio closed")
        ABSENCES = "absences", _("too many unexcused absences")
        OTHER = "other", _("other")

    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="memberships",
                               verbose_name=_("studio"))
    teacher = models.ForeignKey("accounts.TeacherProfile", on_delete=models.PROTECT,
                                related_name="studio_memberships", verbose_name=_("teacher"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)
    left_reason = models.CharField(_("reason for leaving"), max_length=32, choices=LeaveReason.choices,
                                   blank=True)
    left_note = models.CharField(_("note on leaving"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("studio membership")
        verbose_name_plural = _("studio memberships")
        ordering = ["studio_id", "joined_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["studio"], condition=Q(role="host", left_on__isnull=True),
                name="studio_one_current_host",
                violation_error_message=_("A studio has one current host."),
            ),
            models.UniqueConstraint(
                fields=["studio", "teacher"], condition=Q(left_on__isnull=True),
                name="studio_one_current_role_per_teacher",
                violation_error_message=_("This teacher already holds a current role in this studio."),
            ),
            models.CheckConstraint(
                name="studio_membership_left_after_joined",
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                violation_error_message=_("A membership cannot end before it starts."),
            ),
            models.CheckConstraint(
                name="studio_membership_reason_iff_left",
                condition=(Q(left_on__isnull=True, left_reason="")
                           | (Q(left_on__isnull=False) & ~Q(left_reason=""))),
                violation_error_message=_("An ended membership needs a reason; a current one none."),
            ),
        ]
        indexes = [
            models.Index(fields=["studio", "role", "left_on"], name="studio_membership_roster"),
            models.Index(fields=["teacher", "left_on"], name="studio_membership_teacher"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} · {self.get_role_display()} · {self.studio}"

    @property
    def is_current(self) -> bool:
        return self.left_on is None


#: Reasons a person (host or administrator) may give when ending a membership; the others are
#: recorded by the services that cause them (host change, role change, closing the studio).
MANUAL_LEAVE_REASONS = frozenset({
    Membership.LeaveReason.RESIGNED, Membership.LeaveReason.REMOVED,
    Membership.LeaveReason.TRANSFERRED, Membership.LeaveReason.ABSENCES,
    Membership.LeaveReason.OTHER,
})
MANUAL_LEAVE_REASON_CHOICES = [
    (value, label) for value, label in Membership.LeaveReason.choices if value in MANUAL_LEAVE_REASONS
]


# Activities, attendance and leave live in a sub-package; imported here so Django registers them.
from studios.activities.models import (  # noqa: E402
    Activity,
    ActivityAttachment,
    ActivityReview,
    Attendance,
    LeaveRequest,
    StudioStatistics,
)

__all__ = ["MANUAL_LEAVE_REASONS", "MANUAL_LEAVE_REASON_CHOICES", "Activity", "ActivityAttachment",
           "ActivityReview", "Attendance", "LeaveRequest", "Membership", "Studio", "StudioKind",
           "StudioStatistics", "add_years"]

"""Reads of studio activities, duties and statistics, and the one home of their permissions.

Who may do what:
- see an activity: every signed-in user once its notice is published (studios are a public
  programme); a draft: the people who manage it and its presenters;
- create, edit, publish the notice of, cancel an activity; decide trainees' leave requests:
  the studio's current host and the city and county administrators whose region contains the
  host school (the people who manage the studio's roster, ``can_manage_members``);
- write, attach files to and submit the report: those people and the activity's presenters;
- review the report ("the office", 名师办, seed 004 art. 8 and 11): city and county
  administrators whose region contains the host school, and never someone who is the studio's
  host, a presenter of the activity or the report's author (nobody approves their own work);
- see a report before it is published and the attendance: managers, presenters, the office;
  a trainee sees their own attendance and leave requests;
- ask for leave: a current trainee of the studio, for themselves only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from common.errors import Forbidden
from regions.models import School
from regions.selectors import school_scope_q
from studios.activities.models import Activity, Attendance, LeaveRequest
from studios.models import Membership, Studio
from studios.selectors import _regional_admin, can_administer_studio, can_manage_members, is_current_host

#: The service event kind an approved activity records for each presenter.
SERVICE_EVENT_KIND = {
    Activity.Kind.MEMBER_REPORT: "member_report",
    Activity.Kind.OPEN_LESSON: "research_lesson",
    Activity.Kind.OUTREACH: "outreach_session",
}
DEFAULT_SERVICE_EVENT_KIND = "studio_activity"


def service_event_kind(kind: str) -> str:
    return SERVICE_EVENT_KIND.get(kind, DEFAULT_SERVICE_EVENT_KIND)


# --- permissions -----------------------------------------------------------------------------

def is_presenter(user, activity: Activity) -> bool:
    if not user.is_authenticated:
        return False
    return activity.presenters.filter(pk=user.pk).exists()


def can_manage_activities(user, studio: Studio) -> bool:
    """Create, edit, announce and cancel the studio's activities; decide leave requests."""
    return can_manage_members(user, studio)


def can_write_report(user, activity: Activity) -> bool:
    return can_manage_activities(user, activity.studio) or is_presenter(user, activity)


def can_review(user, activity: Activity) -> bool:
    """The office: a regional administrator of the host school who had no hand in the work."""
    if not can_administer_studio(user, activity.studio):
        return False
    if activity.report_submitted_by_id == user.pk:
        return False
    return not (is_current_host(user, activity.studio) or is_presenter(user, activity))


def can_see_report(user, activity: Activity) -> bool:
    """The report, its files and the attendance before publication (and the attendance after)."""
    return can_write_report(user, activity) or can_administer_studio(user, activity.studio)


def access_manage_activities(user, studio: Studio) -> None:
    if not can_manage_activities(user, studio):
        raise Forbidden(
            _("Only the studio's host and administrators whose region contains its host school may "
              "organise the activities of %(studio)s.") % {"studio": studio.name},
            code="activity_manage_forbidden",
        )


def access_write_report(user, activity: Activity) -> None:
    if not can_write_report(user, activity):
        raise Forbidden(
            _("Only the studio's host, the activity's presenters and administrators of its region may "
              "write the report of %(activity)s.") % {"activity": activity.title},
            code="activity_report_forbidden",
        )


def access_review(user, activity: Activity) -> None:
    if not can_administer_studio(user, activity.studio):
        raise Forbidden(
            _("Only city and county administrators whose region contains %(school)s review the reports "
              "of %(studio)s.")
            % {"school": activity.studio.host_school.name, "studio": activity.studio.name},
            code="activity_review_forbidden",
        )
    if not can_review(user, activity):
        raise Forbidden(
            _("You host the studio, present at this activity or wrote its report: another administrator "
              "must review it."),
            code="activity_review_own_work",
        )


def access_see_report(user, activity: Activity) -> None:
    if not can_see_report(user, activity):
        raise Forbidden(_("Only the activity's organisers, presenters and reviewers may see this."),
                        code="activity_report_hidden")


# --- reads -----------------------------------------------------------------------------------

def activity_list_visible(*, user) -> QuerySet[Activity]:
    """Announced and later activities for every signed-in user; drafts for those who manage them
    and for their presenters."""
    if not user.is_authenticated:
        return Activity.objects.none()
    qs = Activity.objects.select_related("studio__kind", "studio__host_school", "served_county",
                                         "served_school").prefetch_related("presenters__school")
    if user.is_superuser:
        return qs
    hosted = Membership.objects.filter(studio=OuterRef("studio_id"), teacher_id=user.pk,
                                       role=Membership.Role.HOST, left_on__isnull=True)
    presenting = Activity.presenters.through.objects.filter(activity_id=OuterRef("pk"),
                                                            teacherprofile_id=user.pk)
    visible = ~Q(state=Activity.State.DRAFT) | Q(Exists(hosted)) | Q(Exists(presenting))
    if _regional_admin(user):
        visible |= Q(studio__host_school__in=School.objects.filter(school_scope_q(user)))
    return qs.filter(visible)


def attendance_list(*, user, activity: Activity) -> QuerySet[Attendance]:
    """The activity's attendance: all of it for those who may see the report, else the caller's own."""
    qs = Attendance.objects.filter(activity=activity).select_related("membership__teacher__school")
    if can_see_report(user, activity):
        return qs
    return qs.filter(membership__teacher_id=user.pk)


def leave_request_list(*, user, activity: Activity) -> QuerySet[LeaveRequest]:
    """The activity's leave requests: all for its managers, else the caller's own."""
    qs = LeaveRequest.objects.filter(activity=activity).select_related("membership__teacher__school")
    if can_manage_activities(user, activity.studio):
        return qs
    return qs.filter(membership__teacher_id=user.pk)


def trainees_on(*, studio: Studio, day: datetime.date) -> QuerySet[Membership]:
    """The studio's trainees on ``day`` (joined by then, not left before it)."""
    return Membership.objects.filter(
        Q(left_on__isnull=True) | Q(left_on__gte=day),
        studio=studio, role=Membership.Role.TRAINEE, joined_on__lte=day,
    )


def unexcused_absences(*, studio: Studio, teacher_ids, start: datetime.datetime,
                       end: datetime.datetime) -> dict[int, int]:
    """Per trainee (user id): absences without leave at the studio's published activities in
    [start, end), one grouped query."""
    rows = (Attendance.objects.filter(
        status=Attendance.Status.ABSENT, activity__studio=studio, activity__state=Activity.State.PUBLISHED,
        activity__starts_at__gte=start, activity__starts_at__lt=end, membership__teacher_id__in=teacher_ids)
        .values("membership__teacher_id").annotate(n=Count("pk")).order_by())
    return {row["membership__teacher_id"]: row["n"] for row in rows}


# --- duties (seeds 003, 004) -----------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    done: int
    required: int

    @property
    def met(self) -> bool:
        return self.done >= self.required

    def as_dict(self) -> dict:
        return {"done": self.done, "required": self.required, "met": self.met}


def _local_range(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    from service_records.assessment.periods import local_midnight

    return local_midnight(start), local_midnight(end)


def _presentations(*, studio: Studio, kinds, teacher_ids, start: datetime.date,
                   end: datetime.date) -> dict[int, int]:
    """Per presenter (user id): published activities of ``kinds`` starting in [start, end)."""
    lo, hi = _local_range(start, end)
    rows = (Activity.presenters.through.objects.filter(
        activity__studio=studio, activity__state=Activity.State.PUBLISHED, activity__kind__in=kinds,
        activity__starts_at__gte=lo, activity__starts_at__lt=hi, teacherprofile_id__in=teacher_ids)
        .values("teacherprofile_id").annotate(n=Count("activity_id", distinct=True)).order_by())
    return {row["teacherprofile_id"]: row["n"] for row in rows}


def terms_of_year(year: int) -> list[tuple[datetime.date, datetime.date]]:
    """The terms a calendar year is counted in, [start, end) each: the buckets the assessment
    uses (terms start on ASSESSMENT_TERM_STARTS, by default 1 February and 1 August; January,
    the tail of the autumn term, joins the spring term)."""
    from service_records.assessment.periods import TERM, buckets

    return [(b.start, b.end) for b in buckets(TERM, datetime.date(year, 1, 1), datetime.date(year, 12, 31))]


def studio_duties(*, studio: Studio, year: int) -> dict:
    """The studio's duties in ``year`` and in its cycle, as progress (done / required / met):
    each member's reports to the host in the year; the host's and each member's research
    lessons in each term of the year; the studio's offline activities in the cycle. Only
    published (approved) activities count. A handful of grouped queries, whatever the size."""
    kind = studio.kind
    people = list(Membership.objects.filter(
        studio=studio, left_on__isnull=True, role__in=[Membership.Role.HOST, Membership.Role.MEMBER])
        .select_related("teacher").order_by("role", "joined_on", "id"))
    member_ids = [m.teacher_id for m in people if m.role == Membership.Role.MEMBER]
    everyone = [m.teacher_id for m in people]
    year_start, year_end = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    reports = _presentations(studio=studio, kinds=[Activity.Kind.MEMBER_REPORT], teacher_ids=member_ids,
                             start=year_start, end=year_end)
    terms = terms_of_year(year)
    lessons = [_presentations(studio=studio, kinds=[Activity.Kind.OPEN_LESSON], teacher_ids=everyone,
                              start=start, end=end) for start, end in terms]
    lo, hi = _local_range(studio.cycle_start, studio.cycle_end)
    offline = Activity.objects.filter(studio=studio, state=Activity.State.PUBLISHED, is_online=False,
                                      starts_at__gte=lo, starts_at__lt=hi).count()

    def person(m: Membership) -> dict:
        return {"id": m.teacher_id, "real_name": m.teacher.real_name, "role": m.role}

    member_reports = [
        {"teacher": person(m),
         **Progress(reports.get(m.teacher_id, 0), kind.member_reports_per_year).as_dict()}
        for m in people if m.role == Membership.Role.MEMBER
    ]
    research_lessons = [
        {"teacher": person(m), "terms": [
            {"start": start, "end": end - datetime.timedelta(days=1),
             **Progress(counts.get(m.teacher_id, 0), kind.research_lessons_per_term).as_dict()}
            for (start, end), counts in zip(terms, lessons, strict=True)]}
        for m in people
    ]
    for row in research_lessons:
        row["met"] = all(term["met"] for term in row["terms"])
    offline_progress = Progress(offline, kind.offline_activities_per_cycle).as_dict()
    return {
        "studio": studio.pk,
        "year": year,
        "cycle_start": studio.cycle_start,
        "cycle_end": studio.cycle_end,
        "member_reports": member_reports,
        "research_lessons": research_lessons,
        "offline_activities": offline_progress,
        "met": (offline_progress["met"] and all(r["met"] for r in member_reports)
                and all(r["met"] for r in research_lessons)),
    }


# --- statistics (seed 001) -------------------------------------------------------------------

def studio_figures(*, studio_ids, start: datetime.date, end: datetime.date) -> dict[int, dict]:
    """Per studio, for [start, end) (local days): resources, lectures and live lectures (from
    courses), published activities by kind, and the service recorded in that time by the
    studio's current host and members (sum of quantities; events of every kind). One grouped
    query per figure, whatever the number of studios."""
    from courses.selectors import studio_course_figures
    from service_records.hashing import TWO_PLACES
    from service_records.models import ServiceEvent

    studio_ids = list(studio_ids)
    lo, hi = _local_range(start, end)
    out = {sid: {"resources": 0, "lectures": 0, "live_lectures": 0, "activities": 0,
                 "activities_by_kind": dict.fromkeys(Activity.Kind.values, 0),
                 "members_service": Decimal("0.00"), "members_serving": 0} for sid in studio_ids}
    for sid, figures in studio_course_figures(studio_ids, start=start, end=end).items():
        if sid in out:
            for key in ("resources", "lectures", "live_lectures"):
                out[sid][key] = figures.get(key, 0)
    rows = (Activity.objects.filter(studio_id__in=studio_ids, state=Activity.State.PUBLISHED,
                                    starts_at__gte=lo, starts_at__lt=hi)
            .values("studio_id", "kind").annotate(n=Count("pk")).order_by())
    for row in rows:
        out[row["studio_id"]]["activities_by_kind"][row["kind"]] = row["n"]
        out[row["studio_id"]]["activities"] += row["n"]
    via = "teacher__teacher_profile__studio_memberships__"
    service = (ServiceEvent.objects.filter(**{
        f"{via}studio_id__in": studio_ids, f"{via}left_on__isnull": True,
        f"{via}role__in": [Membership.Role.HOST, Membership.Role.MEMBER],
        "occurred_at__gte": lo, "occurred_at__lt": hi})
        .values(f"{via}studio_id").annotate(total=Sum("quantity"), people=Count("teacher_id", distinct=True))
        .order_by())
    for row in service:
        sid = row[f"{via}studio_id"]
        # SQLite sums decimals as floats; the stored two places give the exact sum back.
        out[sid]["members_service"] = Decimal(row["total"] or 0).quantize(TWO_PLACES)
        out[sid]["members_serving"] = row["people"]
    return out


def studio_statistics(*, studio: Studio, year: int) -> dict:
    """One studio's figures for a calendar year and for its cycle."""
    year_figures = studio_figures(studio_ids=[studio.pk], start=datetime.date(year, 1, 1),
                                  end=datetime.date(year + 1, 1, 1))[studio.pk]
    cycle_figures = studio_figures(studio_ids=[studio.pk], start=studio.cycle_start,
                                   end=studio.cycle_end)[studio.pk]
    return {"studio": studio.pk, "year": year, "year_figures": year_figures,
            "cycle_start": studio.cycle_start, "cycle_end": studio.cycle_end, "cycle_figures": cycle_figures}


def can_see_statistics_list(user) -> bool:
    return user.is_authenticated and (user.is_superuser or hasattr(user, "admin_profile"))


def studio_list_for_statistics(*, user) -> QuerySet[Studio]:
    """Studios hosted in the administrator's scope (none for other users)."""
    if not can_see_statistics_list(user):
        return Studio.objects.none()
    return Studio.objects.filter(school_scope_q(user, prefix="host_school__")).select_related(
        "kind", "host_school")


def access_statistics_list(user) -> None:
    if not can_see_statistics_list(user):
        raise Forbidden(_("Only administrators see the statistics of the studios in their region."),
                        code="studio_statistics_forbidden")

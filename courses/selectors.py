"""Reads on courses, lectures and resources, and the one home of their permissions.

Who sees a course (``course_list_visible``): a published (or archived) course is seen by its
audience, a draft only by its editors.
- city-wide: students and teachers of the city's schools, administrators whose scope lies in
  that city;
- school: that school's students and teachers, administrators whose scope contains it;
- studio: the studio's current host, members and trainees, administrators over its host school
  (a teacher's own course without a studio: its owner).

Who edits a course (``can_edit_course``): the studio's current host and members, the owner of a
teacher's own course, and administrators whose scope contains the course's school of record (the
studio's host school, or the owner's school). Editors manage lectures, their staff and the roster.

Who reviews a resource (``can_review_resource``): the studio's current host (for a lecture's
resource: the course's studio host, or the owner of a teacher's own course) and administrators
in scope, never the submitter.

``can_<verb>()`` answers; ``access_<verb>()`` raises :class:`common.errors.Forbidden`.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import user_is_admin
from common.errors import Forbidden
from courses.models import CalendarFeed, Course, Enrolment, Lecture, LectureStaff, Resource
from regions.selectors import school_in_scope, school_scope_q
from studios.models import Membership, Studio

_NOTHING = Q(pk__in=[])
_SHOWN = (Course.Status.PUBLISHED, Course.Status.ARCHIVED)
_EDITING_ROLES = (Membership.Role.HOST, Membership.Role.MEMBER)


# --- helpers ---------------------------------------------------------------------------------

def _teacher(user):
    return getattr(user, "teacher_profile", None) if user.is_authenticated else None


def _own_school(user):
    """The school a teacher or student belongs to (None for others)."""
    for attr in ("teacher_profile", "student_profile"):
        profile = getattr(user, attr, None)
        if profile is not None:
            return profile.school
    return None


def _studio_ids(user, roles=None) -> QuerySet:
    memberships = Membership.objects.filter(teacher_id=user.pk, left_on__isnull=True)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return memberships.values("studio_id")


def _course_admin_q(user, prefix: str = "") -> Q:
    """Courses whose school of record (studio's host school, or owner's school) the user
    administers; ``prefix`` reaches a course from another model (e.g. "lecture__course__")."""
    if not user_is_admin(user):
        return _NOTHING
    return (
        (Q(**{f"{prefix}studio__isnull": False})
         & school_scope_q(user, prefix=f"{prefix}studio__host_school__"))
        | (Q(**{f"{prefix}studio__isnull": True})
           & school_scope_q(user, prefix=f"{prefix}owner__school__"))
    )


def _admin_city_id(user) -> int | None:
    profile = getattr(user, "admin_profile", None)
    if profile is None:
        return None
    if profile.level == "city":
        return profile.region_id
    if profile.level == "county":
        return profile.region.parent_id
    return profile.school.city_id


def _editor_q(user) -> Q:
    q = _course_admin_q(user)
    if _teacher(user) is not None:
        q |= Q(owner_id=user.pk) | Q(studio_id__in=_studio_ids(user, _EDITING_ROLES))
    return q


def _audience_q(user) -> Q:
    q = _NOTHING
    school = _own_school(user)
    if school is not None:
        q |= Q(visibility=Course.Visibility.CITY, city_id=school.city_id)
        q |= Q(visibility=Course.Visibility.SCHOOL, school_id=school.pk)
    if _teacher(user) is not None:
        q |= Q(visibility=Course.Visibility.STUDIO, studio_id__in=_studio_ids(user)) | Q(owner_id=user.pk)
    if user_is_admin(user):
        city_id = _admin_city_id(user)
        if city_id is not None:
            q |= Q(visibility=Course.Visibility.CITY, city_id=city_id)
        q |= Q(visibility=Course.Visibility.SCHOOL) & school_scope_q(user, prefix="school__")
        q |= Q(visibility=Course.Visibility.STUDIO) & _course_admin_q(user)
    return q


def course_school_of_record(course: Course):
    """The school whose administrators govern the course: the studio's host school, or the
    owner's school for a teacher's own course."""
    return course.studio.host_school if course.studio_id else course.owner.school


# --- courses ---------------------------------------------------------------------------------

def course_list_visible(*, user) -> QuerySet[Course]:
    """The courses the user may see (the rules in this module's docstring), with what a list shows."""
    qs = Course.objects.select_related("studio__host_school", "owner__school", "city", "school",
                                       "subject", "stage", "grade")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter((Q(status__in=_SHOWN) & _audience_q(user)) | _editor_q(user))


def course_list_editable(*, user) -> QuerySet[Course]:
    qs = Course.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(_editor_q(user))


def course_list_enrolled(*, user) -> QuerySet[Course]:
    """The courses the user is currently enrolled in (and still sees)."""
    current = Enrolment.objects.filter(course=OuterRef("pk"), user_id=user.pk, left_at__isnull=True)
    return course_list_visible(user=user).filter(Exists(current))


def course_is_enrolled(*, user, course: Course) -> bool:
    return Enrolment.objects.filter(course=course, user_id=user.pk, left_at__isnull=True).exists()


def course_enrolled_count(*, course: Course) -> int:
    return Enrolment.objects.filter(course=course, left_at__isnull=True).count()


def can_see_course(user, course: Course) -> bool:
    return course_list_visible(user=user).filter(pk=course.pk).exists()


def can_edit_course(user, course: Course) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser or (course.owner_id is not None and course.owner_id == user.pk):
        return True
    return course_list_editable(user=user).filter(pk=course.pk).exists()


def can_create_course_in_studio(user, studio: Studio) -> bool:
    """The studio's current host and members, and administrators over its host school."""
    if not user.is_authenticated:
        return False
    if user_is_admin(user) and school_in_scope(user=user, school=studio.host_school):
        return True
    return Membership.objects.filter(studio=studio, teacher_id=user.pk, left_on__isnull=True,
                                     role__in=_EDITING_ROLES).exists()


def access_edit_course(user, course: Course) -> None:
    if not can_edit_course(user, course):
        raise Forbidden(
            _("Only the studio's host and members, the course's owner and administrators in scope "
              "may change the course %(course)s.") % {"course": course.title},
            code="course_edit_forbidden",
        )


def access_create_course_in_studio(user, studio: Studio) -> None:
    if not can_create_course_in_studio(user, studio):
        raise Forbidden(
            _("Only the host and members of %(studio)s and administrators over its host school may "
              "create its courses.") % {"studio": studio.name},
            code="course_create_forbidden",
        )


def access_create_own_course(user) -> None:
    if _teacher(user) is None:
        raise Forbidden(
            _("Only teachers create courses of their own; a studio's course names its studio."),
            code="course_create_forbidden",
        )


def enrolment_list(*, course: Course) -> QuerySet[Enrolment]:
    """The course's current enrolments with what a roster shows (students' school included,
    for the real-name rule)."""
    return (Enrolment.objects.filter(course=course, left_at__isnull=True)
            .select_related("user__student_profile__school", "user__teacher_profile")
            .order_by("enrolled_at", "id"))


# --- lectures --------------------------------------------------------------------------------

def _staff_lecture_ids(user) -> QuerySet:
    return LectureStaff.objects.filter(teacher_id=user.pk).values("lecture_id")


def lecture_list_visible(*, user) -> QuerySet[Lecture]:
    """Lectures of the courses the user sees; drafts only to the course's editors and the
    lecture's staff."""
    qs = Lecture.objects.select_related("course")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    visible = Q(course__in=course_list_visible(user=user).values("pk"))
    editable = Q(course__in=course_list_editable(user=user).values("pk"))
    return qs.filter((visible & ~Q(state=Lecture.State.DRAFT)) | editable
                     | Q(pk__in=_staff_lecture_ids(user)))


def lecture_staff_role(user, lecture: Lecture) -> str | None:
    if not user.is_authenticated:
        return None
    return LectureStaff.objects.filter(lecture_id=lecture.pk, teacher_id=user.pk).values_list(
        "role", flat=True).first()


def can_see_push_url(user, lecture: Lecture, *, editor: bool | None = None) -> bool:
    """The push (RTMP) address carries the stream key: the lecture's staff and the course's editors."""
    if editor is None:
        editor = can_edit_course(user, lecture.course)
    return editor or lecture_staff_role(user, lecture) is not None


def can_run_lecture(user, lecture: Lecture) -> bool:
    """Start and end the stream: the course's editors and the lecture's lecturers and assistants."""
    return can_see_push_url(user, lecture)


def access_run_lecture(user, lecture: Lecture) -> None:
    if not can_run_lecture(user, lecture):
        raise Forbidden(_("Only the lecture's staff and the course's editors may do this."),
                        code="lecture_run_forbidden")


_UNREAD = object()


def lecture_role(user, lecture: Lecture, *, staff_role: str | None | object = _UNREAD) -> str | None:
    """The user's role in the lecture's live room: "lecturer" or "assistant" (its staff),
    "admin" (an administrator over the course's school of record), "viewer" (anyone who sees
    the published course, enrolled or not), or None (may not enter). Three queries at most.

    The live room's door admits thousands of viewers a minute, so the queries can be avoided:
    ``staff_role`` is the user's ``LectureStaff`` role in this lecture (None: not staff) when
    the caller read it already; a lecture loaded with
    ``select_related("course__studio__host_school", "course__owner__school")`` needs no course
    query; and a student (no teacher or administrator profile) is decided from the student's
    school without a query (``_student_sees``). With all three, a student's role takes none."""
    if not user.is_authenticated or not user.is_active:
        return None
    role = lecture_staff_role(user, lecture) if staff_role is _UNREAD else staff_role
    if role is not None:
        return role
    course = _course_with_school_of_record(lecture)
    if user_is_admin(user) and school_in_scope(user=user, school=course_school_of_record(course)):
        return "admin"
    if course.status != Course.Status.PUBLISHED:
        return None
    sees = _student_sees(user, course)
    if sees is None:
        sees = can_see_course(user, course)
    return "viewer" if sees else None


def _course_with_school_of_record(lecture: Lecture) -> Course:
    """The lecture's course with its school of record: the one the lecture came with when
    that was loaded along, else read (one query)."""
    if Lecture._meta.get_field("course").is_cached(lecture):
        course = lecture.course
        name, school = ("studio", "host_school") if course.studio_id else ("owner", "school")
        via = Course._meta.get_field(name)
        if via.is_cached(course):
            related = via.get_cached_value(course)
            if related is not None and related._meta.get_field(school).is_cached(related):
                return course
    return Course.objects.select_related("studio__host_school", "owner__school").get(pk=lecture.course_id)


def _student_sees(user, course: Course) -> bool | None:
    """``can_see_course`` for a student, decided in Python (the student branch of
    ``_audience_q``: city-wide courses of the school's city, school courses of the school; a
    student edits nothing). None for anyone else (teachers, administrators): ask the database."""
    if user.is_superuser or _teacher(user) is not None or user_is_admin(user):
        return None
    school = _own_school(user)
    if school is None or course.status not in _SHOWN:
        return False
    if course.visibility == Course.Visibility.CITY:
        return course.city_id == school.city_id
    if course.visibility == Course.Visibility.SCHOOL:
        return course.school_id == school.pk
    return False


def lecture_staff_list(*, lecture: Lecture) -> QuerySet[LectureStaff]:
    return LectureStaff.objects.filter(lecture=lecture).select_related("teacher__school")


def lecture_list_for_calendar(*, user) -> QuerySet[Lecture]:
    """Lectures of the user's current enrolments and the lectures they teach or assist
    (drafts left out), for the iCalendar feed."""
    enrolled = Enrolment.objects.filter(user_id=user.pk, left_at__isnull=True).values("course_id")
    return (Lecture.objects.exclude(state=Lecture.State.DRAFT)
            .filter(Q(course_id__in=enrolled) | Q(pk__in=_staff_lecture_ids(user)))
            .select_related("course").order_by("starts_at", "id"))


def calendar_feed_by_token(token: str) -> CalendarFeed | None:
    if not token or len(token) > 64:
        return None
    return CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()


# --- resources -------------------------------------------------------------------------------

def _reviewer_q(user) -> Q:
    if not user.is_authenticated:
        return _NOTHING
    hosted = _studio_ids(user, [Membership.Role.HOST])
    q = (Q(studio_id__in=hosted) | Q(lecture__course__studio_id__in=hosted)
         | Q(lecture__course__studio__isnull=True, lecture__course__owner_id=user.pk))
    if user_is_admin(user):
        q |= Q(studio__isnull=False) & school_scope_q(user, prefix="studio__host_school__")
        q |= Q(lecture__isnull=False) & _course_admin_q(user, prefix="lecture__course__")
    return q


def resource_list_visible(*, user) -> QuerySet[Resource]:
    """Published resources of the studios (a public programme) and of the lectures the user
    sees; pending and returned ones only to their submitter and reviewers."""
    qs = Resource.objects.select_related("lecture__course", "studio", "submitted_by")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    lectures = lecture_list_visible(user=user).values("pk")
    published = Q(state=Resource.State.APPROVED) & (Q(studio__isnull=False) | Q(lecture__in=lectures))
    return qs.filter(published | Q(submitted_by_id=user.pk) | _reviewer_q(user))


def can_review_resource(user, resource: Resource) -> bool:
    """The reviewers of the resource's studio or course; the submitter never reviews their own."""
    if not user.is_authenticated or resource.submitted_by_id == user.pk:
        return False
    if user.is_superuser:
        return True
    return Resource.objects.filter(pk=resource.pk).filter(_reviewer_q(user)).exists()


def can_submit_to_studio(user, studio: Studio) -> bool:
    """A teacher with a current role in the studio (host, member or trainee)."""
    return _teacher(user) is not None and Membership.objects.filter(
        studio=studio, teacher_id=user.pk, left_on__isnull=True).exists()


def can_submit_to_lecture(user, lecture: Lecture) -> bool:
    """The lecture's staff and the course's editors."""
    return lecture_staff_role(user, lecture) is not None or can_edit_course(user, lecture.course)


# --- figures for studio statistics -----------------------------------------------------------

def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def studio_course_figures(
    studio_ids, *, start: datetime.date, end: datetime.date,
) -> dict[int, dict[str, int]]:
    """Per studio, for lectures and resources dated in [start, end) (local days):
    ``{"lectures": n, "live_lectures": n, "resources": n}`` — lectures scheduled to start in the
    period (drafts and cancelled ones left out), lectures that went live in it, resources
    published in it (the studio's own and its courses' lectures'). Two grouped queries.
    Studio statistics (studios.selectors) read this."""
    studio_ids = list(studio_ids)
    figures = {pk: {"lectures": 0, "live_lectures": 0, "resources": 0} for pk in studio_ids}
    if not studio_ids:
        return figures
    since, until = _aware(start), _aware(end)
    lectures = (
        Lecture.objects.filter(course__studio_id__in=studio_ids)
        .filter(Q(starts_at__gte=since, starts_at__lt=until)
                | Q(went_live_at__gte=since, went_live_at__lt=until))
        .values("course__studio_id").order_by()
        .annotate(
            lectures=Count("pk", filter=Q(starts_at__gte=since, starts_at__lt=until)
                           & ~Q(state__in=[Lecture.State.DRAFT, Lecture.State.CANCELLED])),
            live=Count("pk", filter=Q(went_live_at__gte=since, went_live_at__lt=until)),
        )
    )
    for row in lectures:
        figures[row["course__studio_id"]].update(lectures=row["lectures"], live_lectures=row["live"])
    resources = (
        Resource.objects.filter(state=Resource.State.APPROVED, published_at__gte=since,
                                published_at__lt=until)
        .filter(Q(studio_id__in=studio_ids) | Q(lecture__course__studio_id__in=studio_ids))
        .annotate(owner_studio=Coalesce("studio_id", "lecture__course__studio_id"))
        .values("owner_studio").order_by().annotate(n=Count("pk"))
    )
    for row in resources:
        figures[row["owner_studio"]]["resources"] = row["n"]
    return figures

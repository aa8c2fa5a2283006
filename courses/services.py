"""Writes on courses, enrolments, lectures, resources and calendar feeds.

Every service is atomic, checks permissions through ``courses.selectors`` and raises a
ServiceError with a stable code: 403 for who may not, 409 (``*_state``) for an action refused
from the current state, 400 for bad values. Services that check a count or a state lock the row
first (``SELECT ... FOR UPDATE``). Service events (``service_records``) are recorded inside the
same transaction; hooks for other apps (``courses.signals``) run after commit.

Lecture states: draft -> scheduled -> live -> ended -> replay; draft/scheduled -> cancelled.
Course status: draft -> published <-> archived.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TeacherProfile, User
from common.errors import Conflict, Forbidden, NotFound, ServiceError
from courses import signals
from courses.files import check_cover_upload, check_resource_upload
from courses.models import CalendarFeed, Course, Enrolment, Lecture, LectureStaff, Resource
from courses.selectors import (
    access_create_course_in_studio,
    access_create_own_course,
    access_edit_course,
    access_run_lecture,
    can_review_resource,
    can_see_course,
    can_submit_to_lecture,
    can_submit_to_studio,
)
from notifications.services import notify
from regions.models import School
from service_records.services import service_event_record
from studios.models import Studio

COURSE_EDITABLE_FIELDS = frozenset({"title", "description", "subject", "stage", "grade", "visibility",
                                    "school", "enrolment_open", "capacity"})
LECTURE_EDITABLE_FIELDS = frozenset({"title", "description", "starts_at", "ends_at", "stream_push_url",
                                     "stream_play_url"})
# What may still change once a lecture is live: only where the stream is.
_LIVE_EDITABLE_FIELDS = frozenset({"description", "stream_push_url", "stream_play_url"})


def _stamp(instance, actor: User | None, reason: str = "") -> None:
    if actor is not None and actor.is_authenticated:
        instance._history_user = actor
    if reason:
        instance._change_reason = reason[:100]


def _course_changed(course_id: int) -> None:
    transaction.on_commit(lambda: signals.send_after_commit_now(
        signals.course_changed, sender=Course, course_id=course_id))


def _lock_course(course: Course | int) -> Course:
    pk = course.pk if isinstance(course, Course) else course
    return (Course.objects.select_for_update(of=("self",))
            .select_related("studio__host_school", "owner__school").get(pk=pk))


def _lock_lecture(lecture: Lecture | int) -> Lecture:
    pk = lecture.pk if isinstance(lecture, Lecture) else lecture
    return (Lecture.objects.select_for_update(of=("self",))
            .select_related("course__studio__host_school", "course__owner__school").get(pk=pk))


def _clean_title(title: str, field: str = "title") -> str:
    title = (title or "").strip()
    if not title:
        message = _("Give a title.")
        raise ServiceError(message, code="title_required", fields={field: [message]})
    return title


# --- courses ---------------------------------------------------------------------------------

def _check_course_values(*, visibility: str, school: School | None, studio: Studio | None,
                         city_id: int) -> None:
    if visibility == Course.Visibility.SCHOOL:
        if school is None:
            message = _("A school-only course names its school.")
            raise ServiceError(message, code="course_school_required", fields={"school": [message]})
        if school.city_id != city_id:
            message = _("The school must be in the course's city.")
            raise ServiceError(message, code="course_school_invalid", fields={"school": [message]})
    if visibility == Course.Visibility.STUDIO and studio is None:
        message = _("Only a studio's course can be visible to the studio only.")
        raise ServiceError(message, code="course_visibility_invalid", fields={"visibility": [message]})


def _check_studio_open(studio: Studio) -> None:
    if not studio.is_active:
        raise Conflict(_("The studio %(studio)s is closed.") % {"studio": studio.name}, code="studio_closed")


@transaction.atomic
def course_create(
    *,
    actor: User,
    title: str,
    studio: Studio | None = None,
    description: str = "",
    subject=None,
    stage=None,
    grade=None,
    visibility: str = Course.Visibility.CITY,
    school: School | None = None,
    enrolment_open: bool = True,
    capacity: int | None = None,
) -> Course:
    """Creates a draft course. With ``studio``: a course of that (active) studio, created by its
    host, a member or an administrator over its host school. Without: a teacher's own course,
    owned by the acting teacher. The city is the studio's (or the owner's school's) city."""
    if studio is not None:
        access_create_course_in_studio(actor, studio)
        _check_studio_open(studio)
        owner, city_id = None, studio.host_school.city_id
    else:
        access_create_own_course(actor)
        owner = actor.teacher_profile
        city_id = owner.school.city_id
    _check_course_values(visibility=visibility, school=school, studio=studio, city_id=city_id)
    course = Course(
        title=_clean_title(title), description=description, studio=studio, owner=owner, city_id=city_id,
        school=school, subject=subject, stage=stage, grade=grade, visibility=visibility,
        enrolment_open=enrolment_open, capacity=capacity, created_by=actor,
    )
    _stamp(course, actor, "created")
    course.save()
    _course_changed(course.pk)
    return course


@transaction.atomic
def course_update(*, actor: User, course: Course, data: Mapping[str, Any]) -> Course:
    """Changes the course's descriptive data, audience and enrolment settings (editors only).
    Lowering the capacity below the current enrolments is allowed: nobody is removed, new
    enrolments wait until there is room."""
    unknown = set(data) - COURSE_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"course_update cannot change {sorted(unknown)}")
    course = _lock_course(course)
    access_edit_course(actor, course)
    changes = {field: value for field, value in data.items() if getattr(course, field) != value}
    if not changes:
        return course
    if "title" in changes:
        changes["title"] = _clean_title(changes["title"])
    _check_course_values(visibility=changes.get("visibility", course.visibility),
                         school=changes.get("school", course.school), studio=course.studio,
                         city_id=course.city_id)
    for field, value in changes.items():
        setattr(course, field, value)
    _stamp(course, actor, "updated: " + ", ".join(sorted(changes)))
    course.save(update_fields=[*changes, "updated_at"])
    _course_changed(course.pk)
    return course


def _course_state(course: Course, allowed: set[str], action: str) -> None:
    if course.status not in allowed:
        raise Conflict(
            _("The course is %(status)s; it cannot be %(action)s.")
            % {"status": course.get_status_display(), "action": action},
            code="course_state",
        )


@transaction.atomic
def course_publish(*, actor: User, course: Course) -> Course:
    """Draft or archived -> published: the course's audience sees it and may enrol."""
    course = _lock_course(course)
    access_edit_course(actor, course)
    _course_state(course, {Course.Status.DRAFT, Course.Status.ARCHIVED}, _("published"))
    if course.studio_id:
        _check_studio_open(course.studio)
    course.status = Course.Status.PUBLISHED
    _stamp(course, actor, "published")
    course.save(update_fields=["status", "updated_at"])
    _course_changed(course.pk)
    return course


@transaction.atomic
def course_archive(*, actor: User, course: Course) -> Course:
    """Published -> archived: still visible to its audience, closed for enrolment."""
    course = _lock_course(course)
    access_edit_course(actor, course)
    _course_state(course, {Course.Status.PUBLISHED}, _("archived"))
    course.status = Course.Status.ARCHIVED
    _stamp(course, actor, "archived")
    course.save(update_fields=["status", "updated_at"])
    _course_changed(course.pk)
    return course


@transaction.atomic
def course_cover_set(*, actor: User, course: Course, upload) -> Course:
    """Replaces the course's cover with an image (PNG, JPEG or WebP, content checked, at most
    COURSE_COVER_MAX_BYTES). The old file is deleted after commit."""
    course = _lock_course(course)
    access_edit_course(actor, course)
    check_cover_upload(upload)
    old = course.cover.name if course.cover else ""
    storage = course.cover.storage
    course.cover.save(upload.name, upload, save=False)
    new = course.cover.name
    _stamp(course, actor, "cover changed")
    try:
        with transaction.atomic():
            course.save(update_fields=["cover", "updated_at"])
    except BaseException:
        storage.delete(new)
        raise
    if old:
        transaction.on_commit(lambda: storage.delete(old))
    _course_changed(course.pk)
    return course


# --- enrolments ------------------------------------------------------------------------------

@transaction.atomic
def enrolment_create(*, actor: User, course: Course) -> Enrolment:
    """Enrols the user in a published course they can see, while it is open for enrolment and
    has room. The course row is locked, so two users taking the last place are served in turn."""
    course = _lock_course(course)
    if not can_see_course(actor, course):
        raise NotFound(_("No such course."))
    if course.status != Course.Status.PUBLISHED:
        raise Conflict(_("Only a published course takes enrolments."), code="course_state")
    if not course.enrolment_open:
        raise Conflict(_("This course is closed for enrolment."), code="enrolment_closed")
    current = Enrolment.objects.filter(course=course, left_at__isnull=True)
    if current.filter(user=actor).exists():
        raise Conflict(_("You are already enrolled in this course."), code="already_enrolled")
    if course.capacity is not None and current.count() >= course.capacity:
        raise Conflict(_("This course is full (%(capacity)s places).") % {"capacity": course.capacity},
                       code="course_full")
    try:
        with transaction.atomic():
            return Enrolment.objects.create(course=course, user=actor)
    except IntegrityError as exc:  # only where the row lock is a no-op (SQLite)
        raise Conflict(_("You are already enrolled in this course."), code="already_enrolled") from exc


@transaction.atomic
def enrolment_leave(*, actor: User, course: Course) -> Enrolment:
    """Ends the user's current enrolment (the row stays, with the day they left)."""
    enrolment = (Enrolment.objects.select_for_update()
                 .filter(course=course, user=actor, left_at__isnull=True).first())
    if enrolment is None:
        raise Conflict(_("You are not enrolled in this course."), code="not_enrolled")
    enrolment.left_at = timezone.now()
    enrolment.save(update_fields=["left_at"])
    return enrolment


# --- lectures --------------------------------------------------------------------------------

def _check_times(starts_at: datetime.datetime, ends_at: datetime.datetime) -> None:
    if ends_at <= starts_at:
        message = _("A lecture must end after it starts.")
        raise ServiceError(message, code="lecture_times_invalid", fields={"ends_at": [message]})


@transaction.atomic
def lecture_create(
    *,
    actor: User,
    course: Course,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    description: str = "",
    stream_push_url: str = "",
    stream_play_url: str = "",
) -> Lecture:
    """Creates a draft lecture of the course (its editors; not in an archived course)."""
    course = _lock_course(course)
    access_edit_course(actor, course)
    if course.status == Course.Status.ARCHIVED:
        raise Conflict(_("The course is archived; it takes no new lectures."), code="course_state")
    _check_times(starts_at, ends_at)
    lecture = Lecture(course=course, title=_clean_title(title), description=description,
                      starts_at=starts_at, ends_at=ends_at, stream_push_url=stream_push_url,
                      stream_play_url=stream_play_url, created_by=actor)
    _stamp(lecture, actor, "created")
    lecture.save()
    return lecture


@transaction.atomic
def lecture_update(*, actor: User, lecture: Lecture, data: Mapping[str, Any]) -> Lecture:
    """Changes a draft or scheduled lecture; a live one only its description and stream
    addresses; an ended, replayed or cancelled one not at all (409)."""
    unknown = set(data) - LECTURE_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"lecture_update cannot change {sorted(unknown)}")
    lecture = _lock_lecture(lecture)
    access_edit_course(actor, lecture.course)
    changes = {field: value for field, value in data.items() if getattr(lecture, field) != value}
    if not changes:
        return lecture
    if lecture.state in (Lecture.State.DRAFT, Lecture.State.SCHEDULED):
        allowed = LECTURE_EDITABLE_FIELDS
    elif lecture.state == Lecture.State.LIVE:
        allowed = _LIVE_EDITABLE_FIELDS
    else:
        allowed = frozenset()
    refused = sorted(set(changes) - allowed)
    if refused:
        raise Conflict(
            _("The lecture is %(state)s; %(fields)s can no longer change.")
            % {"state": lecture.get_state_display(), "fields": ", ".join(refused)},
            code="lecture_state",
        )
    if "title" in changes:
        changes["title"] = _clean_title(changes["title"])
    _check_times(changes.get("starts_at", lecture.starts_at), changes.get("ends_at", lecture.ends_at))
    for field, value in changes.items():
        setattr(lecture, field, value)
    _stamp(lecture, actor, "updated: " + ", ".join(sorted(changes)))
    lecture.save(update_fields=[*changes, "updated_at"])
    return lecture


@transaction.atomic
def lecture_delete(*, actor: User, lecture: Lecture) -> None:
    """Deletes a draft lecture without resources; any other lecture is cancelled instead."""
    lecture = _lock_lecture(lecture)
    access_edit_course(actor, lecture.course)
    if lecture.state != Lecture.State.DRAFT:
        raise Conflict(_("Only a draft lecture can be deleted; cancel it instead."), code="lecture_state")
    try:
        with transaction.atomic():
            _stamp(lecture, actor, "deleted")
            lecture.delete()
    except ProtectedError as exc:
        raise Conflict(_("The lecture has resources; cancel it instead."),
                       code="lecture_has_resources") from exc


_FINISHED = (Lecture.State.ENDED, Lecture.State.REPLAY, Lecture.State.CANCELLED)


@transaction.atomic
def lecture_staff_add(*, actor: User, lecture: Lecture, teacher: TeacherProfile, role: str) -> LectureStaff:
    """Gives a teacher a role (lecturer or assistant) in a lecture that has not finished."""
    lecture = _lock_lecture(lecture)
    access_edit_course(actor, lecture.course)
    if lecture.state in _FINISHED:
        raise Conflict(_("The lecture is %(state)s; its staff can no longer change.")
                       % {"state": lecture.get_state_display()}, code="lecture_state")
    if not teacher.user.is_active:
        message = _("This account is deactivated.")
        raise ServiceError(message, code="teacher_inactive", fields={"teacher": [message]})
    if LectureStaff.objects.filter(lecture=lecture, teacher=teacher).exists():
        raise Conflict(_("%(teacher)s already has a role in this lecture.") % {"teacher": teacher.real_name},
                       code="lecture_staff_exists")
    staff = LectureStaff(lecture=lecture, teacher=teacher, role=role)
    _stamp(staff, actor, f"added as {role}")
    try:
        with transaction.atomic():
            staff.save()
    except IntegrityError as exc:
        raise Conflict(_("%(teacher)s already has a role in this lecture.") % {"teacher": teacher.real_name},
                       code="lecture_staff_exists") from exc
    return staff


@transaction.atomic
def lecture_staff_remove(*, actor: User, staff: LectureStaff) -> None:
    """Removes a teacher's role from a lecture that has not finished (the staff of a lecture
    given stays: it is the evidence of the service recorded)."""
    lecture = _lock_lecture(staff.lecture_id)
    access_edit_course(actor, lecture.course)
    if lecture.state in _FINISHED:
        raise Conflict(_("The lecture is %(state)s; its staff can no longer change.")
                       % {"state": lecture.get_state_display()}, code="lecture_state")
    _stamp(staff, actor, "removed")
    staff.delete()


def _move(lecture: Lecture, *, allowed: tuple[str, ...], to: str, actor: User) -> None:
    if lecture.state not in allowed:
        raise Conflict(
            _("The lecture is %(state)s; it can become %(to)s only from %(allowed)s.")
            % {"state": lecture.get_state_display(), "to": Lecture.State(to).label,
               "allowed": ", ".join(str(Lecture.State(s).label) for s in allowed)},
            code="lecture_state",
        )
    lecture.state = to
    _stamp(lecture, actor, to)


@transaction.atomic
def lecture_schedule(*, actor: User, lecture: Lecture) -> Lecture:
    """Draft -> scheduled (the course's editors). Needs at least one lecturer and a published
    course; enrolled users are reminded before the start (``lecture_reminders_send``)."""
    lecture = _lock_lecture(lecture)
    access_edit_course(actor, lecture.course)
    _move(lecture, allowed=(Lecture.State.DRAFT,), to=Lecture.State.SCHEDULED, actor=actor)
    if lecture.course.status != Course.Status.PUBLISHED:
        raise Conflict(_("Publish the course before scheduling its lectures."), code="course_state")
    if not lecture.staff.filter(role=LectureStaff.Role.LECTURER).exists():
        message = _("Add a lecturer before scheduling the lecture.")
        raise ServiceError(message, code="lecture_needs_lecturer")
    lecture.save(update_fields=["state", "updated_at"])
    return lecture


@transaction.atomic
def lecture_go_live(*, actor: User, lecture: Lecture) -> Lecture:
    """Scheduled -> live (its staff and the course's editors); records when it went live."""
    lecture = _lock_lecture(lecture)
    access_run_lecture(actor, lecture)
    _move(lecture, allowed=(Lecture.State.SCHEDULED,), to=Lecture.State.LIVE, actor=actor)
    lecture.went_live_at = timezone.now()
    lecture.save(update_fields=["state", "went_live_at", "updated_at"])
    return lecture


@transaction.atomic
def lecture_end(*, actor: User, lecture: Lecture) -> Lecture:
    """Live -> ended (its staff and the course's editors). Records ``lecture_delivered`` for
    each lecturer in this transaction (key ``lecture:{id}:delivered:{teacher_id}``, so never
    twice), then, after commit, sends ``courses.signals.lecture_ended`` (live minutes)."""
    lecture = _lock_lecture(lecture)
    access_run_lecture(actor, lecture)
    _move(lecture, allowed=(Lecture.State.LIVE,), to=Lecture.State.ENDED, actor=actor)
    lecture.ended_at = timezone.now()
    lecture.save(update_fields=["state", "ended_at", "updated_at"])
    lecturers = lecture.staff.filter(role=LectureStaff.Role.LECTURER).values_list("teacher_id", flat=True)
    for teacher_id in lecturers:
        service_event_record(
            teacher_id=teacher_id, kind="lecture_delivered", occurred_at=lecture.ended_at,
            idempotency_key=f"lecture:{lecture.pk}:delivered:{teacher_id}", source=lecture,
            recorded_by_id=actor.pk,
        )
    transaction.on_commit(lambda: signals.send_after_commit_now(
        signals.lecture_ended, sender=Lecture, lecture=lecture))
    return lecture


@transaction.atomic
def lecture_publish_replay(*, actor: User, lecture: Lecture, replay_url: str) -> Lecture:
    """Ended -> replay available, with the recording's address (its staff and the course's
    editors); publishing again replaces the address."""
    lecture = _lock_lecture(lecture)
    access_run_lecture(actor, lecture)
    replay_url = (replay_url or "").strip()
    if not replay_url:
        message = _("Give the recording's address.")
        raise ServiceError(message, code="replay_url_required", fields={"replay_url": [message]})
    _move(lecture, allowed=(Lecture.State.ENDED, Lecture.State.REPLAY), to=Lecture.State.REPLAY,
          actor=actor)
    lecture.replay_url = replay_url
    lecture.save(update_fields=["state", "replay_url", "updated_at"])
    return lecture


@transaction.atomic
def lecture_cancel(*, actor: User, lecture: Lecture) -> Lecture:
    """Draft or scheduled -> cancelled (the course's editors). Users enrolled in the course of
    a scheduled lecture are notified (once)."""
    lecture = _lock_lecture(lecture)
    access_edit_course(actor, lecture.course)
    was_scheduled = lecture.state == Lecture.State.SCHEDULED
    _move(lecture, allowed=(Lecture.State.DRAFT, Lecture.State.SCHEDULED), to=Lecture.State.CANCELLED,
          actor=actor)
    lecture.save(update_fields=["state", "updated_at"])
    if was_scheduled:
        recipients = Enrolment.objects.filter(course_id=lecture.course_id, left_at__isnull=True)
        notify(recipient_ids=recipients.values_list("user_id", flat=True).iterator(chunk_size=2000),
               kind="lecture.cancelled", title=_("Lecture cancelled: %(title)s") % {"title": lecture.title},
               body=_("%(course)s: the lecture planned for %(start)s will not take place.")
               % {"course": lecture.course.title,
                  "start": timezone.localtime(lecture.starts_at).strftime("%Y-%m-%d %H:%M")},
               link=f"/api/v1/lectures/{lecture.pk}/", dedupe_key=f"lecture:{lecture.pk}:cancelled")
    return lecture


def lecture_peak_viewers_record(*, lecture_id: int, viewers: int) -> bool:
    """Raises the lecture's peak concurrent viewers to ``viewers`` if that is higher (the live
    rooms report it). One conditional UPDATE: concurrent reports never lower the peak."""
    return bool(Lecture.objects.filter(pk=lecture_id, peak_viewers__lt=viewers).update(peak_viewers=viewers))


# --- reminders -------------------------------------------------------------------------------

def lecture_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Reminds the users enrolled in each scheduled lecture that starts within
    LECTURE_REMINDER_MINUTES and was not reminded yet; returns how many lectures were reminded.

    Safe to run twice at once: each lecture is claimed by ``UPDATE ... WHERE reminded_at IS
    NULL`` in the transaction that writes its notifications (a concurrent run waits on the row
    and then claims nothing), and the notifications carry the dedupe key
    ``lecture:{id}:reminder``. Notifications are written in bulk batches."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(minutes=settings.LECTURE_REMINDER_MINUTES)
    due = list(
        Lecture.objects.filter(state=Lecture.State.SCHEDULED, reminded_at__isnull=True,
                               starts_at__gt=now, starts_at__lte=horizon)
        .values_list("pk", flat=True)[:500]
    )
    reminded = 0
    for lecture_id in due:
        with transaction.atomic():
            claimed = Lecture.objects.filter(pk=lecture_id, state=Lecture.State.SCHEDULED,
                                             reminded_at__isnull=True).update(reminded_at=now)
            if not claimed:
                continue
            lecture = Lecture.objects.select_related("course").get(pk=lecture_id)
            recipients = Enrolment.objects.filter(course_id=lecture.course_id, left_at__isnull=True)
            start = timezone.localtime(lecture.starts_at).strftime("%H:%M")
            notify(
                recipient_ids=recipients.values_list("user_id", flat=True).iterator(chunk_size=2000),
                kind="lecture.reminder",
                title=_("Starting soon: %(title)s") % {"title": lecture.title},
                body=_("%(course)s: the lecture starts at %(start)s.") % {"course": lecture.course.title,
                                                                         "start": start},
                link=f"/api/v1/lectures/{lecture.pk}/",
                dedupe_key=f"lecture:{lecture.pk}:reminder",
            )
            reminded += 1
    return reminded


# --- resources -------------------------------------------------------------------------------

@transaction.atomic
def resource_submit(
    *,
    actor: User,
    upload,
    title: str,
    description: str = "",
    lecture: Lecture | None = None,
    studio: Studio | None = None,
) -> Resource:
    """Stores a file for review, attached to a lecture (its staff or the course's editors
    submit) or to a studio (a teacher with a current role in it). The file passes the type and
    size limits of settings and is stored under a random name; the original name is kept."""
    if (lecture is None) == (studio is None):
        message = _("Attach the resource to a lecture or to a studio.")
        raise ServiceError(message, code="resource_target_invalid", fields={"lecture": [message]})
    if lecture is not None and not can_submit_to_lecture(actor, lecture):
        raise Forbidden(_("Only the lecture's staff and the course's editors may add its resources."),
                        code="resource_submit_forbidden")
    if studio is not None:
        if not can_submit_to_studio(actor, studio):
            raise Forbidden(_("Only the host, members and trainees of %(studio)s may add its resources.")
                            % {"studio": studio.name}, code="resource_submit_forbidden")
        _check_studio_open(studio)
    content_type = check_resource_upload(upload)
    resource = Resource(lecture=lecture, studio=studio, title=_clean_title(title), description=description,
                        original_name=(upload.name or "file")[-255:], content_type=content_type,
                        size=upload.size, submitted_by=actor)
    resource.file.save(upload.name, upload, save=False)
    stored = resource.file.name
    storage = resource.file.storage
    try:
        with transaction.atomic():
            _stamp(resource, actor, "submitted")
            resource.save()
    except BaseException:
        storage.delete(stored)
        raise
    return resource


def _lock_resource(resource: Resource) -> Resource:
    return (Resource.objects.select_for_update(of=("self",))
            .select_related("studio", "lecture__course").get(pk=resource.pk))


def _check_reviewer(actor: User, resource: Resource) -> None:
    if resource.submitted_by_id == actor.pk:
        raise Forbidden(_("Nobody reviews their own submission; ask the studio's host or an administrator."),
                        code="resource_own_review")
    if not can_review_resource(actor, resource):
        raise Forbidden(_("Only the studio's host and administrators in scope review its resources."),
                        code="resource_review_forbidden")
    if resource.state != Resource.State.SUBMITTED:
        raise Conflict(_("The resource is %(state)s; only a submitted resource is reviewed.")
                       % {"state": resource.get_state_display()}, code="resource_state")


@transaction.atomic
def resource_approve(*, actor: User, resource: Resource) -> Resource:
    """Submitted -> approved (published), by a reviewer who is not the submitter. Records
    ``resource_published`` in the submitter's service record (a teacher's) in this transaction."""
    resource = _lock_resource(resource)
    _check_reviewer(actor, resource)
    now = timezone.now()
    resource.state = Resource.State.APPROVED
    resource.reviewed_by = actor
    resource.reviewed_at = now
    resource.published_at = now
    resource.review_comment = ""
    _stamp(resource, actor, "approved")
    resource.save(update_fields=["state", "reviewed_by", "reviewed_at", "published_at", "review_comment"])
    if TeacherProfile.objects.filter(pk=resource.submitted_by_id).exists():
        service_event_record(
            teacher_id=resource.submitted_by_id, kind="resource_published", occurred_at=now,
            idempotency_key=f"resource:{resource.pk}:published", source=resource,
            accepted=True, review_outcome="approved", recorded_by_id=actor.pk,
        )
    return resource


@transaction.atomic
def resource_return(*, actor: User, resource: Resource, comment: str) -> Resource:
    """Submitted -> returned with a comment saying what to change (the submitter is notified;
    they submit a corrected file as a new resource)."""
    comment = (comment or "").strip()
    if not comment:
        message = _("Say what should change.")
        raise ServiceError(message, code="comment_required", fields={"comment": [message]})
    resource = _lock_resource(resource)
    _check_reviewer(actor, resource)
    resource.state = Resource.State.RETURNED
    resource.reviewed_by = actor
    resource.reviewed_at = timezone.now()
    resource.review_comment = comment
    _stamp(resource, actor, "returned")
    resource.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_comment"])
    notify(recipient_ids=[resource.submitted_by_id], kind="resource.returned",
           title=_("Resource returned: %(title)s") % {"title": resource.title}, body=comment,
           link=f"/api/v1/resources/{resource.pk}/", dedupe_key=f"resource:{resource.pk}:returned")
    return resource


# --- calendar feeds --------------------------------------------------------------------------

def _new_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def calendar_feed_get_or_create(*, user: User) -> CalendarFeed:
    """The user's feed, created with a fresh secret token on first use."""
    feed, _created = CalendarFeed.objects.get_or_create(user=user, defaults={"token": _new_token()})
    return feed


@transaction.atomic
def calendar_feed_rotate(*, user: User) -> CalendarFeed:
    """A new secret token: the previous feed address stops working at once."""
    feed, created = CalendarFeed.objects.select_for_update().get_or_create(
        user=user, defaults={"token": _new_token()})
    if not created:
        feed.token = _new_token()
        feed.save(update_fields=["token", "created_at"])
    return feed


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> None:
    """No feed any more: the address stops working; asking again creates a new one."""
    CalendarFeed.objects.filter(user=user).delete()

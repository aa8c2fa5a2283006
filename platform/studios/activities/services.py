"""Writes on studio activities: the paper trail of seed 004 art. 8 and trainees' attendance
(art. 7). Every change goes through one of these functions.

Each is atomic and locks the activity's row (``SELECT ... FOR UPDATE``) before it reads its
state, so two reviewers (or a reviewer and an author resubmitting) are served one after the
other and the second is refused by the state check (409). Permissions are checked on the locked
row (``studios.activities.selectors``). Approval records the presenters' service events and
ends the traineeships that reached the absence limit, in the same transaction; every other
transition records nothing, so a returned or never-reviewed report is never counted.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TeacherProfile, User
from common.errors import Conflict, Forbidden, ServiceError
from notifications.services import notify
from regions.models import Region, School
from service_records.services import service_event_record
from studios.activities.models import (
    Activity,
    ActivityAttachment,
    ActivityReview,
    Attendance,
    LeaveRequest,
)
from studios.activities.selectors import (
    access_manage_activities,
    access_review,
    access_write_report,
    service_event_kind,
    trainees_on,
    unexcused_absences,
)
from studios.models import Membership, Studio
from studios.services import _check_open, _lock, _stamp, membership_end

#: What a client may change on a draft or announced activity (before it starts).
EDITABLE_FIELDS = frozenset({"kind", "title", "notice", "is_online", "place", "starts_at", "ends_at",
                             "presenters", "served_county", "served_school"})
#: Files a report may carry: documents, slides, sheets and pictures (checked by suffix).
ATTACHMENT_SUFFIXES = frozenset({".pdf", ".doc", ".docx", ".ppt", ".pptx", ".xls", ".xlsx", ".txt",
                                 ".jpg", ".jpeg", ".png", ".gif", ".webp"})
MAX_ATTACHMENTS = 20
_EDITABLE_STATES = frozenset({Activity.State.DRAFT, Activity.State.ANNOUNCED})
_REPORTABLE_STATES = frozenset({Activity.State.ANNOUNCED, Activity.State.RETURNED})


def _now() -> datetime.datetime:
    return timezone.now()


def _lock_activity(activity: Activity | int) -> Activity:
    pk = activity.pk if isinstance(activity, Activity) else activity
    return (Activity.objects.select_for_update(of=("self",))
            .select_related("studio__kind", "studio__host_school").get(pk=pk))


def _wrong_state(activity: Activity, action: str) -> Conflict:
    return Conflict(
        _("%(activity)s is %(state)s; it cannot be %(action)s now.")
        % {"activity": activity.title, "state": activity.get_state_display(), "action": action},
        code="activity_state",
    )


def _started(activity: Activity, action: str) -> Conflict:
    return Conflict(
        _("%(activity)s started at %(time)s; it can no longer be %(action)s.")
        % {"activity": activity.title, "action": action,
           "time": timezone.localtime(activity.starts_at).strftime("%Y-%m-%d %H:%M")},
        code="activity_started",
    )


def _field_error(field: str, message: str, code: str) -> ServiceError:
    return ServiceError(message, code=code, fields={field: [message]})


def _check_details(*, studio: Studio, values: Mapping[str, Any]) -> None:
    """The rules on an activity's details, whichever of them changed."""
    starts_at, ends_at = values["starts_at"], values["ends_at"]
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise _field_error("starts_at", _("Give times with their time zone."), "activity_time_invalid")
    try:  # stored in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts
        values["starts_at"] = starts_at = starts_at.astimezone(datetime.UTC)
        values["ends_at"] = ends_at = ends_at.astimezone(datetime.UTC)
    except OverflowError as exc:
        raise _field_error("starts_at", _("Give a realistic time."), "activity_time_invalid") from exc
    if ends_at <= starts_at:
        raise _field_error("ends_at", _("An activity must end after it starts."), "activity_time_invalid")
    if ends_at - starts_at > datetime.timedelta(days=7):
        raise _field_error("ends_at", _("An activity lasts at most 7 days; plan longer work as several."),
                           "activity_time_invalid")
    if starts_at <= _now():
        raise _field_error("starts_at", _("An activity is planned before it starts: give a future time."),
                           "activity_time_invalid")
    day = timezone.localdate(starts_at)
    if not studio.cycle_start <= day < studio.cycle_end:
        raise _field_error(
            "starts_at", _("The activity must take place within the studio's cycle (%(start)s to %(end)s).")
            % {"start": studio.cycle_start.isoformat(), "end": studio.cycle_end.isoformat()},
            "activity_time_invalid")
    if not values["is_online"] and not values["place"].strip():
        raise _field_error("place", _("Say where an activity held in person takes place."),
                           "activity_place_required")
    presenters: list[TeacherProfile] = values["presenters"]
    if presenters:
        roles = dict(Membership.objects.filter(studio=studio, left_on__isnull=True,
                                               teacher__in=presenters).values_list("teacher_id", "role"))
        outsiders = [t.real_name for t in presenters if t.pk not in roles]
        if outsiders:
            raise _field_error("presenters", _("Presenters must belong to the studio: %(names)s do not.")
                               % {"names": ", ".join(outsiders)}, "activity_presenter_invalid")
        if values["kind"] == Activity.Kind.MEMBER_REPORT and any(
                roles[t.pk] != Membership.Role.MEMBER for t in presenters):
            raise _field_error("presenters", _("A member report is given by members of the studio."),
                               "activity_presenter_invalid")
    elif values["kind"] in (Activity.Kind.MEMBER_REPORT, Activity.Kind.OPEN_LESSON):
        raise _field_error("presenters", _("Name who gives this report or lesson."),
                           "activity_presenter_required")
    county: Region | None = values["served_county"]
    school: School | None = values["served_school"]
    if county is not None and county.kind != Region.Kind.COUNTY:
        raise _field_error("served_county", _("Choose a county."), "activity_county_invalid")
    if county is not None and school is not None and school.county_id != county.pk:
        raise _field_error("served_school", _("The school served is not in the county served."),
                           "activity_county_invalid")
    if values["kind"] == Activity.Kind.OUTREACH and county is None and school is None:
        raise _field_error("served_county", _("Say which county or school the outreach serves."),
                           "activity_county_required")


@transaction.atomic
def activity_create(
    *,
    actor: User,
    studio: Studio,
    kind: str,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    notice: str = "",
    is_online: bool = False,
    place: str = "",
    presenters: Iterable[TeacherProfile] = (),
    served_county: Region | None = None,
    served_school: School | None = None,
) -> Activity:
    """Plans an activity of an open studio, as a draft. Only the studio's host and the
    administrators of its region; it must start in the future, within the studio's cycle;
    presenters belong to the studio (a member report: members); outreach names what it serves."""
    studio = _lock(studio)
    access_manage_activities(actor, studio)
    _check_open(studio)
    title = (title or "").strip()
    if not title:
        raise _field_error("title", _("Give the activity a title."), "activity_title_required")
    if served_school is not None and served_county is None:
        served_county = served_school.county
    values = {"kind": kind, "title": title, "notice": notice, "is_online": is_online, "place": place or "",
              "starts_at": starts_at, "ends_at": ends_at, "presenters": list(presenters),
              "served_county": served_county, "served_school": served_school}
    _check_details(studio=studio, values=values)
    activity = Activity(studio=studio, created_by=actor,
                        **{k: v for k, v in values.items() if k != "presenters"})
    _stamp(activity, actor, "created")
    activity.save()
    activity.presenters.set(values["presenters"])
    return activity


@transaction.atomic
def activity_update(*, actor: User, activity: Activity, data: Mapping[str, Any]) -> Activity:
    """Changes a draft or announced activity before it starts (the notice says what will happen,
    so it may be corrected until then). Same people and rules as activity_create."""
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"activity_update cannot change {sorted(unknown)}")
    activity = _lock_activity(activity)
    access_manage_activities(actor, activity.studio)
    if activity.state not in _EDITABLE_STATES:
        raise _wrong_state(activity, _("changed"))
    if activity.starts_at <= _now():
        raise _started(activity, _("changed"))
    values = {field: getattr(activity, field) for field in EDITABLE_FIELDS if field != "presenters"}
    values["presenters"] = list(activity.presenters.all())
    values.update(data)
    if "served_school" in data and data["served_school"] is not None and "served_county" not in data:
        values["served_county"] = data["served_school"].county
    values["title"] = (values["title"] or "").strip()
    if not values["title"]:
        raise _field_error("title", _("Give the activity a title."), "activity_title_required")
    if activity.state == Activity.State.ANNOUNCED and not (values["notice"] or "").strip():
        raise _field_error("notice", _("A published notice cannot be emptied."), "activity_notice_required")
    _check_details(studio=activity.studio, values=values)
    for field, value in values.items():
        if field != "presenters":
            setattr(activity, field, value)
    _stamp(activity, actor, "updated: " + ", ".join(sorted(data)))
    activity.save()
    if "presenters" in data:
        activity.presenters.set(values["presenters"])
    return activity


def _members_to_tell(studio: Studio) -> list[int]:
    return list(Membership.objects.filter(studio=studio, left_on__isnull=True).values_list("teacher_id",
                                                                                          flat=True))


@transaction.atomic
def activity_notice_publish(*, actor: User, activity: Activity) -> Activity:
    """Publishes the activity notice (活动通知): a draft with a notice text, before it starts.
    The studio's people are notified; trainees may ask for leave from now on."""
    activity = _lock_activity(activity)
    access_manage_activities(actor, activity.studio)
    if activity.state != Activity.State.DRAFT:
        raise _wrong_state(activity, _("announced"))
    if activity.starts_at <= _now():
        raise _started(activity, _("announced"))
    _check_open(activity.studio)
    if not activity.notice.strip():
        raise _field_error("notice", _("Write the notice before publishing it."), "activity_notice_required")
    activity.state = Activity.State.ANNOUNCED
    activity.notice_published_at = _now()
    _stamp(activity, actor, "notice published")
    activity.save(update_fields=["state", "notice_published_at", "updated_at"])
    notify(recipient_ids=_members_to_tell(activity.studio), kind="studio.activity_announced",
           title=_("New activity: %(title)s") % {"title": activity.title},
           body=activity.notice[:2000], link=f"/api/v1/activities/{activity.pk}/",
           dedupe_key=f"activity:{activity.pk}:announced")
    return activity


@transaction.atomic
def activity_cancel(*, actor: User, activity: Activity, note: str = "") -> Activity:
    """Cancels a draft or announced activity before it starts; nothing is recorded for it."""
    activity = _lock_activity(activity)
    access_manage_activities(actor, activity.studio)
    if activity.state not in _EDITABLE_STATES:
        raise _wrong_state(activity, _("cancelled"))
    if activity.starts_at <= _now():
        raise _started(activity, _("cancelled"))
    announced = activity.state == Activity.State.ANNOUNCED
    activity.state = Activity.State.CANCELLED
    _stamp(activity, actor, f"cancelled: {note}" if note else "cancelled")
    activity.save(update_fields=["state", "updated_at"])
    if announced:
        notify(recipient_ids=_members_to_tell(activity.studio), kind="studio.activity_cancelled",
               title=_("Activity cancelled: %(title)s") % {"title": activity.title}, body=note,
               link=f"/api/v1/activities/{activity.pk}/", dedupe_key=f"activity:{activity.pk}:cancelled")
    return activity


# --- the report ------------------------------------------------------------------------------

def _check_reportable(activity: Activity) -> None:
    if activity.state not in _REPORTABLE_STATES:
        raise _wrong_state(activity, _("reported on"))
    if activity.ends_at > _now():
        raise Conflict(_("The report is written after the activity has ended."), code="activity_not_ended")


@transaction.atomic
def activity_report_submit(*, actor: User, activity: Activity, report: str,
                           present: Iterable[int]) -> Activity:
    """Submits the report of an announced activity after it ended (or resubmits a returned one),
    with the attendance: every trainee of the studio on the day is present (``present``: their
    user ids), excused (leave approved in advance) or absent. The attendance is replaced on
    resubmission. Only the studio's host, the presenters and the administrators of its region."""
    activity = _lock_activity(activity)
    access_write_report(actor, activity)
    _check_reportable(activity)
    report = (report or "").strip()
    if not report:
        raise _field_error("report", _("Write the report."), "activity_report_required")
    day = timezone.localdate(activity.starts_at)
    trainees = {m.teacher_id: m for m in trainees_on(studio=activity.studio, day=day)}
    present = set(present)
    strangers = sorted(present - set(trainees))
    if strangers:
        raise _field_error("present", _("These ids are not trainees of the studio on the day: %(ids)s.")
                           % {"ids": ", ".join(map(str, strangers))}, "attendance_not_trainee")
    excused = set(LeaveRequest.objects.filter(activity=activity, state=LeaveRequest.State.APPROVED)
                  .values_list("membership__teacher_id", flat=True))
    rows = [
        Attendance(activity=activity, membership=membership,
                   status=(Attendance.Status.PRESENT if teacher_id in present
                           else Attendance.Status.EXCUSED if teacher_id in excused
                           else Attendance.Status.ABSENT))
        for teacher_id, membership in trainees.items()
    ]
    Attendance.objects.filter(activity=activity).delete()
    Attendance.objects.bulk_create(rows)
    activity.report = report
    activity.state = Activity.State.SUBMITTED
    activity.report_submitted_at = _now()
    activity.report_submitted_by = actor
    _stamp(activity, actor, "report submitted")
    activity.save(update_fields=["report", "state", "report_submitted_at", "report_submitted_by",
                                 "updated_at"])
    return activity


def _check_upload(upload) -> None:
    name = PurePath(upload.name or "").name
    if PurePath(name).suffix.lower() not in ATTACHMENT_SUFFIXES:
        raise _field_error("file", _("Attach a document, slides, a sheet or a picture (%(types)s).")
                           % {"types": ", ".join(sorted(ATTACHMENT_SUFFIXES))}, "attachment_type")
    limit = settings.STUDIO_ACTIVITY_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise _field_error("file", _("A file may be at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
                           "attachment_too_large")
    if upload.size == 0:
        raise _field_error("file", _("The file is empty."), "attachment_empty")


@transaction.atomic
def attachment_add(*, actor: User, activity: Activity, upload) -> ActivityAttachment:
    """Attaches a file to the report while it is being written (announced or returned)."""
    activity = _lock_activity(activity)
    access_write_report(actor, activity)
    if activity.state not in _REPORTABLE_STATES:
        raise _wrong_state(activity, _("changed"))
    _check_upload(upload)
    if activity.attachments.count() >= MAX_ATTACHMENTS:
        raise Conflict(_("A report carries at most %(n)s files.") % {"n": MAX_ATTACHMENTS},
                       code="attachment_limit")
    name = PurePath(upload.name).name[:255]
    attachment = ActivityAttachment(activity=activity, original_name=name, size=upload.size,
                                    uploaded_by=actor)
    attachment.file.save(name, upload, save=False)
    try:  # a failed insert must not leave the stored file behind
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


@transaction.atomic
def attachment_delete(*, actor: User, attachment: ActivityAttachment) -> None:
    """Removes a file from a report still being written; the stored file goes after commit."""
    activity = _lock_activity(attachment.activity_id)
    access_write_report(actor, activity)
    if activity.state not in _REPORTABLE_STATES:
        raise _wrong_state(activity, _("changed"))
    file = attachment.file
    storage, name = file.storage, file.name
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(name))


# --- review ----------------------------------------------------------------------------------

def _record_service(*, activity: Activity, actor: User) -> None:
    event_kind = service_event_kind(activity.kind)
    for teacher_id in activity.presenters.values_list("pk", flat=True):
        service_event_record(
            teacher_id=teacher_id, kind=event_kind,
            idempotency_key=f"activity:{activity.pk}:{event_kind}:{teacher_id}",
            occurred_at=activity.starts_at, quantity=1, source=activity, recorded_by_id=actor.pk,
        )


def _end_traineeships(*, activity: Activity, actor: User) -> list[Membership]:
    """Ends the traineeship of every trainee absent without leave from this activity whose
    unexcused absences in the studio's cycle reached the kind's limit. Idempotent: a membership
    already ended is left alone, and the notifications carry a dedupe key."""
    studio = activity.studio
    limit = studio.kind.trainee_absence_limit
    if not limit:
        return []
    absent = {a.membership.teacher_id: a.membership for a in Attendance.objects.filter(
        activity=activity, status=Attendance.Status.ABSENT, membership__left_on__isnull=True)
        .select_related("membership__teacher")}
    if not absent:
        return []
    from service_records.assessment.periods import local_midnight

    counts = unexcused_absences(studio=studio, teacher_ids=list(absent),
                                start=local_midnight(studio.cycle_start),
                                end=local_midnight(studio.cycle_end))
    ended = []
    host_ids = list(Membership.objects.filter(studio=studio, role=Membership.Role.HOST, left_on__isnull=True)
                    .values_list("teacher_id", flat=True))
    for teacher_id, membership in absent.items():
        count = counts.get(teacher_id, 0)
        if count < limit:
            continue
        note = _("%(count)s unexcused absences in the cycle (the limit is %(limit)s); the last: "
                 "%(activity)s.") % {"count": count, "limit": limit, "activity": activity.title}
        membership_end(actor=actor, membership=membership, reason=Membership.LeaveReason.ABSENCES,
                       note=note[:500], left_on=max(membership.joined_on, timezone.localdate()))
        notify(recipient_ids=[teacher_id, *host_ids], kind="studio.traineeship_ended",
               title=_("Traineeship ended: %(name)s, %(studio)s") % {
                   "name": membership.teacher.real_name, "studio": studio.name},
               body=note, link=f"/api/v1/studios/{studio.pk}/members/",
               dedupe_key=f"traineeship_ended:{membership.pk}")
        ended.append(membership)
    return ended


@transaction.atomic
def activity_review(*, actor: User, activity: Activity, approve: bool, comment: str = "") -> Activity:
    """The office's decision on a submitted report (seed 004 art. 8).

    Approving publishes the report, records one service event per presenter (the kind follows
    the activity's kind; key ``activity:{id}:{kind}:{teacher}``, so it counts once) and ends the
    traineeships that reached the absence limit, notifying the trainee and the host. Returning
    needs a comment and lets the authors edit and resubmit. Only city and county administrators
    of the host school's region who neither host the studio, present, nor wrote the report."""
    activity = _lock_activity(activity)
    access_review(actor, activity)
    if activity.state != Activity.State.SUBMITTED:
        raise _wrong_state(activity, _("reviewed"))
    comment = (comment or "").strip()
    if not approve and not comment:
        raise _field_error("comment", _("Say what must change when returning a report."),
                           "activity_comment_required")
    outcome = ActivityReview.Outcome.APPROVED if approve else ActivityReview.Outcome.RETURNED
    ActivityReview.objects.create(activity=activity, reviewer=actor, outcome=outcome, comment=comment)
    activity.state = Activity.State.PUBLISHED if approve else Activity.State.RETURNED
    activity.reviewed_at = _now()
    activity.reviewed_by = actor
    activity.review_comment = comment
    _stamp(activity, actor, f"report {outcome}")
    activity.save(update_fields=["state", "reviewed_at", "reviewed_by", "review_comment", "updated_at"])
    if approve:
        _record_service(activity=activity, actor=actor)
        _end_traineeships(activity=activity, actor=actor)
    elif activity.report_submitted_by_id:
        notify(recipient_ids=[activity.report_submitted_by_id], kind="activity.report_returned",
               title=_("Report returned: %(title)s") % {"title": activity.title}, body=comment,
               link=f"/api/v1/activities/{activity.pk}/")
    return activity


# --- leave -----------------------------------------------------------------------------------

@transaction.atomic
def leave_request_create(*, actor: User, activity: Activity, reason: str,
                         trainee: TeacherProfile | None = None) -> LeaveRequest:
    """A trainee asks, for themselves, to be excused from an announced activity before it starts
    (seed 004 art. 7: leave is asked for in advance; otherwise an absence is unexcused)."""
    activity = _lock_activity(activity)
    if trainee is not None and trainee.pk != actor.pk:
        raise Forbidden(_("Trainees ask for leave for themselves only."), code="leave_for_someone_else")
    membership = Membership.objects.filter(studio=activity.studio, teacher_id=actor.pk, left_on__isnull=True,
                                           role=Membership.Role.TRAINEE).select_related("teacher").first()
    if membership is None:
        raise Forbidden(_("Only current trainees of %(studio)s ask for leave from its activities.")
                        % {"studio": activity.studio.name}, code="leave_not_trainee")
    if activity.state != Activity.State.ANNOUNCED:
        raise _wrong_state(activity, _("asked leave from"))
    if activity.starts_at <= _now():
        raise _started(activity, _("asked leave from"))
    reason = (reason or "").strip()
    if not reason:
        raise _field_error("reason", _("Say why you cannot attend."), "leave_reason_required")
    if LeaveRequest.objects.filter(activity=activity, membership=membership).exclude(
            state=LeaveRequest.State.DECLINED).exists():
        raise Conflict(_("You already asked for leave from this activity."), code="leave_exists")
    leave = LeaveRequest(activity=activity, membership=membership, reason=reason)
    _stamp(leave, actor, "requested")
    try:
        with transaction.atomic():
            leave.save()
    except IntegrityError as exc:  # only where the row lock is a no-op (SQLite)
        raise Conflict(_("You already asked for leave from this activity."), code="leave_exists") from exc
    hosts = Membership.objects.filter(studio=activity.studio, role=Membership.Role.HOST, left_on__isnull=True)
    notify(recipient_ids=hosts.values_list("teacher_id", flat=True), kind="studio.leave_requested",
           title=_("%(name)s asks for leave from %(title)s") % {
               "name": membership.teacher.real_name, "title": activity.title},
           body=reason, link=f"/api/v1/activities/{activity.pk}/leave-requests/")
    return leave


@transaction.atomic
def leave_request_decide(*, actor: User, leave_request: LeaveRequest, approve: bool,
                         note: str = "") -> LeaveRequest:
    """The host (or an administrator of the region) approves or declines a pending request,
    until the report is written; the trainee is told."""
    activity = _lock_activity(leave_request.activity_id)
    access_manage_activities(actor, activity.studio)
    leave = LeaveRequest.objects.select_for_update().get(pk=leave_request.pk)
    if leave.state != LeaveRequest.State.PENDING:
        raise Conflict(_("This request was decided already."), code="leave_decided")
    if activity.state != Activity.State.ANNOUNCED:
        raise _wrong_state(activity, _("given leave"))
    leave.state = LeaveRequest.State.APPROVED if approve else LeaveRequest.State.DECLINED
    leave.decided_at = _now()
    leave.decided_by = actor
    leave.decision_note = (note or "").strip()[:500]
    _stamp(leave, actor, leave.state)
    leave.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
    notify(recipient_ids=[leave.membership.teacher_id], kind="studio.leave_decided",
           title=(_("Leave approved: %(title)s") if approve else _("Leave declined: %(title)s"))
           % {"title": activity.title}, body=leave.decision_note,
           link=f"/api/v1/activities/{activity.pk}/leave-requests/")
    return leave

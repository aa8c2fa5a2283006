import datetime

import pytest

from common.errors import Conflict, Forbidden, ServiceError
from notifications.models import Notification
from service_records.models import ServiceEvent
from studios.activities.models import Activity, ActivityReview, Attendance, LeaveRequest
from studios.activities.services import (
    activity_cancel,
    activity_notice_publish,
    activity_report_submit,
    activity_review,
    activity_update,
    leave_request_create,
    leave_request_decide,
)
from studios.models import Membership
from tests.factories import AdminFactory, TeacherFactory
from tests.studios.activity_helpers import (
    after,
    announced,
    build_activity_world,
    plan,
    published,
    soon,
    submitted,
    travel,
)


@pytest.fixture
def s(world):
    return build_activity_world(world)


def events(activity):
    return ServiceEvent.objects.filter(source_id=str(activity.pk)).order_by("teacher_id")


# --- the paper trail --------------------------------------------------------------------------

def test_notice_report_review_publish_records_service_only_on_approval(s, monkeypatch):
    activity = plan(s, presenters=[s.host, s.members[0]])
    assert activity.state == Activity.State.DRAFT
    activity = activity_notice_publish(actor=s.host.user, activity=activity)
    assert activity.state == Activity.State.ANNOUNCED and activity.notice_published_at is not None
    # the studio's people hear of it
    assert Notification.objects.filter(kind="studio.activity_announced",
                                       recipient=s.trainees[0].user).exists()

    travel(monkeypatch, after(activity))
    activity = activity_report_submit(actor=s.host.user, activity=activity, report="报道",
                                      present=[t.pk for t in s.trainees])
    assert activity.state == Activity.State.SUBMITTED
    assert not events(activity).exists()

    activity = activity_review(actor=s.office, activity=activity, approve=True)
    assert activity.state == Activity.State.PUBLISHED
    recorded = list(events(activity))
    assert {e.teacher_id for e in recorded} == {s.host.pk, s.members[0].pk}
    assert {e.kind.code for e in recorded} == {"studio_activity"}
    assert {e.idempotency_key for e in recorded} == {
        f"activity:{activity.pk}:studio_activity:{s.host.pk}",
        f"activity:{activity.pk}:studio_activity:{s.members[0].pk}"}
    assert all(e.occurred_at == activity.starts_at and e.recorded_by_id == s.office.pk for e in recorded)


@pytest.mark.parametrize(("kind", "event_kind"), [
    (Activity.Kind.MEMBER_REPORT, "member_report"),
    (Activity.Kind.OPEN_LESSON, "research_lesson"),
    (Activity.Kind.OUTREACH, "outreach_session"),
    (Activity.Kind.LESSON_STUDY, "studio_activity"),
    (Activity.Kind.ONLINE_SEMINAR, "studio_activity"),
])
def test_each_kind_records_its_service_event_kind(s, monkeypatch, kind, event_kind):
    extra = {"served_county": s.world.county_b} if kind == Activity.Kind.OUTREACH else {}
    activity = published(s, monkeypatch, kind=kind, presenters=[s.members[0]], **extra)
    [event] = events(activity)
    assert (event.teacher_id, event.kind.code) == (s.members[0].pk, event_kind)


def test_publishing_a_notice_after_the_start_is_refused(s, monkeypatch):
    activity = plan(s)
    travel(monkeypatch, activity.starts_at + datetime.timedelta(minutes=1))
    with pytest.raises(Conflict) as exc:
        activity_notice_publish(actor=s.host.user, activity=activity)
    assert exc.value.code == "activity_started"
    assert Activity.objects.get(pk=activity.pk).state == Activity.State.DRAFT


def test_a_notice_needs_text_and_is_published_once(s):
    activity = plan(s, notice="")
    with pytest.raises(ServiceError) as exc:
        activity_notice_publish(actor=s.host.user, activity=activity)
    assert exc.value.code == "activity_notice_required"
    activity_update(actor=s.host.user, activity=activity, data={"notice": "通知"})
    activity_notice_publish(actor=s.host.user, activity=activity)
    with pytest.raises(Conflict) as exc:
        activity_notice_publish(actor=s.host.user, activity=activity)
    assert exc.value.code == "activity_state"


def test_wrong_states_are_refused_with_409(s, monkeypatch):
    draft = plan(s)
    with pytest.raises(Conflict):  # no report on a draft
        travel(monkeypatch, after(draft))
        activity_report_submit(actor=s.host.user, activity=draft, report="x", present=[])
    monkeypatch.undo()
    announced_one = announced(s)
    with pytest.raises(Conflict) as exc:  # not ended yet
        activity_report_submit(actor=s.host.user, activity=announced_one, report="x", present=[])
    assert exc.value.code == "activity_not_ended"
    with pytest.raises(Conflict):  # nothing to review
        activity_review(actor=s.office, activity=announced_one, approve=True)
    done = published(s, monkeypatch)
    with pytest.raises(Conflict):  # approved once only
        activity_review(actor=s.office, activity=done, approve=True)
    with pytest.raises(Conflict):  # a published report is final
        activity_report_submit(actor=s.host.user, activity=done, report="改", present=[])
    with pytest.raises(Conflict):
        activity_cancel(actor=s.host.user, activity=done)


def test_a_returned_report_is_edited_resubmitted_and_approved(s, monkeypatch):
    activity = submitted(s, monkeypatch, presenters=[s.members[0]])
    with pytest.raises(ServiceError) as exc:
        activity_review(actor=s.office, activity=activity, approve=False, comment="  ")
    assert exc.value.code == "activity_comment_required"
    activity = activity_review(actor=s.office, activity=activity, approve=False, comment="补充照片")
    assert activity.state == Activity.State.RETURNED and not events(activity).exists()
    assert Notification.objects.filter(kind="activity.report_returned", recipient=s.host.user).exists()
    activity = activity_report_submit(actor=s.members[0].user, activity=activity, report="补充后的报道",
                                      present=[])
    assert activity.state == Activity.State.SUBMITTED
    activity = activity_review(actor=s.office, activity=activity, approve=True)
    assert events(activity).count() == 1
    assert list(ActivityReview.objects.filter(activity=activity).values_list("outcome", flat=True)) == [
        "returned", "approved"]


def test_cancelling_before_the_start(s, monkeypatch):
    activity = announced(s)
    activity_cancel(actor=s.host.user, activity=activity, note="台风")
    assert Activity.objects.get(pk=activity.pk).state == Activity.State.CANCELLED
    other = announced(s)
    travel(monkeypatch, other.starts_at)
    with pytest.raises(Conflict):
        activity_cancel(actor=s.host.user, activity=other)


# --- details --------------------------------------------------------------------------------

def test_details_are_checked(s):
    with pytest.raises(ServiceError) as exc:
        plan(s, starts_at=soon(-1))
    assert exc.value.fields.keys() == {"starts_at"}
    with pytest.raises(ServiceError) as exc:
        plan(s, presenters=[TeacherFactory()])
    assert exc.value.code == "activity_presenter_invalid"
    with pytest.raises(ServiceError) as exc:  # a member report is a member's
        plan(s, kind=Activity.Kind.MEMBER_REPORT, presenters=[s.host])
    assert exc.value.code == "activity_presenter_invalid"
    with pytest.raises(ServiceError) as exc:
        plan(s, kind=Activity.Kind.OUTREACH)
    assert exc.value.code == "activity_county_required"
    with pytest.raises(ServiceError) as exc:
        plan(s, place="")
    assert exc.value.code == "activity_place_required"
    with pytest.raises(ServiceError) as exc:
        plan(s, starts_at=soon(365 * 4))
    assert exc.value.code == "activity_time_invalid"
    assert not Activity.objects.exists()


def test_outreach_served_school_sets_its_county(s, monkeypatch):
    activity = plan(s, kind=Activity.Kind.OUTREACH, served_school=s.world.school_b)
    assert activity.served_county == s.world.county_b


def test_an_announced_activity_can_be_corrected_until_it_starts(s, monkeypatch):
    activity = announced(s)
    activity_update(actor=s.host.user, activity=activity, data={"place": "泰顺育才中学"})
    assert Activity.objects.get(pk=activity.pk).place == "泰顺育才中学"
    travel(monkeypatch, activity.starts_at)
    with pytest.raises(Conflict) as exc:
        activity_update(actor=s.host.user, activity=activity, data={"place": "线上"})
    assert exc.value.code == "activity_started"


# --- refused side ---------------------------------------------------------------------------

def test_a_trainee_cannot_edit_a_notice(s):
    activity = announced(s)
    w = s.world
    for who in [s.trainees[0].user, s.members[0].user, w.county_admin_b.user, w.school_admin_a.user]:
        with pytest.raises(Forbidden):
            activity_update(actor=who, activity=activity, data={"notice": "改"})
        with pytest.raises(Forbidden):
            activity_cancel(actor=who, activity=activity)
    assert Activity.objects.get(pk=activity.pk).notice != "改"


def test_a_trainee_or_member_cannot_plan_or_announce(s):
    with pytest.raises(Forbidden):
        plan(s, actor=s.trainees[0].user)
    activity = plan(s)
    with pytest.raises(Forbidden):
        activity_notice_publish(actor=s.members[0].user, activity=activity)


def test_a_member_cannot_approve_their_own_report(s, monkeypatch):
    activity = submitted(s, monkeypatch, kind=Activity.Kind.MEMBER_REPORT, presenters=[s.members[0]])
    with pytest.raises(Forbidden) as exc:
        activity_review(actor=s.members[0].user, activity=activity, approve=True)
    assert exc.value.code == "activity_review_forbidden"
    assert Activity.objects.get(pk=activity.pk).state == Activity.State.SUBMITTED
    assert not events(activity).exists()


def test_a_host_who_is_also_an_administrator_cannot_approve_as_the_office(s, monkeypatch):
    AdminFactory(user=s.host.user, level="county", region=s.world.county_a, school=None)
    activity = submitted(s, monkeypatch)
    with pytest.raises(Forbidden) as exc:
        activity_review(actor=s.host.user, activity=activity, approve=True)
    assert exc.value.code == "activity_review_own_work"
    assert not events(activity).exists()


def test_an_administrator_who_wrote_the_report_cannot_approve_it(s, monkeypatch):
    activity = announced(s)
    travel(monkeypatch, after(activity))
    activity_report_submit(actor=s.office, activity=activity, report="由县名师办代写", present=[])
    with pytest.raises(Forbidden) as exc:
        activity_review(actor=s.office, activity=activity, approve=True)
    assert exc.value.code == "activity_review_own_work"
    activity_review(actor=s.world.city_admin.user, activity=activity, approve=True)


@pytest.mark.parametrize("who", ["county_admin_b", "school_admin_a", "other_city_admin", "teacher_b"])
def test_only_the_office_of_the_host_schools_region_reviews(s, monkeypatch, who):
    activity = submitted(s, monkeypatch)
    with pytest.raises(Forbidden):
        activity_review(actor=getattr(s.world, who).user, activity=activity, approve=True)
    assert Activity.objects.get(pk=activity.pk).state == Activity.State.SUBMITTED


def test_a_trainee_cannot_write_the_report(s, monkeypatch):
    activity = announced(s)
    travel(monkeypatch, after(activity))
    with pytest.raises(Forbidden):
        activity_report_submit(actor=s.trainees[0].user, activity=activity, report="x", present=[])


# --- leave and attendance --------------------------------------------------------------------

def test_leave_approved_in_advance_excuses_the_trainee(s, monkeypatch):
    activity = announced(s)
    first, second, third = s.trainees
    leave = leave_request_create(actor=first.user, activity=activity, reason="参加学校运动会")
    assert Notification.objects.filter(kind="studio.leave_requested", recipient=s.host.user).exists()
    leave_request_decide(actor=s.host.user, leave_request=leave, approve=True)
    declined = leave_request_create(actor=second.user, activity=activity, reason="有事")
    leave_request_decide(actor=s.host.user, leave_request=declined, approve=False, note="请调课")
    travel(monkeypatch, after(activity))
    activity_report_submit(actor=s.host.user, activity=activity, report="报道", present=[third.pk])
    status = dict(Attendance.objects.filter(activity=activity)
                  .values_list("membership__teacher_id", "status"))
    assert status == {first.pk: "excused", second.pk: "absent", third.pk: "present"}


def test_a_trainee_cannot_ask_leave_for_someone_else(s):
    activity = announced(s)
    with pytest.raises(Forbidden) as exc:
        leave_request_create(actor=s.trainees[0].user, activity=activity, reason="x", trainee=s.trainees[1])
    assert exc.value.code == "leave_for_someone_else"
    with pytest.raises(Forbidden):  # a member is not a trainee
        leave_request_create(actor=s.members[0].user, activity=activity, reason="x")
    assert not LeaveRequest.objects.exists()


def test_leave_after_the_start_is_refused(s, monkeypatch):
    activity = announced(s)
    travel(monkeypatch, activity.starts_at)
    with pytest.raises(Conflict) as exc:
        leave_request_create(actor=s.trainees[0].user, activity=activity, reason="迟到")
    assert exc.value.code == "activity_started"


def test_leave_is_asked_once_and_decided_once_by_the_host(s):
    activity = announced(s)
    leave = leave_request_create(actor=s.trainees[0].user, activity=activity, reason="病假")
    with pytest.raises(Conflict):
        leave_request_create(actor=s.trainees[0].user, activity=activity, reason="病假")
    for who in [s.trainees[0].user, s.members[0].user, s.world.county_admin_b.user]:
        with pytest.raises(Forbidden):
            leave_request_decide(actor=who, leave_request=leave, approve=True)
    leave_request_decide(actor=s.host.user, leave_request=leave, approve=True)
    with pytest.raises(Conflict):
        leave_request_decide(actor=s.host.user, leave_request=leave, approve=False)


def test_attendance_lists_only_trainees(s, monkeypatch):
    activity = announced(s)
    travel(monkeypatch, after(activity))
    with pytest.raises(ServiceError) as exc:
        activity_report_submit(actor=s.host.user, activity=activity, report="x", present=[s.members[0].pk])
    assert exc.value.code == "attendance_not_trainee"


def test_two_unexcused_absences_end_the_traineeship(s, monkeypatch):
    absentee = s.trainees[0]
    present = [t.pk for t in s.trainees[1:]]
    published(s, monkeypatch, present=present)
    membership = Membership.objects.get(studio=s.studio, teacher=absentee, role="trainee")
    assert membership.left_on is None  # one absence: still a trainee
    assert not Notification.objects.filter(kind="studio.traineeship_ended").exists()

    monkeypatch.undo()
    second = published(s, monkeypatch, present=present, starts_at=soon(3))
    membership.refresh_from_db()
    assert membership.left_on is not None and membership.left_reason == Membership.LeaveReason.ABSENCES
    told = set(Notification.objects.filter(kind="studio.traineeship_ended").values_list("recipient_id",
                                                                                      flat=True))
    assert told == {absentee.pk, s.host.pk}
    assert membership.history.first().history_change_reason == "ended: absences"
    # the others attended: still trainees
    assert Membership.objects.filter(studio=s.studio, role="trainee", left_on__isnull=True).count() == 2

    # running the consequences again (a re-approval) changes nothing and tells nobody twice
    from studios.activities.services import _end_traineeships

    assert _end_traineeships(activity=second, actor=s.office) == []
    assert Notification.objects.filter(kind="studio.traineeship_ended").count() == 2


def test_excused_absences_do_not_count(s, monkeypatch):
    trainee = s.trainees[0]
    for days in (2, 3):
        monkeypatch.undo()
        activity = announced(s, starts_at=soon(days))
        leave = leave_request_create(actor=trainee.user, activity=activity, reason="教研")
        leave_request_decide(actor=s.host.user, leave_request=leave, approve=True)
        travel(monkeypatch, after(activity))
        activity_report_submit(actor=s.host.user, activity=activity, report="报道", present=[])
        activity_review(actor=s.office, activity=activity, approve=True)
    assert Membership.objects.get(studio=s.studio, teacher=trainee, role="trainee").left_on is None


def test_the_absence_limit_is_data_on_the_studio_kind(s, monkeypatch):
    kind = s.studio.kind
    kind.trainee_absence_limit = 1
    kind.save()
    published(s, monkeypatch, present=[])
    assert not Membership.objects.filter(studio=s.studio, role="trainee", left_on__isnull=True).exists()


def test_returned_reports_count_no_absences(s, monkeypatch):
    kind = s.studio.kind
    kind.trainee_absence_limit = 1
    kind.save()
    activity = submitted(s, monkeypatch, present=[])
    activity_review(actor=s.office, activity=activity, approve=False, comment="考勤有误")
    assert Membership.objects.filter(studio=s.studio, role="trainee", left_on__isnull=True).count() == 3
    activity_report_submit(actor=s.host.user, activity=activity, report="更正",
                           present=[t.pk for t in s.trainees])
    activity_review(actor=s.office, activity=activity, approve=True)
    assert Membership.objects.filter(studio=s.studio, role="trainee", left_on__isnull=True).count() == 3

"""State changes of courses, lectures and resources, from the allowed and the refused side;
service events and hooks; reminders."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from common.errors import Conflict, Forbidden, ServiceError
from courses import services
from courses.models import Course, Enrolment, Lecture, LectureStaff, Resource
from courses.signals import lecture_ended
from notifications.models import Notification
from service_records.models import ServiceEvent
from tests.courses.support import build, pdf
from tests.factories import EnrolmentFactory, StudentFactory, UserFactory


@pytest.fixture
def w(world):
    return build(world)


def _state(lecture) -> str:
    return Lecture.objects.get(pk=lecture.pk).state


# --- courses ---------------------------------------------------------------------------------

def test_a_student_may_not_create_a_course(w):
    with pytest.raises(Forbidden):
        services.course_create(actor=w.student_a.user, title="x")
    with pytest.raises(Forbidden):
        services.course_create(actor=w.student_a.user, title="x", studio=w.studio)


def test_a_member_of_another_studio_may_not_edit_or_create_in_this_one(w):
    with pytest.raises(Forbidden):
        services.course_update(actor=w.other_member.user, course=w.course, data={"title": "改"})
    with pytest.raises(Forbidden):
        services.course_create(actor=w.other_member.user, title="x", studio=w.studio)
    with pytest.raises(Forbidden):
        services.course_create(actor=w.trainee.user, title="x", studio=w.studio)  # trainees do not edit
    assert Course.objects.get(pk=w.course.pk).title == "初中数学名师大讲堂"


def test_a_county_admin_of_another_county_may_not_edit(w):
    with pytest.raises(Forbidden):
        services.course_update(actor=w.county_admin_b.user, course=w.course, data={"title": "改"})
    with pytest.raises(Forbidden):
        services.course_archive(actor=w.county_admin_b.user, course=w.course)


def test_editors_change_publish_and_archive(w):
    services.course_update(actor=w.member.user, course=w.course, data={"title": "新名"})
    services.course_archive(actor=w.county_admin_a.user, course=w.course)
    assert Course.objects.get(pk=w.course.pk).status == Course.Status.ARCHIVED
    with pytest.raises(Conflict) as refused:
        services.course_archive(actor=w.host.user, course=w.course)
    assert refused.value.code == "course_state"
    services.course_publish(actor=w.host.user, course=w.course)
    with pytest.raises(Conflict):
        services.course_publish(actor=w.host.user, course=w.course)


def test_school_visibility_needs_a_school_of_the_city(w):
    with pytest.raises(ServiceError) as refused:
        services.course_create(actor=w.host.user, studio=w.studio, title="x", visibility="school")
    assert refused.value.code == "course_school_required"
    with pytest.raises(ServiceError) as refused:
        services.course_create(actor=w.host.user, studio=w.studio, title="x", visibility="school",
                               school=w.other_school)
    assert refused.value.code == "course_school_invalid"
    with pytest.raises(ServiceError):
        services.course_create(actor=w.teacher_b.user, title="x", visibility="studio")


def test_course_changes_reach_the_search_hook_after_commit(w, django_capture_on_commit_callbacks):
    from courses.signals import course_changed

    seen = []

    def receiver(sender, course_id, **kwargs):
        seen.append(course_id)

    course_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.course_update(actor=w.host.user, course=w.course, data={"description": "新"})
    finally:
        course_changed.disconnect(receiver)
    assert seen == [w.course.pk]


# --- enrolment -------------------------------------------------------------------------------

def test_enrol_and_leave(w):
    enrolment = services.enrolment_create(actor=w.student_b.user, course=w.course)
    with pytest.raises(Conflict) as refused:
        services.enrolment_create(actor=w.student_b.user, course=w.course)
    assert refused.value.code == "already_enrolled"
    services.enrolment_leave(actor=w.student_b.user, course=w.course)
    assert Enrolment.objects.get(pk=enrolment.pk).left_at is not None
    with pytest.raises(Conflict):
        services.enrolment_leave(actor=w.student_b.user, course=w.course)
    services.enrolment_create(actor=w.student_b.user, course=w.course)  # again, a new row
    assert Enrolment.objects.filter(course=w.course, user=w.student_b.user).count() == 2


def test_enrolment_respects_capacity_and_closing(w):
    Course.objects.filter(pk=w.course.pk).update(capacity=1)
    services.enrolment_create(actor=w.student_a.user, course=w.course)
    with pytest.raises(Conflict) as refused:
        services.enrolment_create(actor=w.student_b.user, course=w.course)
    assert refused.value.code == "course_full"
    Course.objects.filter(pk=w.course.pk).update(capacity=None, enrolment_open=False)
    with pytest.raises(Conflict) as refused:
        services.enrolment_create(actor=w.student_b.user, course=w.course)
    assert refused.value.code == "enrolment_closed"


def test_nobody_enrols_in_a_course_they_cannot_see_or_a_draft(w):
    from common.errors import NotFound

    outsider = StudentFactory(school=w.other_school)
    with pytest.raises(NotFound):
        services.enrolment_create(actor=outsider.user, course=w.course)
    Course.objects.filter(pk=w.course.pk).update(status=Course.Status.DRAFT)
    with pytest.raises(Conflict):
        services.enrolment_create(actor=w.host.user, course=w.course)


# --- lectures: state machine -----------------------------------------------------------------

def _draft(w, **extra):
    start = timezone.now() + datetime.timedelta(days=3)
    return services.lecture_create(actor=w.host.user, course=w.course, title="新讲座", starts_at=start,
                                   ends_at=start + datetime.timedelta(hours=1), **extra)


def test_the_whole_lecture_life(w, django_capture_on_commit_callbacks):
    lecture = _draft(w)
    with pytest.raises(ServiceError) as refused:
        services.lecture_schedule(actor=w.host.user, lecture=lecture)
    assert refused.value.code == "lecture_needs_lecturer"
    services.lecture_staff_add(actor=w.host.user, lecture=lecture, teacher=w.member, role="lecturer")
    services.lecture_schedule(actor=w.host.user, lecture=lecture)
    services.lecture_go_live(actor=w.member.user, lecture=lecture)
    with django_capture_on_commit_callbacks(execute=True):
        services.lecture_end(actor=w.member.user, lecture=lecture)
    services.lecture_publish_replay(actor=w.host.user, lecture=lecture, replay_url="https://v.example.com/1")
    lecture.refresh_from_db()
    assert lecture.state == Lecture.State.REPLAY
    assert lecture.went_live_at and lecture.ended_at and lecture.replay_url == "https://v.example.com/1"


WRONG = [
    ("lecture_schedule", Lecture.State.SCHEDULED), ("lecture_schedule", Lecture.State.LIVE),
    ("lecture_go_live", Lecture.State.DRAFT), ("lecture_go_live", Lecture.State.ENDED),
    ("lecture_end", Lecture.State.SCHEDULED), ("lecture_end", Lecture.State.ENDED),
    ("lecture_cancel", Lecture.State.LIVE), ("lecture_cancel", Lecture.State.REPLAY),
    ("lecture_cancel", Lecture.State.CANCELLED), ("lecture_go_live", Lecture.State.CANCELLED),
]


@pytest.mark.parametrize(("action", "state"), WRONG)
def test_a_transition_from_a_wrong_state_is_a_409(w, action, state):
    Lecture.objects.filter(pk=w.lecture.pk).update(state=state)
    with pytest.raises(Conflict) as refused:
        getattr(services, action)(actor=w.host.user, lecture=w.lecture)
    assert refused.value.code == "lecture_state"
    assert _state(w.lecture) == state


def test_replay_only_after_the_end(w):
    with pytest.raises(Conflict):
        services.lecture_publish_replay(actor=w.host.user, lecture=w.lecture, replay_url="https://x.example")


def test_who_may_run_a_lecture(w):
    for outsider in (w.student_a, w.trainee, w.other_member, w.county_admin_b):
        with pytest.raises(Forbidden):
            services.lecture_go_live(actor=outsider.user, lecture=w.lecture)
    with pytest.raises(Forbidden):  # staff run it, but scheduling and cancelling are the editors'
        services.lecture_cancel(actor=w.assistant.user, lecture=w.lecture)
    services.lecture_go_live(actor=w.assistant.user, lecture=w.lecture)
    assert _state(w.lecture) == Lecture.State.LIVE


def test_lecture_end_records_each_lecturers_service_once_and_sends_the_hook(
        w, django_capture_on_commit_callbacks):
    LectureStaff.objects.create(lecture=w.lecture, teacher=w.member, role=LectureStaff.Role.LECTURER)
    services.lecture_go_live(actor=w.lecturer.user, lecture=w.lecture)
    ended = []

    def receiver(sender, lecture, **kwargs):
        ended.append(lecture.pk)

    lecture_ended.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.lecture_end(actor=w.lecturer.user, lecture=w.lecture)
        assert ended == []  # not before commit
        for callback in callbacks:
            callback()
    finally:
        lecture_ended.disconnect(receiver)
    assert ended == [w.lecture.pk]
    events = ServiceEvent.objects.filter(kind__code="lecture_delivered")
    assert sorted(events.values_list("teacher_id", flat=True)) == sorted([w.lecturer.pk, w.member.pk])
    assert set(events.values_list("idempotency_key", flat=True)) == {
        f"lecture:{w.lecture.pk}:delivered:{w.lecturer.pk}",
        f"lecture:{w.lecture.pk}:delivered:{w.member.pk}"}
    # The assistant's minutes come from the live rooms, not from here.
    assert not ServiceEvent.objects.filter(teacher_id=w.assistant.pk).exists()
    # Ended again (a retried request after a state glitch): still one event per lecturer.
    Lecture.objects.filter(pk=w.lecture.pk).update(state=Lecture.State.LIVE)
    services.lecture_end(actor=w.lecturer.user, lecture=w.lecture)
    assert events.count() == 2


def test_a_failing_hook_does_not_undo_the_end(w, django_capture_on_commit_callbacks):
    def broken(sender, lecture, **kwargs):
        raise RuntimeError("boom")

    services.lecture_go_live(actor=w.lecturer.user, lecture=w.lecture)
    lecture_ended.connect(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.lecture_end(actor=w.lecturer.user, lecture=w.lecture)
    finally:
        lecture_ended.disconnect(broken)
    assert _state(w.lecture) == Lecture.State.ENDED


def test_a_refused_end_records_nothing(w):
    with pytest.raises(Conflict):
        services.lecture_end(actor=w.lecturer.user, lecture=w.lecture)
    assert not ServiceEvent.objects.filter(kind__code="lecture_delivered").exists()


def test_lecture_update_rules(w):
    services.lecture_go_live(actor=w.host.user, lecture=w.lecture)
    services.lecture_update(actor=w.host.user, lecture=w.lecture, data={"stream_play_url": "https://n.m3u8"})
    with pytest.raises(Conflict):
        services.lecture_update(actor=w.host.user, lecture=w.lecture,
                                data={"starts_at": timezone.now()})
    with pytest.raises(Forbidden):
        services.lecture_update(actor=w.lecturer.user, lecture=w.lecture, data={"title": "x"})


def test_cancel_notifies_the_enrolled_once(w):
    students = [StudentFactory(school=w.school_a).user for _ in range(3)]
    for user in students:
        EnrolmentFactory(course=w.course, user=user)
    services.lecture_cancel(actor=w.host.user, lecture=w.lecture)
    assert Notification.objects.filter(kind="lecture.cancelled").count() == 3


def test_only_a_draft_lecture_is_deleted(w):
    with pytest.raises(Conflict):
        services.lecture_delete(actor=w.host.user, lecture=w.lecture)
    draft = _draft(w)
    services.lecture_delete(actor=w.host.user, lecture=draft)
    assert not Lecture.objects.filter(pk=draft.pk).exists()


def test_staff_of_a_finished_lecture_stays(w):
    Lecture.objects.filter(pk=w.lecture.pk).update(state=Lecture.State.ENDED)
    staff = LectureStaff.objects.get(lecture=w.lecture, teacher=w.lecturer)
    with pytest.raises(Conflict):
        services.lecture_staff_remove(actor=w.host.user, staff=staff)
    with pytest.raises(Conflict):
        services.lecture_staff_add(actor=w.host.user, lecture=w.lecture, teacher=w.member, role="assistant")


# --- reminders -------------------------------------------------------------------------------

def _due(w, minutes=20):
    start = timezone.now() + datetime.timedelta(minutes=minutes)
    Lecture.objects.filter(pk=w.lecture.pk).update(starts_at=start,
                                                   ends_at=start + datetime.timedelta(hours=1))


def test_reminders_go_to_the_enrolled_once(w):
    _due(w)
    enrolled = [StudentFactory(school=w.school_a).user for _ in range(4)]
    for user in enrolled:
        EnrolmentFactory(course=w.course, user=user)
    left = EnrolmentFactory(course=w.course, user=UserFactory(), left_at=timezone.now())
    assert services.lecture_reminders_send() == 1
    assert services.lecture_reminders_send() == 0
    reminders = Notification.objects.filter(kind="lecture.reminder")
    assert set(reminders.values_list("recipient_id", flat=True)) == {u.pk for u in enrolled}
    assert left.user_id not in set(reminders.values_list("recipient_id", flat=True))
    assert set(reminders.values_list("dedupe_key", flat=True)) == {f"lecture:{w.lecture.pk}:reminder"}
    assert Lecture.objects.get(pk=w.lecture.pk).reminded_at is not None


def test_reminders_skip_lectures_not_due_or_not_scheduled(w):
    EnrolmentFactory(course=w.course, user=w.student_a.user)
    _due(w, minutes=90)
    assert services.lecture_reminders_send() == 0
    _due(w, minutes=10)
    Lecture.objects.filter(pk=w.lecture.pk).update(state=Lecture.State.CANCELLED)
    assert services.lecture_reminders_send() == 0
    assert not Notification.objects.exists()


def test_a_reminder_already_written_is_not_written_twice(w):
    """A run whose claim was lost (reminded_at reset) still sends each user one reminder."""
    _due(w)
    EnrolmentFactory(course=w.course, user=w.student_a.user)
    services.lecture_reminders_send()
    Lecture.objects.filter(pk=w.lecture.pk).update(reminded_at=None)
    services.lecture_reminders_send()
    assert Notification.objects.filter(kind="lecture.reminder").count() == 1


def test_reminders_for_many_enrolled_are_written_in_bulk(w, django_assert_max_num_queries):
    from accounts.models import User

    _due(w)
    users = User.objects.bulk_create([User(username=f"bulk{n}") for n in range(2500)])
    Enrolment.objects.bulk_create([Enrolment(course=w.course, user=u) for u in users])
    with django_assert_max_num_queries(60):  # not one per user
        services.lecture_reminders_send()
    assert Notification.objects.filter(kind="lecture.reminder").count() == 2500


def test_the_task_runs_the_service(w):
    from courses.tasks import lecture_reminders_send_task

    _due(w)
    EnrolmentFactory(course=w.course, user=w.student_a.user)
    assert lecture_reminders_send_task.apply().get() == 1


# --- resources -------------------------------------------------------------------------------

def test_a_member_submits_and_the_host_approves_with_a_service_event(w):
    resource = services.resource_submit(actor=w.member.user, upload=pdf(), title="课件", studio=w.studio)
    assert resource.state == Resource.State.SUBMITTED
    assert resource.original_name == "讲义.pdf" and "讲义" not in resource.file.name
    services.resource_approve(actor=w.host.user, resource=resource)
    resource.refresh_from_db()
    assert resource.state == Resource.State.APPROVED and resource.published_at is not None
    event = ServiceEvent.objects.get(kind__code="resource_published")
    assert event.teacher_id == w.member.pk and event.idempotency_key == f"resource:{resource.pk}:published"
    with pytest.raises(Conflict):
        services.resource_approve(actor=w.county_admin_a.user, resource=resource)


def test_the_submitter_never_approves_their_own(w):
    resource = services.resource_submit(actor=w.host.user, upload=pdf(), title="主持人的课件",
                                        studio=w.studio)
    with pytest.raises(Forbidden) as refused:
        services.resource_approve(actor=w.host.user, resource=resource)
    assert refused.value.code == "resource_own_review"
    assert Resource.objects.get(pk=resource.pk).state == Resource.State.SUBMITTED
    assert not ServiceEvent.objects.filter(kind__code="resource_published").exists()
    services.resource_approve(actor=w.county_admin_a.user, resource=resource)  # an admin in scope may


@pytest.mark.parametrize("who", ["member", "trainee", "other_host", "county_admin_b", "student_a"])
def test_who_may_not_review(w, who):
    resource = services.resource_submit(actor=w.trainee.user if who != "trainee" else w.member.user,
                                        upload=pdf(), title="课件", studio=w.studio)
    with pytest.raises(Forbidden):
        services.resource_approve(actor=getattr(w, who).user, resource=resource)
    with pytest.raises(Forbidden):
        services.resource_return(actor=getattr(w, who).user, resource=resource, comment="改")


def test_return_needs_a_comment_and_notifies(w):
    resource = services.resource_submit(actor=w.lecturer.user, upload=pdf(), title="讲义", lecture=w.lecture)
    with pytest.raises(ServiceError):
        services.resource_return(actor=w.host.user, resource=resource, comment="  ")
    services.resource_return(actor=w.host.user, resource=resource, comment="请补充例题")
    assert Resource.objects.get(pk=resource.pk).state == Resource.State.RETURNED
    assert Notification.objects.filter(recipient=w.lecturer.user, kind="resource.returned").exists()


@pytest.mark.parametrize("who", ["student_a", "other_member", "teacher_b"])
def test_who_may_not_submit(w, who):
    with pytest.raises(Forbidden):
        services.resource_submit(actor=getattr(w, who).user, upload=pdf(), title="x", studio=w.studio)
    with pytest.raises(Forbidden):
        services.resource_submit(actor=getattr(w, who).user, upload=pdf(), title="x", lecture=w.lecture)
    assert not Resource.objects.exists()


@pytest.mark.parametrize(("name", "content", "code"), [
    ("a.exe", b"MZ\x90\x00", "unsupported_file_type"),
    ("a.pdf", b"MZ\x90\x00 not a pdf", "file_content_mismatch"),
    ("a.docx", b"PK\x03\x04garbage", "file_content_mismatch"),
    ("a.pdf", b"", "empty_file"),
])
def test_bad_files_are_refused_and_nothing_is_stored(w, name, content, code):
    with pytest.raises(ServiceError) as refused:
        services.resource_submit(actor=w.member.user, upload=pdf(name, content), title="x", studio=w.studio)
    assert refused.value.code == code
    assert not Resource.objects.exists()


def test_a_file_over_the_limit_is_a_413(w, settings):
    settings.RESOURCE_MAX_UPLOAD_BYTES = 10
    with pytest.raises(ServiceError) as refused:
        services.resource_submit(actor=w.member.user, upload=pdf(), title="x", studio=w.studio)
    assert refused.value.status_code == 413


def test_a_rolled_back_submission_leaves_no_row(w):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.resource_submit(actor=w.member.user, upload=pdf(), title="x", studio=w.studio)
        raise RuntimeError
    assert not Resource.objects.exists()


def test_peak_viewers_only_rise(w):
    assert services.lecture_peak_viewers_record(lecture_id=w.lecture.pk, viewers=13000)
    assert not services.lecture_peak_viewers_record(lecture_id=w.lecture.pk, viewers=200)
    assert Lecture.objects.get(pk=w.lecture.pk).peak_viewers == 13000

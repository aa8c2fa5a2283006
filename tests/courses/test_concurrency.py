"""Capacity and reminders hold under concurrency (PostgreSQL only: SQLite has no row locks)."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from courses.models import Course, Enrolment, Lecture
from courses.services import enrolment_create, lecture_end, lecture_go_live, lecture_reminders_send
from notifications.models import Notification
from service_records.models import ServiceEvent
from tests.courses.support import build
from tests.factories import StudentFactory, build_world
from tests.studios.test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

THREADS = 10


def test_concurrent_enrolments_never_pass_the_capacity():
    w = build(build_world())
    Course.objects.filter(pk=w.course.pk).update(capacity=3)
    students = [StudentFactory(school=w.school_a).user for _ in range(THREADS)]
    outcomes = race(lambda user: enrolment_create(actor=user, course=w.course), [(u,) for u in students])
    assert sum(isinstance(o, Enrolment) for o in outcomes) == 3, outcomes
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["course_full"] * (THREADS - 3)
    assert Enrolment.objects.filter(course=w.course, left_at__isnull=True).count() == 3


def test_concurrent_reminder_runs_remind_once():
    w = build(build_world())
    start = timezone.now() + datetime.timedelta(minutes=15)
    Lecture.objects.filter(pk=w.lecture.pk).update(starts_at=start,
                                                   ends_at=start + datetime.timedelta(hours=1))
    for _ in range(20):
        Enrolment.objects.create(course=w.course, user=StudentFactory(school=w.school_a).user)
    outcomes = race(lecture_reminders_send, [() for _ in range(6)])
    assert sorted(outcomes) == [0, 0, 0, 0, 0, 1], outcomes
    assert Notification.objects.filter(kind="lecture.reminder").count() == 20


def test_concurrent_ends_record_the_service_once():
    w = build(build_world())
    lecture_go_live(actor=w.host.user, lecture=w.lecture)
    outcomes = race(lambda: lecture_end(actor=w.lecturer.user, lecture=w.lecture), [() for _ in range(6)])
    assert sum(isinstance(o, Lecture) for o in outcomes) == 1, outcomes
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["lecture_state"] * 5
    assert ServiceEvent.objects.filter(kind__code="lecture_delivered").count() == 1

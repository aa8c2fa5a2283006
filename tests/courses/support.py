"""A small courses world on top of tests.factories.build_world(): a studio hosted at school_a by
teacher_a, with a member (from county_b) and a trainee; another studio at school_b with its own
host and member; one published city-wide course of the first studio with a scheduled lecture."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from courses.models import Course, Lecture, LectureStaff
from courses.services import course_create, course_publish
from studios.models import Membership
from tests.factories import SchoolFactory, TeacherFactory
from tests.studios.factories import add, make_studio

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def pdf(name: str = "讲义.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def build(world) -> SimpleNamespace:
    w = world
    w.host = w.teacher_a
    w.studio = make_studio(host=w.host)
    w.member = TeacherFactory(school=SchoolFactory(county=w.county_b))
    w.trainee = TeacherFactory(school=w.school_b)
    add(w.studio, [w.member])
    add(w.studio, [w.trainee], role=Membership.Role.TRAINEE)
    w.other_host = TeacherFactory(school=w.school_b)
    w.other_studio = make_studio(host=w.other_host)
    w.other_member = TeacherFactory(school=SchoolFactory(county=w.county_a))
    add(w.other_studio, [w.other_member])
    w.course = course_create(actor=w.host.user, studio=w.studio, title="初中数学名师大讲堂")
    course_publish(actor=w.host.user, course=w.course)
    w.course.refresh_from_db()
    start = timezone.now() + datetime.timedelta(days=2)
    w.lecture = Lecture.objects.create(
        course=w.course, title="函数的图像", starts_at=start, ends_at=start + datetime.timedelta(hours=1),
        state=Lecture.State.SCHEDULED, stream_push_url="rtmp://push.example.com/live/KEY-123",
        stream_play_url="https://play.example.com/live/1.m3u8", created_by=w.host.user)
    w.lecturer = TeacherFactory(school=w.school_a)
    LectureStaff.objects.create(lecture=w.lecture, teacher=w.lecturer, role=LectureStaff.Role.LECTURER)
    w.assistant = TeacherFactory(school=w.school_b)
    LectureStaff.objects.create(lecture=w.lecture, teacher=w.assistant, role=LectureStaff.Role.ASSISTANT)
    return w


def studio_course(w, *, visibility=Course.Visibility.STUDIO, status=Course.Status.PUBLISHED, **extra):
    course = course_create(actor=w.host.user, studio=w.studio, title="工作室内部研修", visibility=visibility,
                           **extra)
    if status == Course.Status.PUBLISHED:
        course_publish(actor=w.host.user, course=course)
    return Course.objects.get(pk=course.pk)

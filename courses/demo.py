"""Demo courses: for every active demo studio a city-wide lecture series with past (replay
available), live and upcoming lectures, and a studio-only course; demo students enrolled; a few
resources (one published, one awaiting review). Built through courses.services, so the demo
records the same service events a real studio would. Idempotent: a studio whose series exists
is left as it is. Call ``seed_demo_courses()`` after the demo studios exist (common.demo)."""

from __future__ import annotations

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import StudentProfile
from courses import services
from courses.models import Course, Enrolment, Lecture
from studios.models import Membership, Studio

_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ENROLLED_PER_COURSE = 40


def _file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, _PDF, content_type="application/pdf")


def _lecture(*, host, course, title: str, start: datetime.datetime, lecturer, assistant=None) -> Lecture:
    lecture = services.lecture_create(actor=host.user, course=course, title=title, starts_at=start,
                                      ends_at=start + datetime.timedelta(minutes=90),
                                      stream_push_url=f"rtmp://push.example.com/live/demo-{course.pk}-{title}",
                                      stream_play_url=f"https://play.example.com/live/demo-{course.pk}.m3u8")
    services.lecture_staff_add(actor=host.user, lecture=lecture, teacher=lecturer, role="lecturer")
    if assistant is not None:
        services.lecture_staff_add(actor=host.user, lecture=lecture, teacher=assistant, role="assistant")
    services.lecture_schedule(actor=host.user, lecture=lecture)
    return lecture


def _seed_studio(studio: Studio, *, now: datetime.datetime, first: bool) -> None:
    roster = list(Membership.objects.filter(studio=studio, left_on__isnull=True)
                  .select_related("teacher__user", "teacher__school").order_by("role", "id"))
    host = next(m.teacher for m in roster if m.role == Membership.Role.HOST)
    members = [m.teacher for m in roster if m.role == Membership.Role.MEMBER]
    assistant = members[0] if members else None
    series = services.course_create(
        actor=host.user, studio=studio, title=f"{studio.name}·名师大讲堂", subject=studio.subject,
        stage=studio.stage, description=f"{studio.name}面向全市师生的系列讲座。", capacity=None)
    services.course_publish(actor=host.user, course=series)
    internal = services.course_create(actor=host.user, studio=studio, title=f"{studio.name}·内部研修",
                                      visibility=Course.Visibility.STUDIO, subject=studio.subject)
    services.course_publish(actor=host.user, course=internal)

    for days in (21, 7):  # given lectures, with replays
        start = now - datetime.timedelta(days=days)
        lecture = _lecture(host=host, course=series, title=f"第{22 - days}讲 课例研讨", start=start,
                           lecturer=host, assistant=assistant)
        services.lecture_go_live(actor=host.user, lecture=lecture)
        services.lecture_end(actor=host.user, lecture=lecture)
        services.lecture_publish_replay(actor=host.user, lecture=lecture,
                                        replay_url=f"https://vod.example.com/demo/{lecture.pk}.m3u8")
        Lecture.objects.filter(pk=lecture.pk).update(
            went_live_at=start, ended_at=start + datetime.timedelta(minutes=88),
            peak_viewers=1200 + days * 40)
    if first:  # one lecture live right now, for the live room demo
        lecture = _lecture(host=host, course=series, title="直播中：名师示范课",
                           start=now - datetime.timedelta(minutes=10), lecturer=host, assistant=assistant)
        services.lecture_go_live(actor=host.user, lecture=lecture)
    for days in (3, 10):
        lecturer = members[days % len(members)] if members else host
        _lecture(host=host, course=series, title=f"专题讲座（{days}天后）",
                 start=now + datetime.timedelta(days=days), lecturer=lecturer,
                 assistant=None if lecturer is host else host)
    _lecture(host=host, course=internal, title="成员研修：命题与审题", start=now + datetime.timedelta(days=5),
             lecturer=host)

    students = list(StudentProfile.objects.filter(school__city_id=series.city_id)
                    .order_by("user_id").values_list("user_id", flat=True)[:ENROLLED_PER_COURSE])
    Enrolment.objects.bulk_create([Enrolment(course=series, user_id=pk) for pk in students],
                                  ignore_conflicts=True)

    if members:
        published = services.resource_submit(actor=members[0].user, upload=_file("课例研讨讲义.pdf"),
                                             title="课例研讨讲义", studio=studio)
        services.resource_approve(actor=host.user, resource=published)
        services.resource_submit(actor=members[-1].user, upload=_file("单元作业设计.pdf"),
                                 title="单元作业设计（待审核）", studio=studio)


@transaction.atomic
def seed_demo_courses() -> dict[str, int]:
    """Builds the demo courses (once per studio). Returns how many courses and lectures exist."""
    now = timezone.now().replace(second=0, microsecond=0)
    studios = list(Studio.objects.filter(status=Studio.Status.ACTIVE).select_related("subject", "stage")
                   .order_by("pk"))
    live_exists = Lecture.objects.filter(state=Lecture.State.LIVE).exists()
    for index, studio in enumerate(studios):
        if Course.objects.filter(studio=studio, title=f"{studio.name}·名师大讲堂").exists():
            continue
        _seed_studio(studio, now=now, first=index == 0 and not live_exists)
    return {"courses": Course.objects.count(), "lectures": Lecture.objects.count()}

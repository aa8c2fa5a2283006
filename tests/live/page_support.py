"""Helpers of the live-room page tests: a browser context signed in as a user."""

from __future__ import annotations

from django.conf import settings
from django.test import Client


def signed_in_page(browser, server, user, *, locale: str = "zh-CN"):
    """A new page in its own browser context carrying ``user``'s session cookie, refusing any
    request outside the server; returns (page, errors) where errors collects page errors.
    ``locale`` is the browser's language (its Accept-Language): Chinese unless a test asks."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale=locale)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": server.url}])
    page = context.new_page()
    errors: list[str] = []
    # These machines have no internet, and the page must need none.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url)
               else (errors.append(f"outside request: {route.request.url}"), route.abort()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def live_lecture(world, *, state: str = "live", title: str = "函数的单调性", visibility: str = "city"):
    """A published city-wide course owned by world.teacher_a (the lecturer) with one lecture in
    ``state``; world.student_a (same city) may watch it."""
    import datetime

    from django.utils import timezone

    from courses.models import Course, Lecture, LectureStaff

    teacher = world.teacher_a
    course = Course.objects.create(title="高一数学名师大讲堂", owner=teacher, city=world.city,
                                   status=Course.Status.PUBLISHED, visibility=visibility,
                                   school=world.school_a if visibility == "school" else None,
                                   created_by=teacher.user)
    now = timezone.now()
    lecture = Lecture.objects.create(
        course=course, title=title, starts_at=now - datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(hours=1), state=state, created_by=teacher.user,
        stream_play_url="https://play.example.invalid/live/room1.m3u8",
        went_live_at=now - datetime.timedelta(minutes=5) if state == "live" else None)
    LectureStaff.objects.create(lecture=lecture, teacher=teacher, role=LectureStaff.Role.LECTURER)
    return lecture

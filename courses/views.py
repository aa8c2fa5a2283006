"""The personal iCalendar feed, outside the API: calendar apps fetch it without signing in, so
the secret token in the address is the credential (rotate or revoke it through the API)."""

from __future__ import annotations

import datetime

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from courses.ical import lectures_calendar
from courses.selectors import calendar_feed_by_token, lecture_list_for_calendar

#: Lectures that started longer ago than this are left out of the feed.
FEED_PAST_DAYS = 180
FEED_MAX_EVENTS = 1000


@require_GET
def calendar_feed(request, token: str) -> HttpResponse:
    feed = calendar_feed_by_token(token)
    if feed is None:
        raise Http404
    since = timezone.now() - datetime.timedelta(days=FEED_PAST_DAYS)
    lectures = lecture_list_for_calendar(user=feed.user).filter(starts_at__gte=since)[:FEED_MAX_EVENTS]
    body = lectures_calendar(
        lectures, name="学问通 · 讲座", host="xuewen",
        url_for=lambda lecture: request.build_absolute_uri(f"/api/v1/lectures/{lecture.pk}/"),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="lectures.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response

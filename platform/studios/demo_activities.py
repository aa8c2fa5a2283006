"""Demo activities for the demo studios (common.demo_studios): in each studio one activity in
every state of the paper trail, so the API and the admin have something to show.

Idempotent: a studio that has activities already is left alone. Future activities (a draft, an
announced one with a pending leave request) go through the services. Past ones cannot (the
services refuse a notice after the start, by design), so their rows are written here with the
dates they would have had, and an approved one records its presenters' service through the same
helper the approval service uses."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AdministratorProfile, User
from studios.activities.models import Activity, ActivityReview, Attendance
from studios.activities.selectors import trainees_on
from studios.activities.services import (
    _record_service,
    activity_create,
    activity_notice_publish,
    leave_request_create,
)
from studios.models import Membership, Studio

# kind, title, days from today (negative: past), state
PAST = [
    (Activity.Kind.LESSON_STUDY, "课例研讨：单元整体教学设计", -60, Activity.State.PUBLISHED),
    (Activity.Kind.MEMBER_REPORT, "成员汇报：一学期的课堂观察", -30, Activity.State.PUBLISHED),
    (Activity.Kind.RESEARCH_PROJECT, "课题研究：作业设计的减负增效", -12, Activity.State.RETURNED),
    (Activity.Kind.OPEN_LESSON, "研究课：核心素养导向的课堂", -5, Activity.State.SUBMITTED),
]
FUTURE = [
    (Activity.Kind.GUIDANCE, "名师导教：新课标解读", 7, Activity.State.ANNOUNCED),
    (Activity.Kind.ONLINE_SEMINAR, "在线研讨：命题与评价", 14, Activity.State.DRAFT),
]


def _office(studio: Studio) -> User:
    """The county office of the host school (else the city's, else a superuser)."""
    school = studio.host_school
    profile = (AdministratorProfile.objects.filter(
        Q(level="county", region_id=school.county_id) | Q(level="city", region_id=school.city_id))
        .select_related("user").order_by("-level").first())  # "county" sorts after "city"
    return profile.user if profile else User.objects.filter(is_superuser=True).order_by("pk").first()


def _at(days: int, hour: int = 14) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _past(studio: Studio, *, host, member, office, kind, title, days, state) -> Activity:
    starts_at = _at(days)
    served = {"served_county_id": studio.host_school.county_id} if kind == Activity.Kind.OUTREACH else {}
    activity = Activity.objects.create(
        studio=studio, kind=kind, title=title, notice=f"{title}：请全体成员与学员参加。",
        place=studio.host_school.name, starts_at=starts_at, ends_at=starts_at + datetime.timedelta(hours=2),
        state=state, notice_published_at=starts_at - datetime.timedelta(days=7), created_by=host.user,
        report=f"{title}顺利开展，成员与学员深入研讨。",
        report_submitted_at=starts_at + datetime.timedelta(days=1), report_submitted_by=host.user, **served)
    presenter = member if kind in (Activity.Kind.MEMBER_REPORT, Activity.Kind.OPEN_LESSON) else host
    activity.presenters.set([presenter])
    trainees = list(trainees_on(studio=studio, day=timezone.localdate(starts_at)))
    Attendance.objects.bulk_create([
        Attendance(activity=activity, membership=m, status=Attendance.Status.PRESENT) for m in trainees])
    if state in (Activity.State.PUBLISHED, Activity.State.RETURNED):
        approved = state == Activity.State.PUBLISHED
        comment = "" if approved else "请补充活动照片与签到表。"
        ActivityReview.objects.create(activity=activity, reviewer=office, comment=comment,
                                      outcome="approved" if approved else "returned")
        Activity.objects.filter(pk=activity.pk).update(
            reviewed_at=starts_at + datetime.timedelta(days=2), reviewed_by=office, review_comment=comment)
        if approved:
            _record_service(activity=activity, actor=office)
    return activity


@transaction.atomic
def seed_demo_activities() -> int:
    """Builds the demo activities; returns how many were created."""
    created = 0
    for studio in Studio.objects.filter(status=Studio.Status.ACTIVE).select_related("kind", "host_school"):
        if Activity.objects.filter(studio=studio).exists():
            continue
        roster = list(Membership.objects.filter(studio=studio, left_on__isnull=True)
                      .select_related("teacher__user").order_by("role", "joined_on", "id"))
        host = next((m.teacher for m in roster if m.role == Membership.Role.HOST), None)
        members = [m.teacher for m in roster if m.role == Membership.Role.MEMBER]
        trainees = [m.teacher for m in roster if m.role == Membership.Role.TRAINEE]
        if host is None or not members:
            continue
        office = _office(studio)
        for kind, title, days, state in PAST:
            if studio.kind.code == "outreach" and kind == Activity.Kind.LESSON_STUDY:
                kind, title = Activity.Kind.OUTREACH, "送教下乡：走进山区课堂"
            _past(studio, host=host, member=members[0], office=office, kind=kind, title=title, days=days,
                  state=state)
            created += 1
        for kind, title, days, state in FUTURE:
            activity = activity_create(
                actor=host.user, studio=studio, kind=kind, title=title, starts_at=_at(days),
                ends_at=_at(days, 16), notice=f"{title}：欢迎参加。",
                is_online=kind == Activity.Kind.ONLINE_SEMINAR, place=studio.host_school.name,
                presenters=[host])
            if state == Activity.State.ANNOUNCED:
                activity_notice_publish(actor=host.user, activity=activity)
                if trainees:
                    leave_request_create(actor=trainees[0].user, activity=activity,
                                         reason="学校期中考试监考。")
            created += 1
    return created

"""Builders for activity tests: a studio in county A hosted by world.teacher_a with members and
trainees, and helpers that walk an activity along its paper trail. Time moves by patching
``studios.activities.services._now`` (no sleeping, no timed assertions)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django.utils import timezone

from studios.activities import services as activity_services
from studios.activities.models import Activity
from studios.activities.services import (
    activity_create,
    activity_notice_publish,
    activity_report_submit,
    activity_review,
)
from studios.models import Membership
from tests.studios.factories import StudioKindFactory, add, make_studio, superuser, teachers_elsewhere


def build_activity_world(world) -> SimpleNamespace:
    today = timezone.localdate()
    studio = make_studio(host=world.teacher_a, kind=StudioKindFactory(), name="鹿城数学名师工作室",
                         cycle_start=today - datetime.timedelta(days=365))
    members = [m.teacher for m in add(studio, teachers_elsewhere(world.county_b, 2))]
    trainee_rows = add(studio, teachers_elsewhere(world.county_a, 3), role=Membership.Role.TRAINEE)
    return SimpleNamespace(
        world=world, studio=studio, host=world.teacher_a, members=members,
        trainees=[m.teacher for m in trainee_rows], trainee_memberships=trainee_rows,
        office=world.county_admin_a.user, root=superuser(),
    )


def soon(days: float = 2) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


def plan(s, *, kind=Activity.Kind.GUIDANCE, presenters=None, starts_at=None, actor=None, **extra) -> Activity:
    starts_at = starts_at or soon()
    defaults = {"title": "课例研讨：函数的概念", "notice": "周三下午在鹿城实验中学开展课例研讨。",
                "place": "鹿城实验中学报告厅", "is_online": False}
    defaults.update(extra)
    return activity_create(
        actor=actor or s.host.user, studio=s.studio, kind=kind, starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(hours=2),
        presenters=presenters if presenters is not None else [s.host], **defaults)


def travel(monkeypatch, when: datetime.datetime) -> None:
    monkeypatch.setattr(activity_services, "_now", lambda: when)


def after(activity: Activity) -> datetime.datetime:
    return activity.ends_at + datetime.timedelta(hours=1)


def announced(s, **kwargs) -> Activity:
    activity = plan(s, **kwargs)
    return activity_notice_publish(actor=s.host.user, activity=activity)


def submitted(s, monkeypatch, *, present=None, **kwargs) -> Activity:
    activity = announced(s, **kwargs)
    travel(monkeypatch, after(activity))
    present = [t.pk for t in s.trainees] if present is None else present
    return activity_report_submit(actor=s.host.user, activity=activity, report="活动顺利开展。",
                                  present=present)


def published(s, monkeypatch, **kwargs) -> Activity:
    activity = submitted(s, monkeypatch, **kwargs)
    return activity_review(actor=s.office, activity=activity, approve=True)

"""Duties progress and statistics, computed from published activities and the service ledger."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from service_records.services import service_event_record
from studios.activities.models import Activity
from studios.activities.selectors import studio_duties, studio_figures, terms_of_year
from studios.activities.services import (
    activity_cancel,
    activity_notice_publish,
    activity_report_submit,
    activity_review,
)
from studios.models import Membership
from tests.studios.activity_helpers import plan, travel
from tests.studios.factories import StudioKindFactory, add, make_studio, teachers_elsewhere

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def s(world):
    from types import SimpleNamespace

    studio = make_studio(host=world.teacher_a, kind=StudioKindFactory(), name="鹿城数学名师工作室",
                         cycle_start=datetime.date(2024, 9, 1))
    members = [m.teacher for m in add(studio, teachers_elsewhere(world.county_b, 2))]
    [trainee] = add(studio, teachers_elsewhere(world.county_a, 1), role=Membership.Role.TRAINEE)
    return SimpleNamespace(world=world, studio=studio, host=world.teacher_a, members=members,
                           trainee=trainee.teacher, office=world.county_admin_a.user)


def held(s, monkeypatch, day: datetime.date, *, kind=Activity.Kind.GUIDANCE, presenters=None, approve=True,
         **extra) -> Activity:
    """An activity on ``day`` (10:00 local) taken through its whole trail, time moved as needed."""
    starts_at = datetime.datetime.combine(day, datetime.time(10), tzinfo=SHANGHAI)
    travel(monkeypatch, starts_at - datetime.timedelta(days=1))
    activity = plan(s, kind=kind, starts_at=starts_at, presenters=presenters or [s.host], **extra)
    activity_notice_publish(actor=s.host.user, activity=activity)
    travel(monkeypatch, starts_at + datetime.timedelta(hours=3))
    activity_report_submit(actor=s.host.user, activity=activity, report="报道", present=[])
    return activity_review(actor=s.office, activity=activity, approve=approve,
                           comment="" if approve else "改")


def test_terms_of_a_calendar_year_follow_the_assessment():
    assert terms_of_year(2025) == [(datetime.date(2025, 1, 1), datetime.date(2025, 8, 1)),
                                   (datetime.date(2025, 8, 1), datetime.date(2026, 1, 1))]


def test_duties_progress(s, monkeypatch):
    first, second = s.members
    report = Activity.Kind.MEMBER_REPORT
    lesson = Activity.Kind.OPEN_LESSON
    held(s, monkeypatch, datetime.date(2025, 4, 1), kind=report, presenters=[first])
    held(s, monkeypatch, datetime.date(2025, 11, 1), kind=report, presenters=[first])
    held(s, monkeypatch, datetime.date(2026, 3, 1), kind=report, presenters=[second])  # another year
    held(s, monkeypatch, datetime.date(2025, 5, 1), kind=report, presenters=[second],
         approve=False)  # returned: not counted
    held(s, monkeypatch, datetime.date(2025, 3, 10), kind=lesson, presenters=[first])
    held(s, monkeypatch, datetime.date(2025, 10, 10), kind=lesson, presenters=[first])
    held(s, monkeypatch, datetime.date(2025, 1, 15), kind=lesson, presenters=[second])  # January: spring
    held(s, monkeypatch, datetime.date(2025, 6, 1), kind=Activity.Kind.ONLINE_SEMINAR, is_online=True,
         place="")

    duties = studio_duties(studio=s.studio, year=2025)
    reports = {row["teacher"]["id"]: (row["done"], row["required"], row["met"])
               for row in duties["member_reports"]}
    assert reports == {first.pk: (2, 2, True), second.pk: (0, 2, False)}
    lessons = {row["teacher"]["id"]: ([t["done"] for t in row["terms"]], row["met"])
               for row in duties["research_lessons"]}
    assert lessons == {s.host.pk: ([0, 0], False), first.pk: ([1, 1], True), second.pk: ([1, 0], False)}
    # offline activities in the whole cycle: the 6 approved in person; the online seminar and the
    # returned report do not count
    assert duties["offline_activities"] == {"done": 6, "required": 5, "met": True}
    assert duties["met"] is False


def test_duty_numbers_are_data_on_the_kind(s, monkeypatch):
    kind = s.studio.kind
    kind.member_reports_per_year = 0
    kind.research_lessons_per_term = 0
    kind.offline_activities_per_cycle = 1
    kind.save()
    held(s, monkeypatch, datetime.date(2025, 4, 1))
    assert studio_duties(studio=s.studio, year=2025)["met"] is True


def test_cancelled_activities_count_nowhere(s, monkeypatch):
    starts_at = datetime.datetime(2025, 4, 1, 10, tzinfo=SHANGHAI)
    travel(monkeypatch, starts_at - datetime.timedelta(days=1))
    activity_cancel(actor=s.host.user, activity=plan(s, starts_at=starts_at))
    assert studio_duties(studio=s.studio, year=2025)["offline_activities"]["done"] == 0


def test_statistics_by_year_and_cycle(s, monkeypatch):
    first, second = s.members
    held(s, monkeypatch, datetime.date(2025, 4, 1), kind=Activity.Kind.MEMBER_REPORT, presenters=[first])
    held(s, monkeypatch, datetime.date(2025, 5, 1), kind=Activity.Kind.OUTREACH, presenters=[first, second],
         served_county=s.world.county_b)
    held(s, monkeypatch, datetime.date(2026, 5, 1), presenters=[second])
    at = datetime.datetime(2025, 9, 1, 12, tzinfo=SHANGHAI)
    service_event_record(teacher_id=s.host.pk, kind="answer_given", idempotency_key="t:host", occurred_at=at,
                         quantity=3)
    # a trainee's service is not the members' service
    service_event_record(teacher_id=s.trainee.pk, kind="answer_given", idempotency_key="t:trainee",
                         occurred_at=at, quantity=5)
    figures = studio_figures(studio_ids=[s.studio.pk], start=datetime.date(2025, 1, 1),
                             end=datetime.date(2026, 1, 1))[s.studio.pk]
    assert figures["activities"] == 2
    assert figures["activities_by_kind"]["member_report"] == 1
    assert figures["activities_by_kind"]["outreach"] == 1
    assert figures["members_service"] == Decimal("6.00")  # 1 + 1 + 1 events, and the host's 3
    assert figures["members_serving"] == 3
    cycle = studio_figures(studio_ids=[s.studio.pk], start=s.studio.cycle_start,
                           end=s.studio.cycle_end)[s.studio.pk]
    assert cycle["activities"] == 3 and cycle["members_service"] == Decimal("7.00")


def test_statistics_take_the_same_queries_for_one_studio_or_many(s, world):
    hosts = teachers_elsewhere(world.county_a, 3)
    others = [make_studio(host=t, name=f"工作室{i}") for i, t in enumerate(hosts)]
    ids = [s.studio.pk] + [o.pk for o in others]
    with CaptureQueriesContext(connection) as one:
        studio_figures(studio_ids=ids[:1], start=datetime.date(2025, 1, 1), end=datetime.date(2026, 1, 1))
    with CaptureQueriesContext(connection) as many:
        studio_figures(studio_ids=ids, start=datetime.date(2025, 1, 1), end=datetime.date(2026, 1, 1))
    assert len(many) == len(one)


def test_duties_take_a_fixed_number_of_queries(s, monkeypatch, world):
    held(s, monkeypatch, datetime.date(2025, 4, 1))
    with CaptureQueriesContext(connection) as few:
        studio_duties(studio=s.studio, year=2025)
    add(s.studio, teachers_elsewhere(world.county_b, 3))
    with CaptureQueriesContext(connection) as more:
        studio_duties(studio=s.studio, year=2025)
    assert len(more) == len(few)

"""County adoption report (seed 000) and the visit counting that feeds it."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import User
from service_records.models import CountyEnrolment, DailyUsage
from service_records.review import middleware as usage_middleware
from service_records.review.tasks import flush_daily_usage
from tests.factories import StudentFactory, TeacherFactory, TeacherTierFactory
from tests.service_records.review_factories import SHANGHAI, final_run, scheme

pytestmark = pytest.mark.django_db

ADOPTION = "/api/v1/service-records/adoption/"


def joined(user, day):
    User.objects.filter(pk=user.pk).update(
        date_joined=datetime.datetime.combine(day, datetime.time(9), tzinfo=SHANGHAI))


def usage(county, day, role, visits, active):
    DailyUsage.objects.create(county=county, day=day, role=role, visits=visits, active_users=active)


@pytest.fixture
def figures(world):
    """Hand-made registrations, usage rows, enrolment and assessment results for March 2026."""
    d = datetime.date
    CountyEnrolment.objects.create(county=world.county_a, school_year=2025, students_enrolled=4,
                                   teachers_employed=4)
    CountyEnrolment.objects.create(county=world.county_a, school_year=2024, students_enrolled=100,
                                   teachers_employed=100)
    joined(world.student_a.user, d(2026, 2, 1))
    joined(StudentFactory(school=world.school_a).user, d(2026, 3, 3))
    joined(StudentFactory(school=world.school_a).user, d(2026, 3, 10))
    joined(StudentFactory(school=world.school_a).user, d(2026, 3, 20))  # after the report
    gone = StudentFactory(school=world.school_a).user
    joined(gone, d(2026, 1, 5))
    User.objects.filter(pk=gone.pk).update(is_active=False)
    joined(world.student_b.user, d(2026, 3, 4))

    usage(world.county_a, d(2026, 3, 2), "student", 10, 4)
    usage(world.county_a, d(2026, 3, 2), "teacher", 5, 2)
    usage(world.county_a, d(2026, 3, 4), "student", 7, 5)
    usage(world.county_a, d(2026, 3, 9), "teacher", 3, 1)
    usage(world.county_a, d(2026, 3, 16), "student", 99, 50)  # after the report
    usage(world.county_b, d(2026, 3, 10), "admin", 2, 1)

    also_three_tier = TeacherFactory(school=world.school_a)
    plain = TeacherFactory(school=world.school_a, tier=TeacherTierFactory(code="plain", is_three_tier=False))
    for teacher in (world.teacher_a, world.teacher_b, also_three_tier, plain):
        joined(teacher.user, d(2026, 1, 1))
    older = scheme(world.city, start=d(2024, 1, 1), end=d(2024, 12, 31), code="y24")
    final_run(older, {world.teacher_a: False, also_three_tier: False, world.teacher_b: False})
    latest = scheme(world.city, start=d(2025, 1, 1), end=d(2025, 12, 31), code="y25")
    run = final_run(latest, {world.teacher_a: True, also_three_tier: False, plain: True,
                             world.teacher_b: True})
    return run


def report(client, **params):
    response = client.get(ADOPTION, {"week_from": "2026-03-04", "week_to": "2026-03-15", **params})
    assert response.status_code == 200, response.json()
    return {row["county_code"]: row for row in response.json()["results"]}


def test_adoption_per_county_per_week_from_hand_made_rows(world, client_for, figures):
    rows = report(client_for(world.city_admin.user))

    assert set(rows) == {"WZ-LC", "WZ-TS"}
    a = rows["WZ-LC"]
    w10, w11 = a["weeks"]
    assert (w10["week_start"], w10["iso_week"], w11["week_start"]) == ("2026-03-02", "2026-W10",
                                                                        "2026-03-09")
    assert (w10["students_registered"], w10["students_enrolled"]) == (2, 4)
    assert w10["registration_rate"] == "0.5000"
    assert w10["enrolment_school_year"] == 2025
    assert (w11["students_registered"], w11["registration_rate"]) == (3, "0.7500")
    assert w10["visits"] == 22
    assert w10["visits_by_role"] == {"student": 17, "teacher": 5, "admin": 0}
    assert (w10["active_users_peak"], w10["active_user_days"]) == (6, 11)
    assert (w11["visits"], w11["active_users_peak"], w11["active_user_days"]) == (3, 1, 1)
    assert (a["teachers_registered"], a["teachers_employed"]) == (3, 4)
    assert a["teacher_registration_rate"] == "0.7500"
    assert a["three_tier_duty"] == {"run": figures.pk, "teachers": 2, "meeting_duty": 1, "share": "0.5000"}

    b = rows["WZ-TS"]
    assert [w["students_registered"] for w in b["weeks"]] == [1, 1]
    assert b["weeks"][0]["registration_rate"] is None  # the bureau has reported no enrolment
    assert b["weeks"][1]["visits_by_role"]["admin"] == 2
    assert b["three_tier_duty"]["share"] == "1.0000"


def test_without_a_final_run_the_duty_share_is_empty(world, client_for):
    rows = report(client_for(world.city_admin.user))
    assert rows["WZ-LC"]["three_tier_duty"] == {"run": None, "teachers": 0, "meeting_duty": 0, "share": None}


def test_a_county_admin_sees_their_county_only(world, client_for, figures):
    assert set(report(client_for(world.county_admin_a.user))) == {"WZ-LC"}
    assert set(report(client_for(world.county_admin_b.user))) == {"WZ-TS"}
    assert report(client_for(world.county_admin_a.user), county=world.county_b.pk) == {}
    assert set(report(client_for(world.other_city_admin.user))) == {"OT-1"}


@pytest.mark.parametrize("who", ["school_admin_a", "teacher_a", "student_a"])
def test_school_admins_teachers_and_students_are_refused(world, client_for, who):
    response = client_for(getattr(world, who).user).get(ADOPTION)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_a_regional_administrator"


@pytest.mark.parametrize("params, field", [
    ({"week_from": "2024-01-01", "week_to": "2026-01-01"}, "week_from"),
    ({"week_from": "2026-03-20", "week_to": "2026-03-01"}, "week_from"),
    ({"week_to": "someday"}, "week_to"),
    ({"county": "x"}, "county"),
])
def test_bad_report_ranges_are_400(world, client_for, params, field):
    response = client_for(world.city_admin.user).get(ADOPTION, params)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_the_default_range_is_the_last_eight_weeks(world, client_for):
    rows = client_for(world.county_admin_a.user).get(ADOPTION).json()["results"]
    weeks = rows[0]["weeks"]
    today = timezone.localdate()
    assert len(weeks) == 8
    assert weeks[-1]["week_start"] == (today - datetime.timedelta(days=today.weekday())).isoformat()


def test_the_report_costs_a_fixed_number_of_queries(world, client_for, figures,
                                                     django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        client_for(world.city_admin.user).get(ADOPTION, {"week_from": "2025-04-01", "week_to": "2026-03-30"})


# --- visits counted by the middleware, written by the flush task ------------------------------

def test_visits_are_counted_per_county_role_and_day_then_flushed(world, client_for, api_client):
    teacher, student = client_for(world.teacher_a.user), client_for(world.student_a.user)
    assert teacher.get("/api/v1/service-records/me/events/").status_code == 200
    assert teacher.get("/api/v1/service-records/me/progress/").status_code == 200
    assert student.get("/api/v1/me/").status_code == 200
    assert client_for(world.county_admin_b.user).get(ADOPTION).status_code == 200
    assert client_for(world.school_admin_a.user).get("/api/v1/service-records/disputes/").status_code == 200
    assert client_for(world.city_admin.user).get(ADOPTION).status_code == 200  # no county: not counted
    api_client.get("/healthz")
    api_client.get("/api/v1/service-records/me/events/")  # anonymous: not counted
    assert not DailyUsage.objects.exists()  # no database write per request

    written = flush_daily_usage()

    today = timezone.localdate()
    got = {(u.county.code, u.role): (u.visits, u.active_users) for u in DailyUsage.objects.filter(day=today)}
    assert got == {("WZ-LC", "teacher"): (2, 1), ("WZ-LC", "student"): (1, 1), ("WZ-LC", "admin"): (1, 1),
                   ("WZ-TS", "admin"): (1, 1)}
    assert written == 4

    flush_daily_usage()  # idempotent: absolute numbers
    assert DailyUsage.objects.get(county=world.county_a, role="teacher", day=today).visits == 2

    another = TeacherFactory(school=world.school_a)
    client_for(another.user).get("/api/v1/service-records/me/events/")
    teacher.get("/api/v1/service-records/me/events/")
    flush_daily_usage()
    row = DailyUsage.objects.get(county=world.county_a, role="teacher", day=today)
    assert (row.visits, row.active_users) == (4, 2)


def test_a_flush_of_a_day_without_counters_writes_nothing(world):
    DailyUsage.objects.create(county=world.county_a, day=datetime.date(2026, 3, 1), role="student",
                              visits=12, active_users=3)
    assert flush_daily_usage(day="2026-03-01") == 0
    assert DailyUsage.objects.get().visits == 12  # never overwritten with zero


def test_counting_never_fails_a_request(world, client_for, monkeypatch):
    def broken(**kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(usage_middleware, "usage_count_visit", broken)
    assert client_for(world.teacher_a.user).get("/api/v1/service-records/me/events/").status_code == 200

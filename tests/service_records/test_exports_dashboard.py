"""The administrators' dashboard: the page (admins only) and the figures behind its charts,
scoped like everything else."""

import datetime

import pytest
from django.test import Client

from service_records.assessment.services import assessment_run_compute
from service_records.exports.selectors import dashboard_default_months, month_add
from service_records.models import DailyUsage
from tests.factories import TeacherFactory, TeacherTierFactory
from tests.service_records.assessment_support import at, duty, leaf, node, published_scheme, record
from tests.service_records.exports_support import english  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
FIGURES = "/api/v1/dashboard/figures/"
SPRING = {"first_month": "2026-01", "last_month": "2026-06"}


@pytest.fixture
def seeded(world):
    world.county_tier = TeacherTierFactory(code="county-backbone", name="县骨干", rank=3)
    world.teacher_a2 = TeacherFactory(school=world.school_a, tier=world.county_tier)
    world.other_teacher = TeacherFactory(school=world.other_school)
    record(world.teacher_a, "answer_given", at(2026, 1, 5))
    record(world.teacher_a, "answer_given", at(2026, 3, 5))
    record(world.teacher_a, "live_minutes", at(2026, 3, 6), quantity=90)
    record(world.teacher_a2, "research_lesson", at(2026, 3, 7))
    record(world.teacher_b, "answer_given", at(2026, 2, 1))
    record(world.other_teacher, "answer_given", at(2026, 3, 1))
    record(world.teacher_a, "answer_given", at(2026, 7, 1))  # after the window
    DailyUsage.objects.create(county=world.county_a, day=datetime.date(2026, 3, 2), role="student",
                              visits=120, active_users=40)
    DailyUsage.objects.create(county=world.county_b, day=datetime.date(2026, 3, 2), role="teacher",
                              visits=30, active_users=9)
    scheme = published_scheme(world.city, [node("A1", "A", [
        leaf("B1", ["answer_given"], "10", level="B"),
        leaf("B2", ["research_lesson"], "1", level="B", duty=duty(1, "period"))])])
    scheme.tiers.clear()
    world.run = assessment_run_compute(scheme=scheme)
    return world


def _figures(client_for, who, params=SPRING):
    response = client_for(who.user).get(FIGURES, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_city_administrator_sees_every_county_month_and_tier(seeded, client_for):
    data = _figures(client_for, seeded.city_admin)
    counties = {row["name"]: row for row in data["by_county"]}
    assert list(counties) == ["鹿城区", "泰顺县"]
    lc, ts = counties["鹿城区"], counties["泰顺县"]
    assert (lc["events"], lc["active_teachers"], lc["teachers"], lc["service_hours"]) == (4, 2, 2, "1.5")
    assert (ts["events"], ts["active_teachers"], ts["teachers"]) == (1, 1, 1)
    assert (lc["visits"], ts["visits"]) == (120, 30)
    months = {row["month"]: row["events"] for row in data["by_month"]}
    assert months == {"2026-01": 1, "2026-02": 1, "2026-03": 3, "2026-04": 0, "2026-05": 0, "2026-06": 0}
    assert data["by_month"][2]["visits"] == 150
    tiers = {row["name"]: row for row in data["by_tier"]}
    assert tiers["市名师"]["teachers"] == 2 and tiers["市名师"]["events"] == 4
    assert tiers["县骨干"]["events"] == 1
    assert data["run"]["id"] == seeded.run.pk and data["visits_available"] is True


def test_duties_come_from_the_latest_run(seeded, client_for):
    data = _figures(client_for, seeded.city_admin)
    counties = {row["name"]: row for row in data["by_county"]}
    # teacher_a2 gave the research lesson (duty met); teacher_a and teacher_b did not.
    assert (counties["鹿城区"]["assessed"], counties["鹿城区"]["meeting_duty"]) == (2, 1)
    assert (counties["泰顺县"]["assessed"], counties["泰顺县"]["meeting_duty"]) == (1, 0)


def test_a_county_administrator_sees_their_county_only(seeded, client_for):
    data = _figures(client_for, seeded.county_admin_b)
    assert [row["name"] for row in data["by_county"]] == ["泰顺县"]
    assert sum(row["events"] for row in data["by_month"]) == 1
    assert [(row["name"], row["events"]) for row in data["by_tier"]] == [("市名师", 1)]


def test_a_school_administrator_sees_their_school_without_county_visits(seeded, client_for):
    data = _figures(client_for, seeded.school_admin_a)
    assert [(row["name"], row["events"], row["visits"]) for row in data["by_county"]] == [("鹿城区", 4, None)]
    assert data["visits_available"] is False
    assert all(row["visits"] is None for row in data["by_month"])


def test_the_other_city_sees_none_of_ours(seeded, client_for):
    data = _figures(client_for, seeded.other_city_admin)
    assert [(row["name"], row["events"]) for row in data["by_county"]] == [("他县", 1)]
    assert data["run"] is None


@pytest.mark.parametrize("who", ["teacher_a", "student_a"])
def test_teachers_and_students_get_no_figures(seeded, client_for, who):
    response = client_for(getattr(seeded, who).user).get(FIGURES)
    assert response.status_code == 403 and response.json()["error"]["code"] == "dashboard_forbidden"


@pytest.mark.parametrize("params,field", [
    ({"first_month": "2026-13"}, "first_month"),
    ({"first_month": "2026-06", "last_month": "2026-01"}, "first_month"),
    ({"first_month": "2020-01", "last_month": "2026-01"}, "first_month"),
    ({"last_month": "june"}, "last_month"),
    ({"first_month": "0000-01"}, "first_month"),
    ({"last_month": "9999-12"}, "last_month"),
])
def test_invalid_months_are_400(seeded, client_for, params, field):
    response = client_for(seeded.city_admin.user).get(FIGURES, params)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_default_window_is_the_last_twelve_months(seeded, client_for):
    data = _figures(client_for, seeded.city_admin, {})
    first, last = dashboard_default_months()
    assert (data["first_month"], data["last_month"]) == (f"{first:%Y-%m}", f"{last:%Y-%m}")
    assert len(data["by_month"]) == 12 and month_add(first, 11) == last
    only_last = _figures(client_for, seeded.city_admin, {"last_month": "2026-03"})
    assert (only_last["first_month"], len(only_last["by_month"])) == ("2025-04", 12)


def test_the_figures_take_a_fixed_number_of_queries(seeded, client_for, django_assert_max_num_queries):
    client = client_for(seeded.city_admin.user)
    with django_assert_max_num_queries(20) as counted:
        client.get(FIGURES, SPRING)
    for _i in range(5):
        TeacherFactory(school=seeded.school_b)
    for day in range(1, 20):
        record(seeded.teacher_b, "answer_given", at(2026, 4, day))
    with django_assert_max_num_queries(len(counted.captured_queries)):
        client.get(FIGURES, SPRING)


def test_the_dashboard_page_is_for_administrators(seeded):
    assert Client().get("/dashboard/").status_code == 302
    expected = (("teacher_a", 403), ("student_a", 403), ("county_admin_a", 200), ("school_admin_b", 200))
    for who, status in expected:
        client = Client()
        client.force_login(getattr(seeded, who).user)
        assert client.get("/dashboard/").status_code == status, who
    client = Client()
    client.force_login(seeded.city_admin.user)
    html = client.get("/dashboard/").content.decode()
    assert 'data-figures-url="/api/v1/dashboard/figures/"' in html
    assert "service_records/exports/dashboard.js" in html and 'id="chart-county-events"' in html

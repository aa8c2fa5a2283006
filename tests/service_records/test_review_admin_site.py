"""The review's models in the Django admin, from the side of the administrator who must be
refused: enrolment figures only for counties in scope, disputes and flags read-only."""

import pytest
from django.test import Client

from service_records.models import CountyEnrolment
from service_records.review import services
from tests.service_records.review_factories import at, record

pytestmark = pytest.mark.django_db

ENROLMENTS = "/admin/service_records/countyenrolment/"


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_enrolment_figures_are_scoped_to_the_administrators_counties(world):
    CountyEnrolment.objects.create(county=world.county_a, school_year=2025, students_enrolled=10,
                                   teachers_employed=2)
    CountyEnrolment.objects.create(county=world.county_b, school_year=2025, students_enrolled=20,
                                   teachers_employed=3)
    county_a = admin_client(world.county_admin_a.user)

    listed = county_a.get(ENROLMENTS)
    assert listed.status_code == 200
    assert {row.county_id for row in listed.context["cl"].result_list} == {world.county_a.pk}

    # Adding a figure for another county is refused by the form (the county is not a choice).
    response = county_a.post(f"{ENROLMENTS}add/", {"county": world.county_b.pk, "school_year": 2026,
                                                   "students_enrolled": 1, "teachers_employed": 1})
    assert response.status_code == 200 and "county" in response.context["adminform"].form.errors
    assert not CountyEnrolment.objects.filter(school_year=2026).exists()

    added = county_a.post(f"{ENROLMENTS}add/", {"county": world.county_a.pk, "school_year": 2026,
                                                "students_enrolled": 11, "teachers_employed": 2})
    assert added.status_code == 302
    added_row = CountyEnrolment.objects.get(school_year=2026)
    assert added_row.history.latest().history_user == world.county_admin_a.user


def test_school_administrators_do_not_edit_enrolment(world):
    assert admin_client(world.school_admin_a.user).get(ENROLMENTS).status_code == 403


def test_disputes_are_read_only_in_the_admin_and_scoped(world):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 1))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    url = f"/admin/service_records/servicedispute/{dispute.pk}/change/"
    county_a = admin_client(world.county_admin_a.user)
    assert county_a.get(url).status_code == 200
    response = county_a.post(url, {"status": "accepted"})
    assert response.status_code == 403
    dispute.refresh_from_db()
    assert dispute.status == "open"
    assert admin_client(world.county_admin_b.user).get(url).status_code in (302, 404)

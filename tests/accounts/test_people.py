"""People lists and details as each role sees them: students (minors: scoped, real names only
where needed) and teachers (public within the platform)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import AdminFactory, StudentFactory, TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db

STUDENTS = "/api/v1/students/"
TEACHERS = "/api/v1/teachers/"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _names(response) -> dict[int, str | None]:
    return {row["id"]: row["real_name"] for row in response.json()["results"]}


# --- students ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("viewer", "visible"), [
    ("student_a", {"student_a"}),
    ("teacher_a", {"student_a"}),
    ("teacher_b", {"student_b"}),
    ("school_admin_a", {"student_a"}),
    ("county_admin_a", {"student_a"}),
    ("county_admin_b", {"student_b"}),
    ("city_admin", {"student_a", "student_b"}),
    ("other_city_admin", set()),
])
def test_student_list_is_scoped_to_what_the_viewer_may_see(world, client_for, viewer, visible):
    response = client_for(getattr(world, viewer).user).get(STUDENTS)
    assert _ids(response) == {getattr(world, name).user_id for name in visible}
    assert response.json()["count"] == len(visible)


@pytest.mark.parametrize("viewer", ["student_b", "teacher_b", "school_admin_b", "county_admin_b",
                                    "other_city_admin"])
def test_student_detail_is_a_404_outside_the_scope(world, client_for, viewer):
    response = client_for(getattr(world, viewer).user).get(f"{STUDENTS}{world.student_a.user_id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("viewer", ["student_a", "teacher_a", "school_admin_a", "county_admin_a",
                                    "city_admin"])
def test_student_detail_shows_the_real_name_to_those_who_need_it(world, client_for, viewer):
    response = client_for(getattr(world, viewer).user).get(f"{STUDENTS}{world.student_a.user_id}/")
    assert response.status_code == 200
    assert response.json()["real_name"] == world.student_a.real_name


def test_a_user_with_no_role_sees_only_nothing(client_for):
    StudentFactory()
    assert _ids(client_for(UserFactory()).get(STUDENTS)) == set()


def test_a_superuser_sees_every_student(world, client_for):
    root = UserFactory(is_superuser=True, is_staff=True)
    assert _ids(client_for(root).get(STUDENTS)) == {world.student_a.user_id, world.student_b.user_id}


def test_a_teacher_who_is_also_a_school_admin_sees_both_schools(world, client_for):
    # Teaches at school A and administers school B.
    admin = AdminFactory(level="school", school=world.school_b)
    TeacherFactory(user=admin.user, school=world.school_a)
    assert _ids(client_for(admin.user).get(STUDENTS)) == {world.student_a.user_id,
                                                          world.student_b.user_id}


def test_a_county_admin_filtering_on_another_countys_school_sees_nothing(world, client_for):
    client = client_for(world.county_admin_a.user)
    assert _ids(client.get(STUDENTS, {"school": world.school_b.pk})) == set()
    assert _ids(client.get(STUDENTS, {"county": world.county_b.pk})) == set()
    assert _ids(client.get(STUDENTS, {"school": world.school_a.pk})) == {world.student_a.user_id}


def test_other_students_of_the_same_school_are_invisible_to_a_student(world, client_for):
    classmate = StudentFactory(school=world.school_a)
    response = client_for(world.student_a.user).get(STUDENTS)
    assert classmate.user_id not in _ids(response)
    assert client_for(world.student_a.user).get(f"{STUDENTS}{classmate.user_id}/").status_code == 404


def test_student_filters(world, client_for):
    other_class = StudentFactory(school=world.school_a, class_name="2班")
    client = client_for(world.school_admin_a.user)
    assert _ids(client.get(STUDENTS, {"class_name": "2班"})) == {other_class.user_id}
    assert _ids(client.get(STUDENTS, {"grade": world.student_a.grade_id})) == {
        world.student_a.user_id, other_class.user_id}


@pytest.mark.parametrize("query", [
    {"school": "abc"}, {"school": "1.5"}, {"school": "-1"}, {"school": "1e400"},
    {"school": "99999999999999999999999"}, {"county": "NaN"}, {"grade": ""}, {"class_name": "x" * 100},
])
def test_bad_filter_values_are_a_400_naming_the_parameter_or_ignored(world, client_for, query):
    response = client_for(world.city_admin.user).get(STUDENTS, query)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert set(response.json()["error"]["fields"]) == set(query)


def test_student_list_costs_the_same_queries_for_5_or_40_students(world, client_for,
                                                                  django_assert_max_num_queries):
    client = client_for(world.school_admin_a.user)
    with CaptureQueriesContext(connection) as few:
        client.get(STUDENTS)
    StudentFactory.create_batch(40, school=world.school_a)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(STUDENTS, {"page_size": 50})
    names = _names(response)
    assert len(names) == 41 and all(names.values())


@pytest.mark.parametrize("viewer", ["teacher_a", "county_admin_a", "city_admin", "student_a"])
def test_real_names_in_a_student_list_cost_no_query_per_row(world, client_for, viewer,
                                                            django_assert_max_num_queries):
    StudentFactory.create_batch(30, school=world.school_a)
    # Session-free client: profile lookups of the viewer (at most 3) + count + page.
    with django_assert_max_num_queries(6):
        response = client_for(getattr(world, viewer).user).get(STUDENTS, {"page_size": 50})
    assert all(_names(response).values())


# --- teachers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("viewer", ["student_a", "student_b", "teacher_b", "school_admin_b",
                                    "county_admin_b", "other_city_admin"])
def test_teachers_are_public_to_every_signed_in_user(world, client_for, viewer):
    client = client_for(getattr(world, viewer).user)
    assert _ids(client.get(TEACHERS)) == {world.teacher_a.user_id, world.teacher_b.user_id}
    detail = client.get(f"{TEACHERS}{world.teacher_a.user_id}/")
    assert detail.status_code == 200
    assert detail.json()["real_name"] == world.teacher_a.real_name
    assert detail.json()["school_name"] == world.school_a.name


def test_inactive_teachers_are_not_listed(world, client_for):
    world.teacher_b.user.is_active = False
    world.teacher_b.user.save()
    client = client_for(world.student_a.user)
    assert _ids(client.get(TEACHERS)) == {world.teacher_a.user_id}
    assert client.get(f"{TEACHERS}{world.teacher_b.user_id}/").status_code == 404


def test_teacher_filters(world, client_for):
    client = client_for(world.student_a.user)
    assert _ids(client.get(TEACHERS, {"school": world.school_b.pk})) == {world.teacher_b.user_id}
    assert _ids(client.get(TEACHERS, {"county": world.county_a.pk})) == {world.teacher_a.user_id}
    assert _ids(client.get(TEACHERS, {"city": world.city.pk})) == {world.teacher_a.user_id,
                                                                   world.teacher_b.user_id}
    assert _ids(client.get(TEACHERS, {"subject": world.math.pk})) == {world.teacher_a.user_id,
                                                                      world.teacher_b.user_id}
    assert _ids(client.get(TEACHERS, {"three_tier": "false"})) == set()
    assert client.get(TEACHERS, {"tier": "abc"}).status_code == 400


def test_teacher_list_costs_the_same_queries_for_2_or_30_teachers(world, client_for,
                                                                  django_assert_max_num_queries):
    client = client_for(world.student_a.user)
    with CaptureQueriesContext(connection) as few:
        client.get(TEACHERS)
    TeacherFactory.create_batch(28, school=world.school_b, subjects=[world.math])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(TEACHERS, {"page_size": 50}).json()["count"] == 30


# --- lists and pages --------------------------------------------------------------------------

def test_lists_are_paginated(world, client_for):
    StudentFactory.create_batch(25, school=world.school_a)
    client = client_for(world.school_admin_a.user)
    first = client.get(STUDENTS).json()
    assert first["count"] == 26 and len(first["results"]) == 20 and first["next"]
    assert len(client.get(STUDENTS, {"page": 2}).json()["results"]) == 6
    assert len(client.get(STUDENTS, {"page_size": 5}).json()["results"]) == 5
    assert len(client.get(STUDENTS, {"page_size": 100000}).json()["results"]) == 26  # capped at 200


@pytest.mark.parametrize(("query", "status"), [
    ({"page": "999999"}, 404), ({"page": "abc"}, 404), ({"page": "0"}, 404), ({"page": "-1"}, 404),
    ({"page_size": "-1"}, 200), ({"page_size": "abc"}, 200), ({"page_size": "0"}, 200),
    ({"ordering": "no_such_field"}, 200), ({"ordering": "real_name"}, 200),
])
def test_bad_page_parameters_are_a_4xx_or_a_default_never_a_500(world, client_for, query, status):
    response = client_for(world.city_admin.user).get(STUDENTS, query)
    assert response.status_code == status
    if status >= 400:
        assert response.json()["error"]["code"] == "not_found"


def test_anonymous_sees_no_people():
    for url in (STUDENTS, TEACHERS, f"{STUDENTS}1/", f"{TEACHERS}1/"):
        assert APIClient().get(url).status_code == 401

"""Places and school structure over the API: public to every signed-in user, paginated,
filtered, and never a 500 for a bad filter."""

import pytest
from rest_framework.test import APIClient

from tests.factories import GradeFactory, SchoolStageFactory, SubjectFactory, TeacherTierFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/regions/", "/api/v1/schools/", "/api/v1/stages/", "/api/v1/subjects/",
         "/api/v1/grades/", "/api/v1/teacher-tiers/"]


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body["results"]


@pytest.mark.parametrize("url", [*LISTS, "/api/v1/schools/1/"])
def test_anonymous_is_refused(url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("viewer", ["student_b", "teacher_a", "school_admin_b", "other_city_admin"])
def test_every_signed_in_user_reads_the_reference_lists(world, client_for, viewer):
    GradeFactory()
    SchoolStageFactory(code="senior", name="高中", order=3)
    TeacherTierFactory()
    client = client_for(getattr(world, viewer).user)
    for url in LISTS:
        assert _rows(client.get(url)), url


def test_regions_filtered_by_kind_and_parent(world, client_for):
    client = client_for(world.student_a.user)
    cities = {r["code"] for r in _rows(client.get("/api/v1/regions/", {"kind": "city"}))}
    assert cities == {"WZ", "OT"}
    counties = {r["code"] for r in _rows(client.get("/api/v1/regions/", {"parent": world.city.pk}))}
    assert counties == {"WZ-LC", "WZ-TS"}


def test_schools_filtered_by_county_city_and_name(world, client_for):
    client = client_for(world.teacher_b.user)

    def codes(query):
        return sorted(s["code"] for s in _rows(client.get("/api/v1/schools/", query)))

    assert codes({"county": world.county_b.pk}) == ["S-B"]
    assert codes({"city": world.city.pk}) == ["S-A", "S-B"]
    assert codes({"name": "育才"}) == ["S-B"]


def test_schools_filtered_by_stage(world, client_for):
    junior = SchoolStageFactory()
    world.school_a.stages.add(junior)
    client = client_for(world.teacher_b.user)
    assert [s["code"] for s in _rows(client.get("/api/v1/schools/", {"stage": junior.pk}))] == ["S-A"]


def test_school_detail(world, client_for):
    response = client_for(world.student_b.user).get(f"/api/v1/schools/{world.school_a.pk}/")
    assert response.status_code == 200
    assert response.json()["county"] == world.county_a.pk and response.json()["city"] == world.city.pk
    assert client_for(world.student_b.user).get("/api/v1/schools/999999/").status_code == 404


def test_reference_lists_follow_the_models_ordering(world, client_for):
    SubjectFactory(code="chinese", name="语文", order=1)
    SubjectFactory(code="english", name="英语", order=3)
    world.math.order = 2
    world.math.save()
    rows = _rows(client_for(world.student_a.user).get("/api/v1/subjects/"))
    assert [r["code"] for r in rows] == ["chinese", "math", "english"]


@pytest.mark.parametrize(("url", "query"), [
    ("/api/v1/regions/", {"kind": "planet"}),
    ("/api/v1/regions/", {"parent": "abc"}),
    ("/api/v1/regions/", {"parent": "99999999999999999999999"}),
    ("/api/v1/schools/", {"county": "abc"}),
    ("/api/v1/schools/", {"city": "1.5"}),
    ("/api/v1/schools/", {"stage": "-3"}),
    ("/api/v1/schools/", {"name": "x" * 65}),
])
def test_bad_filters_are_a_400_naming_the_parameter(world, client_for, url, query):
    response = client_for(world.student_a.user).get(url, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == set(query)


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(("query", "status"), [({"page": "999999"}, 404), ({"page_size": "-1"}, 200),
                                               ({"ordering": "nope"}, 200)])
def test_bad_page_values_are_a_404_or_ignored(world, client_for, url, query, status):
    assert client_for(world.student_a.user).get(url, query).status_code == status


def test_school_detail_with_an_id_beyond_the_database_range_is_a_404(world, client_for):
    response = client_for(world.student_a.user).get("/api/v1/schools/99999999999999999999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

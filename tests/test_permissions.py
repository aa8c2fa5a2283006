"""Who is refused where: a matrix over the API's list and detail endpoints for anonymous users,
students, teachers and school, county and city administrators, built on build_world().

The anonymous walk and the signed-in walk cover every URL pattern under /api/v1/, including
endpoints added later; the tables below say which role each known endpoint refuses.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import get_converters
from rest_framework.test import APIClient

ROLES = ["student_a", "teacher_a", "school_admin_a", "county_admin_a", "city_admin"]

# Open to anonymous callers on purpose; anything else answers 401.
PUBLIC = {
    ("get", "api/v1/auth/csrf/"),  # sets the CSRF cookie before a browser signs in
    ("post", "api/v1/auth/token/"),  # sign-in
    ("post", "api/v1/auth/session/"),  # sign-in
    # Certificates carry a code anyone (an employer, a title-review panel) may verify.
    ("get", "api/v1/certificates/verify/<str:code>/"),
}


def _api_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            view_class = getattr(pattern.callback, "cls", None)
            for method in ("get", "post", "put", "patch", "delete"):
                if view_class is not None and hasattr(view_class, method):
                    yield method, route


def _concrete(route: str, value: str = "1") -> str:
    converters = get_converters()

    def sample(match) -> str:
        regex = converters[match.group(1) or "str"].regex
        return next(v for v in (value, "csv", "students", "a") if re.fullmatch(regex, v))

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", sample, route)


ROUTES = sorted(set(_api_routes()))
LIST_ROUTES = [route for method, route in ROUTES if method == "get" and "<" not in route]
# Details: a resource named by an id or code in the path (exports named only by a file format
# take required query parameters and are covered by the anonymous walk and the schema run).
DETAIL_ROUTES = [route for method, route in ROUTES
                 if method == "get" and ("<int:" in route or "<str:" in route)]


def _client(world, role) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=getattr(world, role).user)
    return client


# --- anonymous ------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_anonymous_is_refused_everywhere_but_the_public_calls(method, route):
    response = getattr(APIClient(), method)(_concrete(route))
    if (method, route) in PUBLIC:
        assert response.status_code < 500 and response.status_code not in (401, 403)
        return
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "not_authenticated"


def test_public_calls_still_exist():
    assert set(ROUTES) >= PUBLIC, PUBLIC - set(ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_health_probes_are_public(url):
    assert APIClient().get(url).status_code == 200


# --- signed in: lists ------------------------------------------------------------------------------

# The roles each list refuses (403); every other role gets 200 (its own scope of the list).
REFUSED = {
    "api/v1/imports/": {"student_a", "teacher_a"},
    "api/v1/audit/": {"student_a", "teacher_a"},
    "api/v1/dashboard/figures/": {"student_a", "teacher_a"},
    "api/v1/exports/jobs/": {"student_a", "teacher_a"},
    "api/v1/service-records/adoption/": {"student_a", "teacher_a", "school_admin_a"},
    "api/v1/service-records/disputes/": {"student_a"},
    "api/v1/service-records/flags/": {"student_a", "teacher_a"},
    "api/v1/service-records/review/teachers/": {"student_a", "teacher_a"},
    "api/v1/service-records/me/events/": {"student_a", "school_admin_a", "county_admin_a", "city_admin"},
    "api/v1/service-records/me/progress/": {"student_a", "school_admin_a", "county_admin_a", "city_admin"},
    "api/v1/studio-statistics/": {"student_a", "teacher_a"},
}
OPEN_TO_ALL = {
    "api/v1/me/", "api/v1/auth/csrf/", "api/v1/teachers/", "api/v1/students/", "api/v1/regions/",
    "api/v1/schools/", "api/v1/stages/", "api/v1/subjects/", "api/v1/grades/", "api/v1/teacher-tiers/",
    "api/v1/studio-kinds/", "api/v1/studios/", "api/v1/certificates/", "api/v1/assessment/schemes/",
    "api/v1/assessment/runs/", "api/v1/assessment/incentive-rules/",
    # courses (issue 5): each list is scoped to what the caller sees; the calendar feed address is
    # everyone's own; notifications are the caller's own.
    "api/v1/courses/", "api/v1/lectures/", "api/v1/resources/", "api/v1/calendar/ics-token/",
    "api/v1/notifications/", "api/v1/notifications/unread-count/",
    # studio activities (issue 5): announced activities are public to signed-in users, drafts scoped.
    "api/v1/activities/",
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", LIST_ROUTES)
def test_list_endpoints_refuse_exactly_the_roles_they_must(world, role, route):
    response = _client(world, role).get(_concrete(route))
    if route in REFUSED and role in REFUSED[route]:
        assert response.status_code == 403, (role, route, response.content)
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    elif route in REFUSED or route in OPEN_TO_ALL:
        assert response.status_code in (200, 204), (role, route, response.content)
    else:  # a list added since this table was written: refused or served, never an error
        assert response.status_code in (200, 204, 403), (role, route, response.content)


# --- signed in: details ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", DETAIL_ROUTES)
def test_detail_endpoints_answer_an_unknown_id_with_404_or_a_refusal(world, role, route):
    response = _client(world, role).get(_concrete(route, "987654"))
    assert response.status_code in (403, 404), (role, route, response.content)
    assert set(response.json()["error"]) == {"code", "message", "fields"}


# --- scoping: people ------------------------------------------------------------------------------

def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


STUDENT_SCOPE = {
    "student_a": {"student_a"},
    "teacher_a": {"student_a"},
    "school_admin_a": {"student_a"},
    "county_admin_a": {"student_a"},
    "city_admin": {"student_a", "student_b"},
    "teacher_b": {"student_b"},
    "school_admin_b": {"student_b"},
    "county_admin_b": {"student_b"},
    "other_city_admin": set(),
}


@pytest.mark.parametrize(("role", "visible"), STUDENT_SCOPE.items())
def test_student_list_and_detail_are_scoped(world, role, visible):
    client = _client(world, role)
    assert _ids(client.get("/api/v1/students/")) == {getattr(world, s).user_id for s in visible}
    for student in ("student_a", "student_b"):
        status = client.get(f"/api/v1/students/{getattr(world, student).user_id}/").status_code
        assert status == (200 if student in visible else 404), (role, student)


def test_a_county_admin_on_another_countys_school_sees_no_students(world):
    client = _client(world, "county_admin_a")
    assert _ids(client.get("/api/v1/students/", {"school": world.school_b.pk})) == set()
    assert client.get(f"/api/v1/students/{world.student_b.user_id}/").status_code == 404


@pytest.mark.parametrize(("role", "target", "status"), [
    ("student_a", "student_a", 404), ("teacher_a", "student_a", 404),
    ("school_admin_a", "student_a", 200), ("school_admin_a", "student_b", 404),
    ("county_admin_a", "teacher_a", 200), ("county_admin_a", "teacher_b", 404),
    ("city_admin", "student_b", 200), ("other_city_admin", "student_a", 404),
])
def test_password_reset_by_role(world, role, target, status):
    url = f"/api/v1/users/{getattr(world, target).user.pk}/password-reset/"
    assert _client(world, role).post(url).status_code == status


# --- scoping: administrators' lists -------------------------------------------------------------

@pytest.mark.parametrize("role", ["school_admin_b", "county_admin_b", "other_city_admin"])
def test_import_jobs_of_another_scope_are_invisible(world, role):
    from accounts.models import ImportJob

    job = ImportJob.objects.create(kind="students", created_by=world.school_admin_a.user,
                                   scope_level="school", scope_school=world.school_a)
    client = _client(world, role)
    assert job.pk not in _ids(client.get("/api/v1/imports/"))
    assert client.get(f"/api/v1/imports/{job.pk}/").status_code == 404
    assert _client(world, "county_admin_a").get(f"/api/v1/imports/{job.pk}/").status_code == 200

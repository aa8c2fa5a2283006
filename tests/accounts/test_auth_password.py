"""Passwords: changing one's own (Django's validators), the must-change rule for initial and
reset passwords (API and browser), and an administrator resetting a password."""

import re

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import get_converters
from knox.models import AuthToken
from rest_framework.permissions import AllowAny, OperandHolder
from rest_framework.test import APIClient

from accounts.permissions import PasswordIsCurrent
from accounts.services import auth_token_create
from tests.factories import PASSWORD, AdminFactory, StudentFactory, TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGE_URL = "/api/v1/auth/password/"
NEW_PASSWORD = "Quiet-Lantern-47"


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def _token_client(user) -> tuple[APIClient, AuthToken]:
    instance, token = auth_token_create(user=user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token}"), instance


# --- changing one's own password ----------------------------------------------------------------

def test_change_password_clears_the_must_change_flag_and_the_new_password_works():
    user = UserFactory(must_change_password=True)
    client, _ = _token_client(user)
    response = client.post(CHANGE_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.must_change_password
    assert client.get("/api/v1/teachers/").status_code == 200


def test_change_password_with_wrong_current_password_names_the_field():
    user = UserFactory()
    client, _ = _token_client(user)
    response = client.post(CHANGE_URL, {"old_password": "not-it-at-all", "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "wrong_password"
    assert list(error["fields"]) == ["old_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize("weak", ["short1", "12345678901", "password123", "user-name-x"])
def test_change_password_applies_djangos_validators(weak):
    user = UserFactory(username="user-name-x")
    client, _ = _token_client(user)
    response = client.post(CHANGE_URL, {"old_password": PASSWORD, "new_password": weak})
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "weak_password"
    assert error["fields"]["new_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_password_to_the_same_password_is_refused():
    user = UserFactory(must_change_password=True)
    client, _ = _token_client(user)
    response = client.post(CHANGE_URL, {"old_password": PASSWORD, "new_password": PASSWORD})
    assert response.status_code == 400
    assert _error(response)["code"] == "password_unchanged"


def test_change_password_signs_other_devices_out_but_keeps_this_one():
    user = UserFactory()
    this, _ = _token_client(user)
    other, _ = _token_client(user)
    assert this.post(CHANGE_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 204
    assert this.get("/api/v1/me/").status_code == 200
    assert other.get("/api/v1/me/").status_code == 401


def test_change_password_over_a_session_keeps_the_session():
    user = UserFactory()
    client = APIClient()
    assert client.login(username=user.username, password=PASSWORD)
    response = client.post(CHANGE_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert client.get("/api/v1/me/").status_code == 200


def test_change_password_needs_sign_in():
    response = APIClient().post(CHANGE_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 401


# --- must change password: the API refuses everything else ------------------------------------

def _api_patterns(resolver=None, prefix=""):
    """(route, view class) of every URL pattern under /api/v1/, walked from the root URLconf."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_patterns(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            callback = pattern.callback
            yield route, getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def _holds(permission, wanted) -> bool:
    """Whether a permission class (or an AND of them) includes ``wanted``."""
    if isinstance(permission, OperandHolder):
        if permission.operator_class.__name__ == "AND":
            return _holds(permission.op1_class, wanted) or _holds(permission.op2_class, wanted)
        return False
    return isinstance(permission, type) and issubclass(permission, wanted)


API_PATTERNS = sorted(_api_patterns())


def test_the_walk_finds_the_api():
    routes = [route for route, _ in API_PATTERNS]
    assert "api/v1/me/" in routes and "api/v1/students/" in routes and len(routes) > 15


@pytest.mark.parametrize(("route", "view_class"), API_PATTERNS, ids=[r for r, _ in API_PATTERNS])
def test_every_api_view_enforces_password_is_current_or_is_explicitly_exempt(route, view_class):
    """A future view cannot forget the rule: it keeps PasswordIsCurrent (the default), or says
    password_change_exempt = True, or is open to anonymous users (AllowAny)."""
    assert view_class is not None, f"{route} is not a class-based API view"
    permissions = list(getattr(view_class, "permission_classes", []))
    assert (
        any(_holds(p, PasswordIsCurrent) for p in permissions)
        or getattr(view_class, "password_change_exempt", False) is True
        or AllowAny in permissions
    ), f"{route} ({view_class.__name__}) neither enforces PasswordIsCurrent nor is exempt"


EXEMPT = {
    "api/v1/me/": ("get", 200),
    "api/v1/auth/password/": ("post", 400),  # reached the view: the body is empty
    "api/v1/auth/token/logout/": ("post", 204),
    "api/v1/auth/token/logout-all/": ("post", 204),
    "api/v1/auth/session/logout/": ("post", 204),
}


def _concrete(route: str) -> str:
    """A URL matching the route: each <converter:name> becomes a sample its regex accepts."""
    converters = get_converters()

    def sample(match) -> str:
        regex = converters[match.group(1) or "str"].regex
        return next(v for v in ("1", "csv", "xlsx", "students", "a") if re.fullmatch(regex, v))

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", sample, route)


@pytest.mark.parametrize(("route", "view_class"), API_PATTERNS, ids=[r for r, _ in API_PATTERNS])
def test_a_user_who_must_change_password_is_refused_everywhere_but_the_exempt_calls(
        world, route, view_class):
    """Behaviour, not declarations: a city administrator (allowed nearly everywhere) holding a
    reset password gets 403 password_change_required from every API view except me, password
    change and logout (and the anonymous ones: csrf, sign-in)."""
    user = world.city_admin.user
    user.must_change_password = True
    user.save()
    client, _ = _token_client(user)
    if route in EXEMPT:
        method, expected = EXEMPT[route]
        assert getattr(client, method)(_concrete(route)).status_code == expected
        return
    if AllowAny in getattr(view_class, "permission_classes", []):
        return
    methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]
    assert methods
    for method in methods:
        response = getattr(client, method)(_concrete(route))
        assert response.status_code == 403, (method, route, response.content)
        assert _error(response)["code"] == "password_change_required"


def test_must_change_user_can_read_me_and_sees_the_flag():
    user = UserFactory(must_change_password=True)
    client, _ = _token_client(user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["must_change_password"] is True


def test_browser_pages_redirect_a_must_change_user_to_the_change_form(client):
    user = UserFactory(must_change_password=True, is_staff=True)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("password_change"))
    assert client.get(reverse("password_change")).status_code == 200


def test_browser_change_form_clears_the_flag(client):
    user = UserFactory(must_change_password=True, is_staff=True)
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password(NEW_PASSWORD)
    assert client.get("/admin/").status_code == 200


# --- an administrator resets a password -------------------------------------------------------

def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _post_reset(actor, target):
    return _client_for(actor).post(f"/api/v1/users/{target.pk}/password-reset/")


@pytest.mark.parametrize("actor", ["school_admin_a", "county_admin_a", "city_admin"])
@pytest.mark.parametrize("target", ["student_a", "teacher_a"])
def test_administrators_in_scope_reset_students_and_teachers_passwords(world, actor, target):
    account = getattr(world, target).user
    _, token = auth_token_create(user=account)
    response = _post_reset(getattr(world, actor).user, account)
    assert response.status_code == 200, response.content
    initial = response.json()["initial_password"]

    account.refresh_from_db()
    assert account.must_change_password
    assert account.check_password(initial)
    assert not account.check_password(PASSWORD)
    # Every token of the account is revoked.
    assert APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/").status_code == 401
    # The user signs in with the initial password and may do nothing but change it.
    signed_in = APIClient().post("/api/v1/auth/token/", {"username": account.username, "password": initial})
    assert signed_in.status_code == 200
    assert signed_in.json()["user"]["must_change_password"] is True
    fresh = APIClient(HTTP_AUTHORIZATION=f"Token {signed_in.json()['token']}")
    assert _error(fresh.get("/api/v1/teachers/"))["code"] == "password_change_required"


def test_a_reset_ends_the_users_browser_sessions(world):
    account = world.student_a.user
    browser = APIClient()
    assert browser.login(username=account.username, password=PASSWORD)
    assert browser.get("/api/v1/me/").status_code == 200
    assert _post_reset(world.school_admin_a.user, account).status_code == 200
    assert browser.get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize(("actor", "target"), [
    ("school_admin_b", "student_a"),  # another school's administrator
    ("school_admin_b", "teacher_a"),
    ("county_admin_b", "student_a"),  # another county's administrator
    ("county_admin_b", "teacher_a"),
    ("other_city_admin", "student_a"),  # another city's administrator
    ("teacher_a", "student_a"),  # a teacher, even of the same school
    ("student_b", "student_a"),  # a student
    ("student_a", "student_a"),  # oneself through the admin door
    ("school_admin_a", "school_admin_a"),  # administrators are not reset here
    ("school_admin_a", "county_admin_a"),
    ("county_admin_a", "school_admin_a"),
])
def test_password_reset_is_a_404_for_everyone_outside_the_scope(world, actor, target):
    account = getattr(world, target).user
    before = account.password
    response = _post_reset(getattr(world, actor).user, account)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
    account.refresh_from_db()
    assert account.password == before and not account.must_change_password


def test_a_teacher_who_is_also_an_administrator_cannot_be_reset_by_a_school_admin(world):
    # A county administrator who also teaches at school A: the school's admin must not be able
    # to take over the county account.
    teacher_admin = AdminFactory(level="county", region=world.county_a, school=None)
    TeacherFactory(user=teacher_admin.user, school=world.school_a)
    assert _post_reset(world.school_admin_a.user, teacher_admin.user).status_code == 404


def test_password_reset_of_unknown_user_is_a_404(world):
    response = _client_for(world.city_admin.user).post("/api/v1/users/999999/password-reset/")
    assert response.status_code == 404


def test_password_reset_needs_sign_in(world):
    response = APIClient().post(f"/api/v1/users/{world.student_a.user.pk}/password-reset/")
    assert response.status_code == 401


def test_initial_password_hash_from_import_is_accepted_at_sign_in():
    student = StudentFactory(user__password=make_password("Initial-Pass-22", hasher="pbkdf2_sha256_initial"),
                             user__must_change_password=True)
    response = APIClient().post("/api/v1/auth/token/", {"username": student.user.username,
                                                        "password": "Initial-Pass-22"})
    assert response.status_code == 200
    assert response.json()["user"]["must_change_password"] is True

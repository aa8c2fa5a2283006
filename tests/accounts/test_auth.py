"""Signing in and out: browser sessions with CSRF, API tokens (knox), login throttling."""

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.services import MAX_TOKENS_PER_USER, auth_token_create
from tests.factories import PASSWORD, StudentFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
SESSION_URL = "/api/v1/auth/session/"
CSRF_URL = "/api/v1/auth/csrf/"


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def _token_for(user) -> str:
    response = APIClient().post(TOKEN_URL, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()["token"]


# --- browser session with CSRF ----------------------------------------------------------------

def _browser() -> APIClient:
    return APIClient(enforce_csrf_checks=True)


def test_csrf_endpoint_sets_the_cookie_anonymously():
    client = _browser()
    response = client.get(CSRF_URL)
    assert response.status_code == 204
    assert response.cookies["csrftoken"].value


def test_session_sign_in_without_csrf_token_is_refused_in_the_error_shape():
    user = UserFactory()
    client = _browser()
    client.get(CSRF_URL)  # has the cookie, but does not send the header
    response = client.post(SESSION_URL, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert _error(response)["code"] == "csrf_failed"
    assert "sessionid" not in response.cookies


def test_session_sign_in_with_csrf_token_starts_a_session_that_the_api_accepts():
    student = StudentFactory()
    client = _browser()
    token = client.get(CSRF_URL).cookies["csrftoken"].value
    response = client.post(SESSION_URL, {"username": student.user.username, "password": PASSWORD},
                           format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "student"
    assert response.cookies["sessionid"].value

    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == student.user.username


def test_session_sign_in_with_wrong_password_says_so_and_starts_no_session():
    user = UserFactory()
    client = _browser()
    token = client.get(CSRF_URL).cookies["csrftoken"].value
    response = client.post(SESSION_URL, {"username": user.username, "password": "wrong-Password-1"},
                           format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_credentials"
    assert client.get("/api/v1/me/").status_code == 401


def test_unsafe_request_on_a_session_needs_the_csrf_header():
    user = UserFactory()
    client = _browser()
    token = client.get(CSRF_URL).cookies["csrftoken"].value
    client.post(SESSION_URL, {"username": user.username, "password": PASSWORD}, format="json",
                HTTP_X_CSRFTOKEN=token)
    # login() rotates the CSRF token; a forged request carries none.
    response = client.post("/api/v1/auth/ws-ticket/")
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"
    new_token = client.cookies["csrftoken"].value
    assert client.post("/api/v1/auth/ws-ticket/", HTTP_X_CSRFTOKEN=new_token).status_code == 201


def test_session_logout_ends_the_session():
    user = UserFactory()
    client = _browser()
    token = client.get(CSRF_URL).cookies["csrftoken"].value
    client.post(SESSION_URL, {"username": user.username, "password": PASSWORD}, format="json",
                HTTP_X_CSRFTOKEN=token)
    token = client.cookies["csrftoken"].value
    assert client.post("/api/v1/auth/session/logout/", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


# --- API tokens ---------------------------------------------------------------------------------

def test_token_sign_in_returns_a_token_that_authenticates():
    student = StudentFactory()
    response = APIClient().post(TOKEN_URL, {"username": student.user.username, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["role"] == "student"
    assert body["expiry"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert client.get("/api/v1/me/").json()["username"] == student.user.username


def test_token_is_stored_hashed():
    user = UserFactory()
    token = _token_for(user)
    stored = AuthToken.objects.get(user=user)
    assert token not in (stored.digest, stored.token_key)
    assert token.startswith(stored.token_key)


def test_token_sign_in_refuses_wrong_password_and_inactive_user():
    user = UserFactory()
    wrong = APIClient().post(TOKEN_URL, {"username": user.username, "password": "nope-nope-1"})
    assert wrong.status_code == 400
    assert _error(wrong)["code"] == "invalid_credentials"

    user.is_active = False
    user.save()
    inactive = APIClient().post(TOKEN_URL, {"username": user.username, "password": PASSWORD})
    assert inactive.status_code == 400
    assert not AuthToken.objects.filter(user=user).exists()


def test_token_sign_in_names_missing_fields():
    response = APIClient().post(TOKEN_URL, {"username": "x"})
    assert response.status_code == 400
    assert set(_error(response)["fields"]) == {"password"}


def test_logout_revokes_only_the_token_used():
    user = UserFactory()
    phone, laptop = _token_for(user), _token_for(user)
    response = APIClient(HTTP_AUTHORIZATION=f"Token {phone}").post("/api/v1/auth/token/logout/")
    assert response.status_code == 204
    assert APIClient(HTTP_AUTHORIZATION=f"Token {phone}").get("/api/v1/me/").status_code == 401
    assert APIClient(HTTP_AUTHORIZATION=f"Token {laptop}").get("/api/v1/me/").status_code == 200


def test_logout_all_revokes_every_token_of_the_user_only():
    user, other = UserFactory(), UserFactory()
    phone, laptop, others = _token_for(user), _token_for(user), _token_for(other)
    response = APIClient(HTTP_AUTHORIZATION=f"Token {phone}").post("/api/v1/auth/token/logout-all/")
    assert response.status_code == 204
    for token in (phone, laptop):
        assert APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/").status_code == 401
    assert APIClient(HTTP_AUTHORIZATION=f"Token {others}").get("/api/v1/me/").status_code == 200


def test_a_user_keeps_at_most_the_token_limit_and_the_oldest_goes():
    user = UserFactory()
    first = _token_for(user)
    for _ in range(MAX_TOKENS_PER_USER - 1):
        auth_token_create(user=user)  # other devices (the service: the API would throttle)
    _token_for(user)
    assert AuthToken.objects.filter(user=user).count() == MAX_TOKENS_PER_USER
    assert APIClient(HTTP_AUTHORIZATION=f"Token {first}").get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize("header", [
    "Token",  # no credentials
    "Token a b",  # spaces
    "Token " + "0" * 64,  # well formed, unknown
    "Token ÿÿÿÿ",  # not ASCII (latin-1 bytes on the wire)
    "Token abc\x00def",  # NUL
    "Token " + "a" * 5000,  # absurdly long
])
def test_a_bad_token_is_a_401_in_the_error_shape_never_a_500(header):
    response = APIClient(HTTP_AUTHORIZATION=header).get("/api/v1/me/")
    assert response.status_code == 401
    assert _error(response)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_is_a_401_with_the_token_challenge():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert _error(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


# --- throttling -------------------------------------------------------------------------------

@pytest.fixture
def throttle_rates():
    """Override the login rates for one test (DRF reads them when a throttle is created, but
    SimpleRateThrottle caches THROTTLE_RATES at class level, so patch that too)."""
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES

    def apply(login="3/minute", login_user="100/minute"):
        SimpleRateThrottle.THROTTLE_RATES = dict(original, login=login, login_user=login_user)

    yield apply
    SimpleRateThrottle.THROTTLE_RATES = original


@pytest.mark.parametrize("url", [TOKEN_URL, SESSION_URL])
def test_login_is_throttled_per_client_address(throttle_rates, url):
    throttle_rates(login="3/minute")
    client = APIClient()
    for n in range(3):
        response = client.post(url, {"username": f"someone{n}", "password": "x"}, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 400
    refused = client.post(url, {"username": "someone-else", "password": "x"}, REMOTE_ADDR="10.0.0.1")
    assert refused.status_code == 429
    assert _error(refused)["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Another address is not affected.
    other = client.post(url, {"username": "someone-else", "password": "x"}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 400


def test_a_forged_forwarded_for_header_does_not_escape_the_address_throttle(throttle_rates):
    throttle_rates(login="2/minute")
    client = APIClient()
    statuses = [
        client.post(TOKEN_URL, {"username": "u", "password": "x"}, REMOTE_ADDR="10.0.0.9",
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_login_is_throttled_per_username_whatever_the_address(throttle_rates):
    throttle_rates(login="100/minute", login_user="2/minute")
    user = UserFactory()
    client = APIClient()
    for n in range(2):
        client.post(TOKEN_URL, {"username": user.username, "password": "x"}, REMOTE_ADDR=f"10.1.0.{n}")
    # Even the right password, from a fresh address, waits: the account is under attack.
    refused = client.post(TOKEN_URL, {"username": user.username.upper(), "password": PASSWORD},
                          REMOTE_ADDR="10.1.0.99")
    assert refused.status_code == 429
    assert _error(refused)["code"] == "throttled"
    # Another account is not affected.
    other = UserFactory()
    assert client.post(TOKEN_URL, {"username": other.username, "password": PASSWORD},
                       REMOTE_ADDR="10.1.0.99").status_code == 200


@pytest.mark.parametrize("body", [["a", "list"], "a string", 42, {"username": ["x"]}, {"username": {"a": 1}}])
def test_login_with_a_body_of_the_wrong_shape_is_a_400(body):
    response = APIClient().post(TOKEN_URL, body, format="json")
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"

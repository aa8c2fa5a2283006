"""One error shape for every 4xx: {"error": {"code", "message", "fields"}} — whatever went wrong,
inside a DRF view or before one."""

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions, serializers
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from common import errors
from common.errors import Conflict, Forbidden, NotFound, ServiceError, exception_handler
from common.serializers import StrictInputSerializer
from tests.factories import PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token/"


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in error["fields"].values())
    return error


# --- over HTTP ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_unknown_fields_are_a_400_naming_them():
    response = APIClient().post(TOKEN_URL, {"username": "a", "password": "b", "remember_me": True,
                                            "otp": "1"}, format="json")
    error = _error(response, 400)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"remember_me", "otp"}


@pytest.mark.django_db
def test_unknown_fields_are_reported_with_the_other_field_errors(client_for):
    response = client_for(UserFactory()).post("/api/v1/auth/password/", {"new_password": "x", "extra": 1},
                                              format="json")
    assert set(_error(response, 400)["fields"]) == {"old_password", "extra"}


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    {"username": ["a"], "password": "b"}, {"username": {"a": 1}, "password": "b"},
    {"username": None, "password": "b"}, {"username": True, "password": "b"},
])
def test_wrong_types_are_a_400_naming_the_field(body):
    error = _error(APIClient().post(TOKEN_URL, body, format="json"), 400)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"username"}


@pytest.mark.django_db
@pytest.mark.parametrize("body", [[1, 2], "text", 3, None])
def test_a_body_that_is_not_an_object_is_a_400(body):
    error = _error(APIClient().post(TOKEN_URL, body, format="json"), 400)
    assert error["code"] == "invalid"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"{not json", b'{"username": "a",}', b"\xff\xfe", b'{"a": NaN'])
def test_malformed_json_is_a_400_parse_error(raw):
    response = APIClient().generic("POST", TOKEN_URL, raw, content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"


@pytest.mark.django_db
def test_json_nested_too_deeply_is_a_400_parse_error(client_for):
    # Python's decoder raises RecursionError past ~1,000 levels; DRF's parser lets it through.
    raw = b"[" * 100_000 + b"]" * 100_000
    response = APIClient().generic("POST", TOKEN_URL, raw, content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "image/png"])
def test_unsupported_media_type_is_a_415(content_type):
    response = APIClient().generic("POST", TOKEN_URL, b"username=a", content_type=content_type)
    assert _error(response, 415)["code"] == "unsupported_media_type"


@pytest.mark.django_db
def test_form_encoded_sign_in_works_too():
    user = UserFactory()
    response = APIClient().post(TOKEN_URL, {"username": user.username, "password": PASSWORD},
                                format="multipart")
    assert response.status_code == 200


@pytest.mark.django_db
def test_method_not_allowed_is_a_405():
    error = _error(APIClient().get(TOKEN_URL), 405)
    assert error["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_not_found_in_a_view_is_a_404(client_for):
    error = _error(client_for(UserFactory()).get("/api/v1/teachers/424242/"), 404)
    assert error["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/no-such-thing/", "/api/v1/teachers/abc/", "/api/v2/"])
def test_a_url_that_matches_nothing_under_api_is_a_json_404(url):
    assert _error(APIClient().get(url), 404)["code"] == "not_found"


@pytest.mark.django_db
def test_a_url_that_matches_nothing_elsewhere_stays_djangos_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_not_signed_in_is_a_401():
    response = APIClient().get("/api/v1/me/")
    assert _error(response, 401)["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_bad_token_is_a_401():
    response = APIClient(HTTP_AUTHORIZATION="Token deadbeef").get("/api/v1/me/")
    assert _error(response, 401)["code"] == "authentication_failed"


@pytest.mark.django_db
def test_refused_is_a_403_with_the_reason_as_code(client_for):
    response = client_for(UserFactory(must_change_password=True)).get("/api/v1/teachers/")
    error = _error(response, 403)
    assert error["code"] == "password_change_required"


@pytest.mark.django_db
def test_a_csrf_failure_is_a_403_in_the_shape():
    response = APIClient(enforce_csrf_checks=True).post(
        "/api/v1/auth/session/", {"username": "a", "password": "b"}, format="json")
    error = _error(response, 403)
    assert error["code"] == "csrf_failed"
    assert "X-CSRFToken" in error["message"]


@pytest.mark.django_db
def test_a_session_request_without_csrf_is_a_403_in_the_shape():
    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    error = _error(client.post("/api/v1/auth/ws-ticket/"), 403)
    assert error["code"] == "permission_denied"


@pytest.mark.django_db
def test_throttled_is_a_429_with_retry_after():
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = dict(original, login="1/minute")
    try:
        client = APIClient()
        client.post(TOKEN_URL, {"username": "a", "password": "b"})
        response = client.post(TOKEN_URL, {"username": "a", "password": "b"})
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert _error(response, 429)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_too_many_form_fields_is_a_400_in_the_shape():
    body = "&".join(f"f{n}=1" for n in range(1200))
    response = APIClient().generic("POST", TOKEN_URL, body, content_type="application/x-www-form-urlencoded")
    assert _error(response, 400)["code"] == "bad_request"


@pytest.mark.django_db
def test_an_id_beyond_the_database_range_in_the_url_is_a_404(client_for):
    response = client_for(UserFactory()).get("/api/v1/teachers/99999999999999999999999/")
    assert _error(response, 404)["code"] == "not_found"


@pytest.mark.django_db
def test_error_messages_follow_the_language(client_for):
    zh = APIClient().get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["error"]["message"]
    en = APIClient().get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en").json()["error"]["message"]
    assert zh != en and "credentials" in en


# --- the handler and the Django-level views, directly ------------------------------------------

def _handle(exc, **context):
    response = exception_handler(exc, {"view": None, "kwargs": {}, **context})
    response.render = lambda: None
    return response


@pytest.mark.parametrize(("exc", "status", "code"), [
    (ServiceError("Nope.", code="studio_full"), 400, "studio_full"),
    (NotFound("No such studio."), 404, "not_found"),
    (Forbidden("Not yours."), 403, "permission_denied"),
    (Conflict("Already closed."), 409, "conflict"),
    (Http404(), 404, "not_found"),
    (DjangoPermissionDenied(), 403, "permission_denied"),
    (exceptions.NotAuthenticated(), 401, "not_authenticated"),
    (exceptions.Throttled(wait=5), 429, "throttled"),
    (OverflowError("Python int too large to convert to SQLite INTEGER"), 400, "out_of_range"),
])
def test_exceptions_map_to_status_and_code(exc, status, code):
    response = _handle(exc)
    assert response.status_code == status
    assert response.data["error"]["code"] == code
    assert set(response.data["error"]) == {"code", "message", "fields"}


def test_service_error_fields_pass_through():
    response = _handle(ServiceError("Too many members.", code="limit", fields={"members": ["At most 8."]}))
    assert response.data == {"error": {"code": "limit", "message": "Too many members.",
                                       "fields": {"members": ["At most 8."]}}}


def test_nested_validation_errors_are_flattened_to_dotted_names():
    exc = exceptions.ValidationError({"host": {"school": ["Required."]}, "items": [{"id": ["Bad."]}, {}],
                                      "name": ["Too long."]})
    fields = _handle(exc).data["error"]["fields"]
    assert fields == {"host.school": ["Required."], "items[0].id": ["Bad."], "name": ["Too long."]}


def test_a_non_field_validation_error_is_the_message():
    error = _handle(exceptions.ValidationError(["Dates are reversed."])).data["error"]
    assert error["message"] == "Dates are reversed."
    assert error["fields"] == {"non_field_errors": ["Dates are reversed."]}


def test_django_validation_errors_map_to_400():
    error = _handle(DjangoValidationError({"cycle_end": ["Before the start."]})).data["error"]
    assert error["code"] == "invalid" and error["fields"] == {"cycle_end": ["Before the start."]}
    plain = _handle(DjangoValidationError("Not allowed today.")).data["error"]
    assert plain["message"] == "Not allowed today." and plain["fields"] == {}


def test_an_out_of_range_path_id_maps_to_404():
    response = _handle(OverflowError("too large"), kwargs={"pk": 10**30})
    assert response.status_code == 404


def test_an_unexpected_exception_is_left_to_django():
    assert exception_handler(RuntimeError("bug"), {"view": None, "kwargs": {}}) is None


@pytest.mark.parametrize(("handler", "status", "code"), [
    (lambda r: errors.page_not_found(r, Http404()), 404, "not_found"),
    (lambda r: errors.bad_request(r, None), 400, "bad_request"),
    (lambda r: errors.permission_denied(r, None), 403, "permission_denied"),
    (errors.server_error, 500, "server_error"),
    (lambda r: errors.csrf_failure(r, "CSRF cookie not set."), 403, "csrf_failed"),
])
def test_django_level_handlers_answer_json_under_api(handler, status, code):
    response = handler(RequestFactory().get("/api/v1/anything/"))
    assert response.status_code == status
    import json

    assert json.loads(response.content)["error"]["code"] == code


@pytest.mark.django_db
def test_django_level_handlers_keep_html_elsewhere():
    request = RequestFactory().get("/admin/anything/")
    assert not errors.server_error(request)["Content-Type"].startswith("application/json")
    assert not errors.csrf_failure(request, "x")["Content-Type"].startswith("application/json")


def test_the_handlers_are_wired():
    from django.conf import settings

    from config import urls

    assert urls.handler404 == "common.errors.page_not_found"
    assert urls.handler500 == "common.errors.server_error"
    assert urls.handler400 == "common.errors.bad_request"
    assert urls.handler403 == "common.errors.permission_denied"
    assert settings.CSRF_FAILURE_VIEW == "common.errors.csrf_failure"
    assert settings.REST_FRAMEWORK["EXCEPTION_HANDLER"] == "common.errors.exception_handler"


# --- strict input serializers --------------------------------------------------------------------

class _Input(StrictInputSerializer):
    name = serializers.CharField()
    note = serializers.CharField(required=False)
    id = serializers.IntegerField(read_only=True)


def test_strict_serializer_refuses_unknown_and_read_only_fields():
    data = _Input(data={"name": "a", "nmae": "b", "id": 3})
    assert not data.is_valid()
    assert set(data.errors) == {"nmae", "id"}


def test_strict_serializer_accepts_known_fields_and_the_form_csrf_field():
    data = _Input(data={"name": "a", "note": "b", "csrfmiddlewaretoken": "t"})
    assert data.is_valid(), data.errors
    assert data.validated_data == {"name": "a", "note": "b"}

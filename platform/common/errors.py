"""One JSON shape for every 4xx: ``{"error": {"code", "message", "fields"}}``.

Services raise :class:`ServiceError` (or its subclasses) with a stable ``code`` and a message a
person can act on; the API layer turns it into that shape. DRF's own exceptions (validation,
authentication, permission, throttling, 404) are reshaped the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults as django_defaults
from django.views.csrf import csrf_failure as django_csrf_failure
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A business rule refused the operation. Maps to HTTP 400 unless a subclass says otherwise."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}


class NotFound(ServiceError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class Forbidden(ServiceError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"


class Conflict(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def error_body(code: str, message: Any, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _flatten_fields(detail: Any) -> dict:
    """DRF validation detail (nested dicts/lists of ErrorDetail) -> {field: [messages]}."""
    if isinstance(detail, dict):
        out: dict = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten_fields(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub, msgs in _flatten_fields(item).items():
                        out[f"{key}[{index}].{sub}"] = msgs
            else:
                out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def _out_of_range(exc: OverflowError, context: dict) -> Response:
    """A number from the client too large for the database (SQLite raises OverflowError where
    PostgreSQL simply matches nothing): an id in the URL is "not found", anything else a 400."""
    from common.filters import MAX_ID

    view = context.get("view")
    logger.warning("number out of range in %s: %s", type(view).__name__ if view else "?", exc)
    kwargs = context.get("kwargs") or {}
    if any(isinstance(v, int) and not -MAX_ID - 1 <= v <= MAX_ID for v in kwargs.values()):
        exc404 = exceptions.NotFound()
        return Response(error_body("not_found", exc404.detail), status=exc404.status_code)
    return Response(error_body("out_of_range", _("A number in the request is out of range.")),
                    status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, OverflowError):
        return _out_of_range(exc, context)
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        message = "; ".join(exc.messages) if exc.messages else _("Invalid input.")
        exc = exceptions.ValidationError(fields or {"non_field_errors": exc.messages})
        response = drf_exception_handler(exc, context)
        response.data = error_body("invalid", message, _flatten_fields(fields) if fields else {})
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        first = next(iter(fields.values()), [_("Invalid input.")])[0]
        message = first if list(fields) == ["non_field_errors"] else _(
            "Some fields are invalid: %(fields)s"
        ) % {"fields": ", ".join(fields)}
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        detail = exc.detail
        if isinstance(detail, str):
            response.data = error_body(code, detail)
        else:
            fields = _flatten_fields(detail)
            response.data = error_body(code, next(iter(fields.values()), [_("Error.")])[0], fields)
    return response


# --- the same shape outside DRF views ------------------------------------------------------
# Django answers some requests before (or without) a DRF view: URLs that match nothing, CSRF
# failures of csrf_protect'ed views, oversized bodies, unhandled exceptions. Under /api/ those
# answers take the error shape too; elsewhere (admin, browser pages) Django's own pages remain.

API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request, exception=None):
    """``handler404``: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", _("No such resource.")), status=404)
    return django_defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """``handler400``: e.g. a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, a bad Host header."""
    if _is_api(request):
        return JsonResponse(error_body("bad_request", _("The request could not be understood.")),
                            status=400)
    return django_defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    """``handler403`` (Django's PermissionDenied raised outside a DRF view)."""
    if _is_api(request):
        return JsonResponse(
            error_body("permission_denied", _("You do not have permission to perform this action.")),
            status=403,
        )
    return django_defaults.permission_denied(request, exception)


def server_error(request):
    """``handler500``: no traceback, no HTML for API clients; the request id finds the log."""
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", _("Something went wrong on our side; please try again later.")),
            status=500,
        )
    return django_defaults.server_error(request)


def csrf_failure(request, reason: str = ""):
    """``CSRF_FAILURE_VIEW``: a refused CSRF check on a csrf_protect'ed API view (session
    sign-in) answers in the error shape, saying what to do."""
    if _is_api(request):
        return JsonResponse(
            error_body(
                "csrf_failed",
                _("CSRF check failed (%(reason)s). GET /api/v1/auth/csrf/ first and send the "
                  "csrftoken cookie's value in the X-CSRFToken header.") % {"reason": reason},
            ),
            status=403,
        )
    return django_csrf_failure(request, reason=reason)


# --- the shape in the OpenAPI schema (common.schema.AutoSchema adds it to every operation) --

class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable, e.g. invalid, not_found, "
                                           "password_change_required, throttled.")
    message = serializers.CharField(help_text="A sentence a person can act on (translated).")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field (``field``, ``field.sub``, ``items[0].sub``); "
                  "empty when the error is not about a field.",
    )


@extend_schema_serializer(many=False)
class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorBodySerializer()

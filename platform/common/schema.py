from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse

from common.errors import ErrorResponseSerializer

# Every operation can answer these, in the one error shape (common.errors); the schema says so,
# so that clients (and the schemathesis run in tests/test_openapi.py) can rely on the shape.
_ERRORS = {
    "400": "Invalid input: error.fields names each field at fault (bad filters included).",
    "401": "Not signed in, or the token is invalid or expired.",
    "403": "Signed in but not allowed (code password_change_required: change the initial "
           "password first; code csrf_failed: send the X-CSRFToken header).",
    "404": "Not found, or not visible to you (also a page number past the end).",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
}
_BODY_ERRORS = {
    "415": "Unsupported media type: send application/json (or a form, where the operation says so).",
}


class AutoSchema(SpectacularAutoSchema):
    """Names nested serializers after their view: ``TokenLoginApi.OutputSerializer`` becomes
    the component ``TokenLoginApiOutput``, so the HackSoft-style nested Input/Output
    serializers of different views never collide in the schema. Adds the error responses
    every operation can give."""

    def get_serializer_name(self, serializer, direction):
        qualname = serializer.__class__.__qualname__
        if "." in qualname:
            return qualname.replace(".", "")
        return super().get_serializer_name(serializer, direction)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(_ERRORS)
        if self.method in {"POST", "PUT", "PATCH"}:
            errors.update(_BODY_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorResponseSerializer, description=description),
                    code, direction=direction,
                )
        return responses

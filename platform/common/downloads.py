"""File downloads that the application hands out after its own permission checks."""

from django.http import FileResponse
from django.utils.translation import gettext as _

from common.errors import NotFound


def private_download(handle, *, filename: str, content_type: str | None = None) -> FileResponse:
    """A streamed attachment under ``filename`` that no shared cache keeps."""
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


def stored_file_download(field_file, *, filename: str, content_type: str | None = None) -> FileResponse:
    """A stored file (a FileField's value) as a private download; 404 when storage lost it."""
    try:
        handle = field_file.open("rb")
    except OSError as exc:
        raise NotFound(_("The file is missing from storage.")) from exc
    return private_download(handle, filename=filename, content_type=content_type)

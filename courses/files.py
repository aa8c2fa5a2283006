"""Checks on uploaded files (course covers, resources): the size limit, the extension, and the
content sniffed from the file's first bytes, which must match the extension (a renamed
executable is refused even when it is called slides.pdf). Limits come from settings."""

from __future__ import annotations

import zipfile
from pathlib import PurePath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from rest_framework import status

from common.errors import ServiceError


class FileTooLarge(ServiceError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


def _zip_with(folder: str):
    def check(file, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(file) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)
    return check


def _starts(*magics: bytes):
    return lambda file, head: head.startswith(magics)


# extension -> (content type, check of the content)
KNOWN_TYPES = {
    "pdf": ("application/pdf", _starts(b"%PDF-")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _zip_with("word/")),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation",
             _zip_with("ppt/")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _zip_with("xl/")),
    "png": ("image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", _starts(b"\xff\xd8\xff")),
    "webp": ("image/webp", lambda file, head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    "mp4": ("video/mp4", lambda file, head: head[4:8] == b"ftyp"),
    "mp3": ("audio/mpeg", _starts(b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
}


def check_upload(upload: UploadedFile, *, allowed: list[str], max_bytes: int, field: str = "file") -> str:
    """Refuses a file that is empty, larger than ``max_bytes`` (413), of an extension not in
    ``allowed``, or whose content is not what its extension says. Returns the content type.
    Leaves the file at position 0."""
    size = upload.size or 0
    if size > max_bytes:
        message = _("The file is larger than the limit of %(mb)s MB.") % {"mb": round(max_bytes / 2**20, 1)}
        raise FileTooLarge(message, fields={field: [message]})
    suffix = PurePath(upload.name or "").suffix.lower().lstrip(".")
    accepted = [ext for ext in allowed if ext in KNOWN_TYPES]
    if suffix not in accepted:
        message = _("Upload one of these file types: %(types)s.") % {"types": ", ".join(accepted)}
        raise ServiceError(message, code="unsupported_file_type", fields={field: [message]})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if size == 0 or not head:
        message = _("The file is empty.")
        raise ServiceError(message, code="empty_file", fields={field: [message]})
    content_type, matches = KNOWN_TYPES[suffix]
    ok = matches(upload, head)
    upload.seek(0)
    if not ok:
        message = _("The file's content is not a .%(ext)s file; save it in that format and upload it "
                    "again.") % {"ext": suffix}
        raise ServiceError(message, code="file_content_mismatch", fields={field: [message]})
    return content_type


def check_resource_upload(upload: UploadedFile) -> str:
    return check_upload(upload, allowed=settings.RESOURCE_ALLOWED_EXTENSIONS,
                        max_bytes=settings.RESOURCE_MAX_UPLOAD_BYTES)


def check_cover_upload(upload: UploadedFile) -> str:
    return check_upload(upload, allowed=["png", "jpg", "jpeg", "webp"],
                        max_bytes=settings.COURSE_COVER_MAX_BYTES, field="cover")

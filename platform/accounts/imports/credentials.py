"""The initial passwords of the accounts an import creates, on their way to the administrator.

They are never logged and never stored in clear: the import writes them, one batch at a time,
as Fernet tokens (AES + HMAC, key derived from SECRET_KEY) to a spool file, one token a line;
the job keeps that file in storage until the administrator who started it downloads it once
as a CSV (decrypted on the fly), and then it is deleted. A leaked storage bucket or backup
therefore holds no usable password, and a rotated SECRET_KEY makes old files unreadable.
"""

from __future__ import annotations

import base64
import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from cryptography.fernet import Fernet
from django.utils.crypto import salted_hmac

HEADERS = {
    "teachers": ("学校代码", "工号", "姓名", "用户名", "初始密码"),
    "students": ("学校代码", "学籍号", "姓名", "用户名", "初始密码"),
}


def _fernet() -> Fernet:
    key = salted_hmac("accounts.imports.credentials", "fernet-key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _csv_bytes(rows: Iterable[tuple]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


class CredentialsSpool:
    """Collects (school code, number, real name, username, initial password) rows, encrypted."""

    def __init__(self, kind: str):
        self.kind = kind
        self.count = 0
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._fernet = _fernet()
        self._write([HEADERS.get(kind, HEADERS["students"])])

    def _write(self, rows: list[tuple]) -> None:
        self.file.write(self._fernet.encrypt(_csv_bytes(rows)) + b"\n")

    def add_batch(self, rows: list[tuple]) -> None:
        if rows:
            self._write(rows)
            self.count += len(rows)

    def rewind(self) -> IO[bytes]:
        self.file.flush()
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


def decrypt_lines(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The CSV (UTF-8 with a BOM, which Excel in China needs to show Chinese) chunk by chunk."""
    fernet = _fernet()
    yield b"\xef\xbb\xbf"
    for line in lines:
        line = line.strip()
        if line:
            yield fernet.decrypt(line)

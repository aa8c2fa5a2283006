"""manage.py import_people: the report, the exit status, --dry-run, --as and the passwords file."""

import csv
import io
import stat

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import ImportJob, StudentProfile
from tests.accounts import test_imports_support as support
from tests.accounts.test_imports_support import STUDENT_HEADER, csv_bytes, xlsx_bytes

ref = support.ref  # fixture

pytestmark = pytest.mark.django_db

ROWS = [STUDENT_HEADER, ["S-A", "G0001", "张小明", "七年级", "1班"], ["S-B", "G0002", "李小红", "g7", "2班"]]


def _run(*args) -> str:
    out = io.StringIO()
    call_command("import_people", *args, stdout=out)
    return out.getvalue()


def test_the_command_imports_and_writes_the_passwords_to_a_private_file(ref, tmp_path):
    sheet = tmp_path / "students.xlsx"
    sheet.write_bytes(xlsx_bytes(ROWS))
    passwords = tmp_path / "pw.csv"

    out = _run("--kind", "students", str(sheet), "--credentials-out", str(passwords))

    assert "rows 2: created 2, updated 0, unchanged 0" in out
    assert StudentProfile.objects.filter(student_number__in=["G0001", "G0002"]).count() == 2
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    rows = list(csv.reader(io.StringIO(passwords.read_text("utf-8-sig"))))
    assert [r[3] for r in rows[1:]] == ["s.S-A.G0001", "s.S-B.G0002"]
    assert all(r[4] not in out for r in rows[1:])  # passwords never go to the terminal
    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.credentials_count) == ("succeeded", 2, 2)

    again = _run("--kind", "students", str(sheet), "--credentials-out", str(tmp_path / "none.csv"))
    assert "created 0, updated 0, unchanged 2" in again and not (tmp_path / "none.csv").exists()


def test_errors_are_printed_by_row_and_column_and_the_exit_status_is_non_zero(ref, tmp_path):
    sheet = tmp_path / "students.csv"
    sheet.write_bytes(csv_bytes([*ROWS, ["S-A", "G0003", "王小刚", "g13", "1班"]], encoding="gb18030"))
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 error"):
        call_command("import_people", "--kind", "students", str(sheet), stdout=out)

    assert "row 4, 年级: unknown grade code 'g13'" in out.getvalue()
    assert not StudentProfile.objects.filter(student_number="G0001").exists()
    assert ImportJob.objects.get().status == "failed"


def test_as_a_school_admin_rows_of_other_schools_are_errors(ref, tmp_path):
    sheet = tmp_path / "students.xlsx"
    sheet.write_bytes(xlsx_bytes(ROWS))
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_people", "--kind", "students", str(sheet),
                     "--as", ref.school_admin_a.user.username, stdout=out)

    assert "row 3, 学校代码: school 'S-B' is outside your scope" in out.getvalue()


def test_as_a_teacher_the_command_is_refused(ref, tmp_path):
    sheet = tmp_path / "students.xlsx"
    sheet.write_bytes(xlsx_bytes(ROWS))
    with pytest.raises(CommandError, match="Only administrators"):
        _run("--kind", "students", str(sheet), "--as", ref.teacher_a.user.username)
    assert not ImportJob.objects.exists()


def test_dry_run_writes_nothing(ref, tmp_path):
    sheet = tmp_path / "students.xlsx"
    sheet.write_bytes(xlsx_bytes(ROWS))
    out = _run("--kind", "students", str(sheet), "--dry-run")
    assert "dry run" in out and "created 2" in out
    assert not StudentProfile.objects.filter(student_number="G0001").exists()
    assert not list(tmp_path.glob("*passwords*"))

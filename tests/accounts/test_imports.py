"""Onboarding import through the API: students, teachers and schools; idempotency, all or
nothing, errors by row and column, scope, credentials once."""

import csv
import io

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from accounts.imports import engine
from accounts.models import ImportJob, StudentProfile, TeacherProfile, User
from regions.models import School
from tests.accounts import test_imports_support as support
from tests.accounts.test_imports_support import (
    SCHOOL_HEADER,
    STUDENT_HEADER,
    TEACHER_HEADER,
    csv_bytes,
    upload_file,
    xlsx_bytes,
)

ref, media, eager, post_import = support.ref, support.media, support.eager, support.post_import  # fixtures

pytestmark = pytest.mark.django_db

STUDENTS = [
    STUDENT_HEADER,
    ["S-A", "G0001", "张小明", "七年级", "1班"],
    ["S-A", "G0002", "李小红", "g7", "2班"],
    ["S-A", "G0003", "王小刚", "八年级", "1班"],
]


def _students_form() -> dict:
    return {"kind": "students", "file": upload_file(xlsx_bytes(STUDENTS), "s.xlsx")}


def _credentials(client, job_id) -> list[list[str]]:
    response = client.get(f"/api/v1/imports/{job_id}/credentials/")
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- students --------------------------------------------------------------------------------

def test_student_import_creates_accounts_that_must_change_a_cheaply_hashed_password(ref, post_import):
    response = post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS))

    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["status"] == "succeeded"
    counts = (job["rows_total"], job["created_count"], job["updated_count"], job["unchanged_count"])
    assert counts == (3, 3, 0, 0)
    assert job["errors"] == [] and job["credentials_available"] is True
    student = StudentProfile.objects.select_related("user", "grade").get(school=ref.school_a,
                                                                         student_number="G0003")
    assert (student.real_name, student.grade, student.class_name) == ("王小刚", ref.g8, "1班")
    assert student.user.username == "s.S-A.G0003"
    assert student.user.must_change_password is True
    assert identify_hasher(student.user.password).algorithm == "pbkdf2_sha256_initial"
    assert "王" not in student.user.display_name  # a minor's real name is not their public name
    assert student.history.count() == 1 and student.user.history.count() == 1  # audit trail


def test_the_initial_passwords_log_in_and_are_downloadable_once_by_the_job_creator(
        ref, post_import, client_for, api_client):
    job_id = post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS)).json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    stored = job.credentials_file.name
    assert default_storage.exists(stored)
    assert b"G0001" not in default_storage.open(stored).read()  # encrypted at rest

    # The city administrator sees the job but may not take the passwords.
    assert client_for(ref.city_admin.user).get(f"/api/v1/imports/{job_id}/").status_code == 200
    refused = client_for(ref.city_admin.user).get(f"/api/v1/imports/{job_id}/credentials/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"

    client = client_for(ref.school_admin_a.user)
    rows = _credentials(client, job_id)
    assert rows[0] == ["学校代码", "学籍号", "姓名", "用户名", "初始密码"]
    by_number = {r[1]: r for r in rows[1:]}
    assert set(by_number) == {"G0001", "G0002", "G0003"}
    username, password = by_number["G0001"][3], by_number["G0001"][4]
    login = api_client.post("/api/v1/auth/token/", {"username": username, "password": password})
    assert login.status_code == 200 and login.json()["user"]["must_change_password"] is True

    again = client.get(f"/api/v1/imports/{job_id}/credentials/")
    assert again.status_code == 410 and again.json()["error"]["code"] == "credentials_gone"
    assert not default_storage.exists(stored)
    assert client.get(f"/api/v1/imports/{job_id}/").json()["credentials_available"] is False


def test_reimporting_the_same_file_creates_and_changes_nothing(ref, post_import):
    content = xlsx_bytes(STUDENTS)
    post_import(ref.school_admin_a.user, "students", content)
    users, history = User.objects.count(), StudentProfile.history.count()

    job = post_import(ref.school_admin_a.user, "students", content).json()

    assert job["status"] == "succeeded"
    assert (job["created_count"], job["updated_count"], job["unchanged_count"]) == (0, 0, 3)
    assert job["credentials_available"] is False and job["credentials_count"] == 0
    assert (User.objects.count(), StudentProfile.history.count()) == (users, history)


def test_a_changed_row_updates_the_student_and_keeps_the_account(ref, post_import):
    post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS))
    before = StudentProfile.objects.get(student_number="G0002")
    password = before.user.password
    changed = [*STUDENTS[:2], ["S-A", "G0002", "李晓红", "八年级", "3班"], STUDENTS[3]]

    job = post_import(ref.school_admin_a.user, "students", xlsx_bytes(changed)).json()

    assert (job["created_count"], job["updated_count"], job["unchanged_count"]) == (0, 1, 2)
    after = StudentProfile.objects.select_related("user").get(student_number="G0002")
    assert (after.real_name, after.grade, after.class_name) == ("李晓红", ref.g8, "3班")
    assert after.user_id == before.user_id and after.user.password == password
    assert after.history.first().history_type == "~"


def test_an_error_in_row_n_writes_nothing_and_names_the_row_and_the_column(ref, post_import, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_SIZE", 2)  # rows 2-3 are written in a first batch, then rolled back
    rows = [*STUDENTS, ["S-A", "G0004", "赵小燕", "g13", "1班"], ["S-A", "G0005", "", "七年级", "1班"]]

    job = post_import(ref.school_admin_a.user, "students", xlsx_bytes(rows)).json()

    assert job["status"] == "failed"
    assert job["error_count"] == 2
    assert job["errors"] == [
        {"row": 5, "column": "年级", "message": "unknown grade code 'g13'"},
        {"row": 6, "column": "姓名", "message": "A name is required."},
    ]
    assert not StudentProfile.objects.filter(student_number__startswith="G000").exists()
    assert not User.objects.filter(username__startswith="s.S-A.").exists()
    assert job["credentials_available"] is False


def test_duplicate_keys_inside_the_file_are_reported_at_the_second_row(ref, post_import):
    rows = [*STUDENTS, ["S-A", "G0001", "张小明", "七年级", "1班"]]

    job = post_import(ref.school_admin_a.user, "students", xlsx_bytes(rows)).json()

    assert job["status"] == "failed"
    assert job["errors"] == [{"row": 5, "column": "学籍号",
                              "message": "'G0001' appears twice in the file (first in row 2)"}]
    assert StudentProfile.objects.filter(school=ref.school_a).count() == 1  # build_world's own


def test_a_grade_the_school_does_not_teach_is_refused(ref, post_import):
    rows = [STUDENT_HEADER, ["S-A", "G0001", "张小明", "一年级", "1班"]]

    job = post_import(ref.school_admin_a.user, "students", xlsx_bytes(rows)).json()

    assert job["errors"][0]["column"] == "年级" and "not taught" in job["errors"][0]["message"]


def test_gb18030_csv_with_english_headers_and_a_title_row_imports(ref, post_import):
    rows = [["温州市学生名单（2026）"], ["school_code", "student_number", "real_name", "grade", "class"],
            ["S-A", "G0101", "欧阳娜娜", "七年级", "（1）班"]]

    job = post_import(ref.school_admin_a.user, "students", csv_bytes(rows, encoding="gb18030"),
                      name="名单.csv").json()

    assert job["status"] == "succeeded", job["errors"]
    student = StudentProfile.objects.get(student_number="G0101")
    assert (student.real_name, student.class_name) == ("欧阳娜娜", "(1)班")


def test_utf8_csv_without_bom_imports(ref, post_import):
    job = post_import(ref.school_admin_a.user, "students", csv_bytes(STUDENTS, encoding="utf-8"),
                      name="students.csv").json()
    assert (job["status"], job["created_count"]) == ("succeeded", 3)


def test_a_missing_required_column_is_reported_on_the_header_row(ref, post_import):
    rows = [["学校代码", "学籍号", "姓名", "班级"], ["S-A", "G0001", "张小明", "1班"]]

    job = post_import(ref.school_admin_a.user, "students", xlsx_bytes(rows)).json()

    assert job["errors"] == [{"row": 1, "column": "年级", "message": "The column '年级' is missing."}]


def test_dry_run_counts_and_writes_nothing(ref, post_import):
    job = post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS), dry_run=True).json()

    assert (job["status"], job["dry_run"], job["created_count"]) == ("succeeded", True, 3)
    assert not StudentProfile.objects.filter(student_number="G0001").exists()
    assert job["credentials_available"] is False


def test_the_uploaded_sheet_is_deleted_once_the_job_finished(ref, post_import, media):
    job_id = post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS)).json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    assert job.upload.name == ""
    assert not any(p.name.startswith("upload") for p in media.rglob("*"))


# --- teachers ---------------------------------------------------------------------------------

TEACHERS = [
    [*TEACHER_HEADER, "用户名", "初始密码"],
    ["S-A", "T001", "王芳", "数学、语文", "市名师", "", ""],
    ["S-A", "T002", "陈明", "math", "", "chenming", "Start-Here-2026"],
]


def test_teacher_import_sets_subjects_tier_and_the_given_username_and_password(ref, post_import, client_for):
    job = post_import(ref.school_admin_a.user, "teachers", xlsx_bytes(TEACHERS)).json()

    assert job["status"] == "succeeded", job["errors"]
    wang = TeacherProfile.objects.select_related("user").get(school=ref.school_a, staff_number="T001")
    assert set(wang.subjects.all()) == {ref.math, ref.chinese} and wang.tier == ref.famous
    assert wang.user.username == "t.S-A.T001" and wang.user.display_name == "王老师"
    assert set(wang.history.first().subjects.values_list("subject_id", flat=True)) == {ref.math.pk,
                                                                                       ref.chinese.pk}
    chen = TeacherProfile.objects.select_related("user").get(staff_number="T002")
    assert chen.user.username == "chenming" and chen.tier is None
    assert chen.user.check_password("Start-Here-2026") and chen.user.must_change_password
    rows = _credentials(client_for(ref.school_admin_a.user), job["id"])
    by_number = {r[1]: r for r in rows[1:]}
    assert by_number["T002"][4] == "(as given in the file)"  # the file's password is not repeated
    assert len(by_number["T001"][4]) == 10


def test_teacher_reimport_is_a_noop_and_a_changed_subject_or_tier_updates(ref, post_import):
    post_import(ref.school_admin_a.user, "teachers", xlsx_bytes(TEACHERS))
    again = post_import(ref.school_admin_a.user, "teachers", xlsx_bytes(TEACHERS)).json()
    assert (again["created_count"], again["updated_count"], again["unchanged_count"]) == (0, 0, 2)

    changed = [TEACHERS[0], ["S-A", "T001", "王芳", "语文", "市学科骨干", "", ""], TEACHERS[2]]
    job = post_import(ref.school_admin_a.user, "teachers", xlsx_bytes(changed)).json()

    assert (job["created_count"], job["updated_count"], job["unchanged_count"]) == (0, 1, 1)
    wang = TeacherProfile.objects.get(staff_number="T001")
    assert list(wang.subjects.all()) == [ref.chinese] and wang.tier == ref.backbone


def test_teacher_rows_with_unknown_subject_tier_or_taken_username_are_errors(ref, post_import):
    rows = [TEACHERS[0],
            ["S-A", "T010", "甲", "天文", "", "", ""],
            ["S-A", "T011", "乙", "", "院士", "", ""],
            ["S-A", "T012", "丙", "", "", ref.teacher_a.user.username, ""],
            ["S-A", "T013", "丁", "", "", "", "short"]]

    job = post_import(ref.school_admin_a.user, "teachers", xlsx_bytes(rows)).json()

    assert [(e["row"], e["column"]) for e in job["errors"]] == [
        (2, "学科"), (3, "层次"), (5, "初始密码"), (4, "用户名")]
    assert not TeacherProfile.objects.filter(staff_number__startswith="T01").exists()


# --- schools ----------------------------------------------------------------------------------

def test_city_admin_imports_schools_with_stages_idempotently(ref, post_import):
    rows = [SCHOOL_HEADER, ["S-N1", "新区实验学校", "WZ-LC", "小学、初中"],
            ["S-N2", "泰顺二中", "WZ-TS", "junior"]]

    job = post_import(ref.city_admin.user, "schools", xlsx_bytes(rows)).json()

    assert (job["status"], job["created_count"]) == ("succeeded", 2), job["errors"]
    school = School.objects.get(code="S-N1")
    assert (school.county, school.city) == (ref.county_a, ref.city)
    assert set(school.stages.all()) == {ref.primary, ref.junior}
    again = post_import(ref.city_admin.user, "schools", xlsx_bytes(rows)).json()
    assert (again["created_count"], again["updated_count"], again["unchanged_count"]) == (0, 0, 2)
    renamed = [SCHOOL_HEADER, ["S-N1", "新区实验学校", "WZ-LC", "小学"]]
    job = post_import(ref.city_admin.user, "schools", xlsx_bytes(renamed)).json()
    assert job["updated_count"] == 1 and list(School.objects.get(code="S-N1").stages.all()) == [ref.primary]


# --- scope: refused from the refused side ------------------------------------------------------

def test_a_school_admin_cannot_import_students_of_another_school(ref, post_import):
    rows = [STUDENT_HEADER, ["S-A", "G0001", "张小明", "七年级", "1班"],
            ["S-B", "G0002", "李小红", "七年级", "1班"]]

    job = post_import(ref.school_admin_a.user, "students", xlsx_bytes(rows)).json()

    assert job["status"] == "failed"
    assert job["errors"] == [{"row": 3, "column": "学校代码",
                              "message": "school 'S-B' is outside your scope"}]
    assert not StudentProfile.objects.filter(student_number__in=["G0001", "G0002"]).exists()


def test_a_county_admin_cannot_import_into_another_county(ref, post_import):
    students = [STUDENT_HEADER, ["S-B", "G0002", "李小红", "七年级", "1班"]]
    job = post_import(ref.county_admin_a.user, "students", xlsx_bytes(students)).json()
    assert job["errors"][0]["message"] == "school 'S-B' is outside your scope"

    schools = [SCHOOL_HEADER, ["S-N3", "泰顺三中", "WZ-TS", "初中"], ["S-B", "改名", "WZ-LC", "初中"]]
    job = post_import(ref.county_admin_a.user, "schools", xlsx_bytes(schools)).json()
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(2, "县区代码"), (3, "学校代码")]
    assert not School.objects.filter(code="S-N3").exists()
    assert School.objects.get(code="S-B").name == "泰顺育才中学"


def test_a_city_admin_cannot_import_into_another_city(ref, post_import):
    rows = [STUDENT_HEADER, ["S-O", "G0009", "他人", "七年级", "1班"]]
    job = post_import(ref.city_admin.user, "students", xlsx_bytes(rows)).json()
    assert job["errors"][0]["message"] == "school 'S-O' is outside your scope"


@pytest.mark.parametrize("who", ["student_a", "teacher_a"])
def test_students_and_teachers_are_refused_every_import_endpoint(ref, client_for, who, media):
    client = client_for(getattr(ref, who).user)
    assert client.get("/api/v1/imports/").status_code == 403
    assert client.get("/api/v1/imports/templates/students/").status_code == 403
    response = client.post("/api/v1/imports/", _students_form(),
                           format="multipart")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert not ImportJob.objects.exists()


def test_anonymous_is_refused(api_client, media):
    assert api_client.get("/api/v1/imports/").status_code in (401, 403)
    response = api_client.post("/api/v1/imports/", {"kind": "students"}, format="multipart")
    assert response.status_code in (401, 403)


def test_a_school_admin_may_not_import_schools(ref, post_import):
    response = post_import(ref.school_admin_a.user, "schools", xlsx_bytes([SCHOOL_HEADER]))
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_jobs_are_listed_and_shown_only_within_the_callers_scope(ref, post_import, client_for):
    job_id = post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS)).json()["id"]

    for user in (ref.school_admin_a.user, ref.county_admin_a.user, ref.city_admin.user):
        listed = client_for(user).get("/api/v1/imports/").json()
        assert [j["id"] for j in listed["results"]] == [job_id]
    for user in (ref.school_admin_b.user, ref.county_admin_b.user, ref.other_city_admin.user):
        client = client_for(user)
        assert client.get("/api/v1/imports/").json()["results"] == []
        assert client.get(f"/api/v1/imports/{job_id}/").status_code == 404
        assert client.get(f"/api/v1/imports/{job_id}/credentials/").status_code == 404


# --- uploads -----------------------------------------------------------------------------------

def test_a_file_over_the_upload_limit_is_refused_with_413(ref, post_import, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    response = post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(("content", "name", "code"), [
    (b"PK\x03\x04 not really a zip", "sheet.xlsx", "unreadable_file"),
    (csv_bytes(STUDENTS), "sheet.xlsx", "unreadable_file"),
    (xlsx_bytes(STUDENTS), "sheet.csv", "unreadable_file"),
    (b"\xd0\xcf\x11\xe0 old excel", "sheet.xls", "unsupported_file_type"),
    (b"%PDF-1.7", "sheet.pdf", "unsupported_file_type"),
])
def test_files_whose_type_or_content_is_wrong_are_refused_with_400(ref, post_import, content, name, code):
    response = post_import(ref.school_admin_a.user, "students", content, name=name)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not ImportJob.objects.exists()


def test_a_missing_file_or_unknown_kind_is_a_400_in_the_error_shape(ref, client_for, media):
    client = client_for(ref.school_admin_a.user)
    response = client.post("/api/v1/imports/", {"kind": "parents"}, format="multipart")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"kind", "file"}


def test_a_request_with_too_many_form_fields_is_a_400_in_the_error_shape(ref, client_for, media):
    client = client_for(ref.school_admin_a.user)
    fields = {f"f{n}": "x" for n in range(1100)}
    response = client.post("/api/v1/imports/", {"kind": "students", **fields}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


# --- the job machinery -------------------------------------------------------------------------

def test_the_task_is_enqueued_after_commit_and_running_it_twice_is_harmless(
        ref, client_for, django_capture_on_commit_callbacks, media, monkeypatch):
    from accounts.imports.services import import_job_run
    from accounts.tasks import import_job_run_task

    sent = []
    monkeypatch.setattr(import_job_run_task, "delay", lambda job_id: sent.append(job_id))
    client = client_for(ref.school_admin_a.user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/api/v1/imports/", _students_form(),
                               format="multipart")
    job_id = response.json()["id"]
    assert response.json()["status"] == "pending" and len(callbacks) == 1 and sent == [job_id]

    assert import_job_run(job_id=job_id).status == "succeeded"
    assert import_job_run(job_id=job_id) is None  # a redelivered task does nothing
    assert StudentProfile.objects.filter(school=ref.school_a).count() == 4


def test_a_job_whose_creator_lost_the_admin_role_fails_without_writing(ref, client_for, media,
                                                                      django_capture_on_commit_callbacks,
                                                                      monkeypatch):
    from accounts.imports.services import import_job_run
    from accounts.tasks import import_job_run_task

    monkeypatch.setattr(import_job_run_task, "delay", lambda job_id: None)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client_for(ref.school_admin_a.user).post(
            "/api/v1/imports/", _students_form(), format="multipart",
        ).json()["id"]
    ref.school_admin_a.delete()

    job = import_job_run(job_id=job_id)

    assert job.status == "failed" and "administrators" in job.errors[0]["message"]
    assert not StudentProfile.objects.filter(student_number="G0001").exists()


# --- templates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["schools", "teachers", "students"])
def test_templates_hold_the_accepted_headers(ref, client_for, kind):
    client = client_for(ref.county_admin_a.user)
    workbook = load_workbook(io.BytesIO(client.get(f"/api/v1/imports/templates/{kind}/").content))
    header = [c.value for c in workbook.worksheets[0][1]]
    assert header[:3] == {"schools": SCHOOL_HEADER, "teachers": TEACHER_HEADER,
                          "students": STUDENT_HEADER}[kind][:3]
    assert len(list(workbook.worksheets[1].iter_rows())) == len(header) + 1
    text = client.get(f"/api/v1/imports/templates/{kind}/?file_type=csv").content.decode("utf-8-sig")
    assert text.strip().split(",") == header


def test_template_requests_for_unknown_kinds_or_types_are_4xx(ref, client_for):
    client = client_for(ref.county_admin_a.user)
    assert client.get("/api/v1/imports/templates/parents/").status_code == 404
    response = client.get("/api/v1/imports/templates/students/?file_type=pdf")
    assert response.status_code == 400 and "file_type" in response.json()["error"]["fields"]


def test_passwords_nobody_downloaded_are_purged_after_a_week(ref, post_import):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.tasks import import_credentials_purge_task

    job_id = post_import(ref.school_admin_a.user, "students", xlsx_bytes(STUDENTS)).json()["id"]
    stored = ImportJob.objects.get(pk=job_id).credentials_file.name
    assert import_credentials_purge_task() == 0 and default_storage.exists(stored)

    ImportJob.objects.filter(pk=job_id).update(finished_at=timezone.now() - timedelta(days=8))
    assert import_credentials_purge_task() == 1
    assert not default_storage.exists(stored)
    assert ImportJob.objects.get(pk=job_id).credentials_file.name == ""

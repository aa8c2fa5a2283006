"""Export jobs: a whole city's evidence built by a Celery task and downloaded when ready (the
streamed download would outlast the server's request timeout). Own jobs only; refused to
teachers and students; files expire."""

import datetime

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from service_records.exports.services import (
    EXPORT_FILE_TTL,
    export_job_create,
    export_job_purge,
    export_job_run,
)
from service_records.models import ExportJob
from tests.factories import TeacherFactory
from tests.service_records.exports_support import as_dicts, body, csv_rows, english, march_ledger, xlsx_rows  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
JOBS = "/api/v1/exports/jobs/"
MARCH = {"occurred_from": "2026-03-01", "occurred_to": "2026-03-31"}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def eager():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True  # also with a broker (REDIS_URL) in the test run
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def ledger(world):
    return march_ledger(world, TeacherFactory(school=world.other_school))


def _start(client, django_capture_on_commit_callbacks, **body_):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(JOBS, body_, format="json")
    assert response.status_code == 202, response.content
    return response.json()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_job_builds_the_same_file_as_the_streamed_download(world, ledger, client_for, media, eager,
                                                             django_capture_on_commit_callbacks, fmt):
    client = client_for(world.city_admin.user)
    job = _start(client, django_capture_on_commit_callbacks, file_format=fmt, **MARCH)
    detail = client.get(f"{JOBS}{job['id']}/").json()
    assert detail["status"] == "succeeded" and detail["size"] > 0
    assert detail["download_url"].endswith(f"{JOBS}{job['id']}/download/")
    assert detail["params"] == MARCH

    download = client.get(detail["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert "no-store" in download["Cache-Control"]
    streamed = client.get(f"/api/v1/exports/evidence.{fmt}", MARCH)
    read = csv_rows if fmt == "csv" else xlsx_rows
    downloaded = read(download)
    assert downloaded == read(streamed)
    rows = as_dicts(downloaded)
    assert [row["event"] for row in rows] == [ledger[k].pk if fmt == "xlsx" else str(ledger[k].pk)
                                              for k in ("a_answer", "a_live", "b_lesson")]


def test_filters_and_scope_apply_to_the_job_as_to_the_download(world, ledger, client_for, media, eager,
                                                               django_capture_on_commit_callbacks):
    client = client_for(world.county_admin_a.user)
    job = _start(client, django_capture_on_commit_callbacks, file_format="csv", kind="answer_given", **MARCH)
    rows = as_dicts(csv_rows(client.get(f"{JOBS}{job['id']}/download/")))
    assert [row["event"] for row in rows] == [str(ledger["a_answer"].pk)]


def test_a_job_is_its_requesters_only(world, ledger, client_for, media, eager,
                                      django_capture_on_commit_callbacks):
    job = _start(client_for(world.county_admin_a.user), django_capture_on_commit_callbacks, file_format="csv",
                 **MARCH)
    for other in (world.city_admin, world.county_admin_b, world.school_admin_a, world.other_city_admin):
        client = client_for(other.user)
        assert client.get(JOBS).json()["count"] == 0
        assert client.get(f"{JOBS}{job['id']}/").status_code == 404
        assert client.get(f"{JOBS}{job['id']}/download/").status_code == 404


@pytest.mark.parametrize("who", ["teacher_a", "student_a"])
def test_teachers_and_students_are_refused(world, client_for, media, who):
    client = client_for(getattr(world, who).user)
    assert client.get(JOBS).status_code == 403
    response = client.post(JOBS, {"file_format": "csv", **MARCH}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "export_forbidden"
    assert not ExportJob.objects.exists()


def test_an_administrator_who_lost_the_role_gets_no_file(world, ledger, media):
    job = export_job_create(actor=world.county_admin_a.user, fmt="csv",
                            params={"occurred_from": datetime.date(2026, 3, 1),
                                    "occurred_to": datetime.date(2026, 3, 31)})
    world.county_admin_a.delete()
    job = export_job_run(job_id=job.pk)
    assert job.status == "failed" and not job.file and job.error
    assert export_job_run(job_id=job.pk) is None  # a finished job is not run again


@pytest.mark.parametrize("body_, field", [
    ({**MARCH}, "file_format"),
    ({"file_format": "pdf", **MARCH}, "file_format"),
    ({"file_format": "csv", "occurred_from": "2026-03-31", "occurred_to": "2026-03-01"}, "occurred_to"),
    ({"file_format": "csv", **MARCH, "county": "99999999999999999999999"}, "county"),
    ({"file_format": "csv", **MARCH, "email_to": "x@example.com"}, "email_to"),
])
def test_bad_requests_are_400_and_queue_nothing(world, client_for, media, body_, field):
    response = client_for(world.city_admin.user).post(JOBS, body_, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert not ExportJob.objects.exists()


def test_a_file_is_not_downloaded_before_it_is_ready_nor_after_it_expired(world, ledger, client_for, media,
                                                                          eager):
    client = client_for(world.city_admin.user)
    response = client.post(JOBS, {"file_format": "csv", **MARCH}, format="json")  # not committed: not run
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert response.json()["download_url"] is None
    pending = client.get(f"{JOBS}{job.pk}/download/")
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "export_not_ready"

    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert default_storage.exists(job.file.name)
    assert export_job_purge(now=timezone.now()) == 0  # fresh files stay
    assert export_job_purge(now=timezone.now() + EXPORT_FILE_TTL + datetime.timedelta(minutes=1)) == 1
    assert not default_storage.exists(job.file.name)
    job.refresh_from_db()
    assert job.status == "expired" and not job.file
    gone = client.get(f"{JOBS}{job.pk}/download/")
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "export_expired"


def test_at_most_three_jobs_wait_at_once(world, client_for, media):
    client = client_for(world.city_admin.user)
    for _ in range(3):
        assert client.post(JOBS, {"file_format": "csv", **MARCH}, format="json").status_code == 202
    refused = client.post(JOBS, {"file_format": "csv", **MARCH}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_many_exports"
    assert ExportJob.objects.count() == 3

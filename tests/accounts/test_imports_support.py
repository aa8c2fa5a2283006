"""Shared helpers for the import tests: reference data, sheets built in memory, uploads."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from config.celery import app as celery_app
from tests import factories

STUDENT_HEADER = ["学校代码", "学籍号", "姓名", "年级", "班级"]
TEACHER_HEADER = ["学校代码", "工号", "姓名", "学科", "层次"]
SCHOOL_HEADER = ["学校代码", "学校名称", "县区代码", "学段"]


def xlsx_bytes(rows, *, title_rows=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in [*title_rows, *rows]:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, *, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload_file(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.fixture
def ref(world):
    """build_world() plus the reference data a sheet points at: stages, grades, subjects, tiers."""
    junior = factories.SchoolStageFactory(code="junior", name="初中", order=2)
    primary = factories.SchoolStageFactory(code="primary", name="小学", order=1)
    world.school_a.stages.set([junior])
    world.school_b.stages.set([junior])
    world.g7 = factories.GradeFactory(code="g7", name="七年级", stage=junior, order=7)
    world.g8 = factories.GradeFactory(code="g8", name="八年级", stage=junior, order=8)
    world.g1 = factories.GradeFactory(code="g1", name="一年级", stage=primary, order=1)
    world.junior, world.primary = junior, primary
    world.chinese = factories.SubjectFactory(code="chinese", name="语文")
    world.famous = factories.TeacherTierFactory(code="city-famous", name="市名师", rank=1)
    world.backbone = factories.TeacherTierFactory(code="city-backbone", name="市学科骨干", rank=2)
    return world


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def eager(media):
    """Celery runs tasks inline (as with the embedded defaults) even when REDIS_URL is set."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


class _Posted:
    """The POST's status, and the job as GET shows it once its task ran after commit."""

    def __init__(self, response, detail):
        self.status_code = response.status_code
        self._json = detail.json() if detail is not None else response.json()

    def json(self):
        return self._json


@pytest.fixture
def post_import(client_for, django_capture_on_commit_callbacks, eager):
    """post_import(user, kind, content, name, dry_run=False) -> response, with the job's task
    run when the request's transaction commits (as in production)."""

    def post(user, kind, content, name="sheet.xlsx", dry_run=False):
        client = client_for(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/imports/", {"kind": kind, "file": upload_file(content, name),
                                                        "dry_run": dry_run}, format="multipart")
        detail = None
        if response.status_code == 201:
            detail = client.get(f"/api/v1/imports/{response.json()['id']}/")
        return _Posted(response, detail)

    return post

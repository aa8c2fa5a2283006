"""Exports over the API: evidence, assessment results and payout lists as streamed CSV / XLSX,
scoped to the administrator, refused to teachers and students."""

import datetime
from decimal import Decimal

import pytest

from service_records.assessment.services import (
    assessment_run_compute,
    assessment_run_finalize,
    incentive_rules_seed,
)
from service_records.services import service_event_correct
from tests.factories import TeacherFactory
from tests.service_records.assessment_support import at, duty, leaf, node, published_scheme, record
from tests.service_records.exports_support import as_dicts, body, csv_rows, english, march_ledger, xlsx_rows  # noqa: F401
from tests.studios.factories import make_studio

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
EVIDENCE = "/api/v1/exports/evidence"
MARCH = {"occurred_from": "2026-03-01", "occurred_to": "2026-03-31"}


@pytest.fixture
def ledger(world):
    world.other_teacher = TeacherFactory(school=world.other_school)
    return march_ledger(world, world.other_teacher)


@pytest.fixture
def as_user(client_for):
    return lambda profile: client_for(profile.user)


def _teachers_in(rows):
    return sorted({row["teacher id"] for row in rows})


def test_a_city_administrator_exports_the_citys_evidence_as_csv(world, ledger, as_user):
    response = as_user(world.city_admin).get(f"{EVIDENCE}.csv", MARCH)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="evidence-20260301-20260331.csv"'
    assert "no-store" in response["Cache-Control"]
    rows = as_dicts(csv_rows(response))
    assert [row["event"] for row in rows] == [str(ledger[k].pk) for k in ("a_answer", "a_live", "b_lesson")]
    first = rows[0]
    assert first["teacher"] == world.teacher_a.real_name and first["school"] == "鹿城实验中学"
    assert first["county"] == "鹿城区" and first["kind code"] == "answer_given"
    assert first["occurred at"] == "2026-03-01 10:00:00"  # local time, as the teacher saw it
    assert (first["quantity"], first["rating"], first["accepted"]) == ("1.00", "4.50", "yes")
    assert first["hash"] == ledger["a_answer"].hash and first["chain position"] == "1"
    assert rows[1]["unit"] == "minutes" and rows[1]["quantity"] == "90.00"
    assert first["evidence type"] == "" and first["corrects event"] == ""


@pytest.mark.parametrize("who,teachers", [
    ("county_admin_a", ["teacher_a"]), ("school_admin_b", ["teacher_b"]),
    ("other_city_admin", ["other_teacher"]),
])
def test_each_administrator_exports_only_their_scope(world, ledger, as_user, who, teachers):
    rows = as_dicts(xlsx_rows(as_user(getattr(world, who)).get(f"{EVIDENCE}.xlsx", MARCH)))
    assert _teachers_in(rows) == sorted(getattr(world, t).user_id for t in teachers)


def test_evidence_xlsx_has_typed_cells_and_names_what_a_correction_corrects(world, ledger, as_user):
    service_event_correct(event=ledger["a_live"], actor_id=world.county_admin_a.user_id,
                          reason="=重复记录", idempotency_key="fix:1")
    response = as_user(world.county_admin_a).get(f"{EVIDENCE}.xlsx", MARCH)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = as_dicts(xlsx_rows(response))
    assert len(rows) == 3
    correction = rows[-1]
    assert correction["corrects event"] == ledger["a_live"].pk
    assert correction["quantity"] == -90 and correction["reason"] == "=重复记录"
    assert rows[0]["occurred at"] == datetime.datetime(2026, 3, 1, 10, 0)
    assert rows[0]["accepted"] is True and rows[0]["rating"] == 4.5
    assert rows[0]["evidence type"] is None


def test_evidence_filters(world, ledger, as_user):
    city = as_user(world.city_admin)
    by_county = as_dicts(csv_rows(city.get(f"{EVIDENCE}.csv", {**MARCH, "county": world.county_b.pk})))
    assert _teachers_in(by_county) == [str(world.teacher_b.user_id)]
    by_kind = as_dicts(csv_rows(city.get(f"{EVIDENCE}.csv", {**MARCH, "kind": "live_minutes"})))
    assert [row["event"] for row in by_kind] == [str(ledger["a_live"].pk)]
    by_school = as_dicts(csv_rows(city.get(f"{EVIDENCE}.csv", {**MARCH, "school": world.school_a.pk})))
    assert _teachers_in(by_school) == [str(world.teacher_a.user_id)]
    may = as_dicts(csv_rows(city.get(f"{EVIDENCE}.csv", {"occurred_from": "2026-05-01",
                                                           "occurred_to": "2026-05-01"})))
    assert [row["event"] for row in may] == [str(ledger["a_may"].pk)]


@pytest.mark.parametrize("who", ["teacher_a", "student_a"])
def test_teachers_and_students_are_refused_exports(world, ledger, as_user, who):
    for url in (f"{EVIDENCE}.csv", f"{EVIDENCE}.xlsx"):
        response = as_user(getattr(world, who)).get(url, MARCH)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "export_forbidden"


def test_anonymous_callers_are_refused(api_client, ledger):
    assert api_client.get(f"{EVIDENCE}.csv", MARCH).status_code in (401, 403)


@pytest.mark.parametrize("params,field", [
    ({}, "occurred_from"),
    ({"occurred_from": "2026-03-31", "occurred_to": "2026-03-01"}, "occurred_to"),
    ({"occurred_from": "2026-02-30", "occurred_to": "2026-03-01"}, "occurred_from"),
    ({**MARCH, "county": "x"}, "county"),
    ({"occurred_from": "0001-01-01", "occurred_to": "2000-01-01"}, "occurred_from"),
    ({"occurred_from": "2026-01-01", "occurred_to": "9999-12-31"}, "occurred_to"),
    ({**MARCH, "kind": "not a slug"}, "kind"),
])
def test_invalid_export_parameters_are_400_in_the_error_shape(world, as_user, params, field):
    response = as_user(world.city_admin).get(f"{EVIDENCE}.csv", params, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert field in response.json()["error"]["fields"]


def test_an_unknown_file_format_is_404(world, as_user):
    assert as_user(world.city_admin).get(f"{EVIDENCE}.pdf", MARCH).status_code == 404


# --- results and payouts ----------------------------------------------------------------------

def _scheme(region):
    return published_scheme(region, [
        node("A1", "A", [
            leaf("B1", ["answer_given"], "5", level="B"),
            leaf("B2", ["research_lesson"], "3", level="B", duty=duty(1, "period")),
        ], max_points="12.00"),
        node("A2", "A", [leaf("B3", ["live_minutes"], "0.1", level="B")]),
    ], excellent="20.00", qualified="2.00")


@pytest.fixture
def run(world):
    scheme = _scheme(world.city)
    for day in (1, 2, 3):
        record(world.teacher_a, "answer_given", at(2026, 3, day))  # 15 points, capped by A1 at 12
    record(world.teacher_a, "live_minutes", at(2026, 3, 4), quantity=90)  # 9 points
    record(world.teacher_b, "research_lesson", at(2026, 3, 5))  # 3 points, duty met
    return assessment_run_compute(scheme=scheme)


def _results_url(run, fmt):
    return f"/api/v1/exports/runs/{run.pk}/results.{fmt}"


def test_results_export_has_points_per_a_level_indicator(world, run, as_user):
    rows = {row["teacher id"]: row for row in as_dicts(xlsx_rows(as_user(world.city_admin).get(
        _results_url(run, "xlsx"))))}
    a, b = rows[world.teacher_a.user_id], rows[world.teacher_b.user_id]
    assert (a["points"], a["A1 指标A1"], a["A2 指标A2"]) == (21, 12, 9)
    # a missed duty drops the grade one level
    assert a["grade by points"] == "excellent" and a["assessment grade"] == "qualified"
    assert a["duties met"] is False and a["eligible for awards"] is False
    assert a["missed duties"] == "B2 指标B2"
    assert (b["points"], b["A1 指标A1"], b["A2 指标A2"], b["assessment grade"]) == (3, 3, 0, "qualified")
    assert b["duties met"] is True and b["county"] == "泰顺县" and b["tier"] == "市名师"


def test_results_csv_of_a_county_administrator_holds_their_teachers_only(world, run, as_user):
    response = as_user(world.county_admin_a).get(_results_url(run, "csv"))
    assert response["Content-Disposition"].startswith(f'attachment; filename="results-run{run.pk}-')
    rows = as_dicts(csv_rows(response))
    assert [(r["teacher id"], r["points"], r["A1 指标A1"]) for r in rows] == [
        (str(world.teacher_a.user_id), "21.00", "12.00")]


def test_results_export_is_refused_or_hidden_outside_scope(world, run, as_user):
    assert as_user(world.teacher_a).get(_results_url(run, "csv")).status_code == 403
    assert as_user(world.student_b).get(_results_url(run, "xlsx")).status_code == 403
    assert as_user(world.other_city_admin).get(_results_url(run, "csv")).status_code == 404
    assert as_user(world.city_admin).get("/api/v1/exports/runs/999999/results.csv").status_code == 404


PASSING = ["excellent", "qualified"]
RULES = [
    {"code": "studio-host-stipend", "name": "主持人劳务补贴", "role": "studio_host", "grades": PASSING,
     "stipend": Decimal("10000.00"), "valid_from": datetime.date(2026, 1, 1)},
    {"code": "assessed-passing", "name": "合格及以上", "role": "any_teacher", "grades": PASSING,
     "stipend": Decimal("0"), "valid_from": datetime.date(2026, 1, 1)},
]


def test_payout_list_export_of_a_final_run(world, run, as_user):
    url = f"/api/v1/exports/runs/{run.pk}/payouts.xlsx"
    not_final = as_user(world.city_admin).get(url)
    assert not_final.status_code == 409 and not_final.json()["error"]["code"] == "run_not_final"

    incentive_rules_seed(region=world.city, rules=RULES)
    studio = make_studio(host=world.teacher_b)
    final_run = assessment_run_compute(scheme=run.scheme)  # the studio changed nothing in the ledger
    assessment_run_finalize(run=final_run, actor=world.city_admin.user)
    url = f"/api/v1/exports/runs/{final_run.pk}/payouts.xlsx"
    rows = as_dicts(xlsx_rows(as_user(world.city_admin).get(url)))
    assert [(r["teacher id"], r["role"], r["studio"], r["amount (CNY)"], r["assessment grade"])
            for r in rows] == [
        (world.teacher_b.user_id, "studio host", studio.name, 10000, "qualified")]
    assert "主持人劳务补贴" in rows[0]["explanation"] or rows[0]["rule"] == "主持人劳务补贴"
    csv_data = as_dicts(csv_rows(as_user(world.county_admin_b).get(url.replace(".xlsx", ".csv"))))
    assert [r["amount (CNY)"] for r in csv_data] == ["10000.00"]
    assert as_dicts(csv_rows(as_user(world.county_admin_a).get(url.replace(".xlsx", ".csv")))) == []
    assert as_user(world.teacher_b).get(url).status_code == 403


def test_exports_read_one_query_per_file(world, run, as_user, django_assert_max_num_queries):
    client = as_user(world.city_admin)
    for day in range(1, 29):
        record(world.teacher_b, "answer_given", at(2026, 2, day))
    response = client.get(f"{EVIDENCE}.csv", {"occurred_from": "2026-01-01", "occurred_to": "2026-12-31"})
    with django_assert_max_num_queries(3):  # savepoint, the rows, release
        data = body(response)
    assert data.count(b"\r\n") == 1 + 28 + 5


def test_evidence_names_the_object_it_is_evidence_of(world, as_user):
    event = record(world.teacher_a, "lecture_delivered", at(2026, 3, 9), source=world.school_a)
    rows = as_dicts(csv_rows(as_user(world.county_admin_a).get(f"{EVIDENCE}.csv", MARCH)))
    assert [(r["event"], r["evidence type"], r["evidence id"]) for r in rows] == [
        (str(event.pk), "regions.school", str(world.school_a.pk))]


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_file_streams_chunk_by_chunk(settings):
    """Under ASGI (the development server) the export is an async iterator pulled one chunk
    at a time, not a list Django would build first."""
    from asgiref.sync import sync_to_async
    from django.db import connections
    from django.test import AsyncClient

    from tests.factories import build_world

    def seed():
        world = build_world()
        for day in range(1, 29):
            record(world.teacher_a, "answer_given", at(2026, 2, day), quantity=day)
        return world

    world = await sync_to_async(seed)()
    client = AsyncClient()
    try:
        await client.aforce_login(world.county_admin_a.user)
        response = await client.get(f"{EVIDENCE}.csv",
                                    {"occurred_from": "2026-02-01", "occurred_to": "2026-02-28"})
        assert response.status_code == 200 and response.is_async
        data = b"".join([chunk async for chunk in response.streaming_content])
        assert data.startswith("\ufeff".encode()) and data.count(b"\r\n") == 29
    finally:  # the sync thread's database connection, or the test database cannot be dropped
        await sync_to_async(connections.close_all)()

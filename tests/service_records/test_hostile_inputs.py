"""Hostile input to every service-records endpoint: a 4xx in the one error shape, never a 500,
and nothing written. Ids that are not whole numbers, too large for the database, negative;
unknown body fields; wrong JSON types."""

import pytest

from service_records.models import EventFlag, ServiceDispute, ServiceEvent
from tests.service_records.review_factories import at, record

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "1.5", "1e400", "-1", "0", "99999999999999999999999", "9223372036854775808", ""]

# (path, query parameter taking an id) for the lists an administrator may read.
ID_FILTERS = [
    ("/api/v1/assessment/schemes/", "region"),
    ("/api/v1/assessment/runs/", "scheme"),
    ("/api/v1/assessment/runs/", "region"),
    ("/api/v1/service-records/review/teachers/", "tier"),
    ("/api/v1/service-records/review/teachers/", "subject"),
    ("/api/v1/service-records/review/teachers/", "studio"),
    ("/api/v1/service-records/review/teachers/", "school"),
    ("/api/v1/service-records/review/teachers/", "county"),
    ("/api/v1/service-records/review/teachers/", "run"),
    ("/api/v1/service-records/review/teachers/", "period"),
    ("/api/v1/service-records/adoption/", "county"),
    ("/api/v1/certificates/", "teacher"),
]


def assert_error_shape(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize(("path", "param"), ID_FILTERS)
def test_an_id_filter_that_is_no_id_is_400_naming_the_parameter(world, client_for, path, param, value):
    response = client_for(world.city_admin.user).get(path, {param: value})
    if value == "":  # an empty filter is no filter
        assert response.status_code == 200
        return
    assert_error_shape(response)
    assert param in response.json()["error"]["fields"]


@pytest.mark.parametrize("value", BAD_IDS[:-1])
@pytest.mark.parametrize("param", ["school", "county"])
def test_result_filters_take_ids_only(world, client_for, param, value):
    from tests.service_records.review_factories import final_run, scheme

    run = final_run(scheme(world.city), {world.teacher_a: True})
    response = client_for(world.city_admin.user).get(f"/api/v1/assessment/runs/{run.pk}/results/",
                                                     {param: value})
    assert_error_shape(response)
    assert param in response.json()["error"]["fields"]


@pytest.mark.parametrize("value", BAD_IDS[:-1])
def test_export_filters_take_ids_only(world, client_for, value):
    response = client_for(world.city_admin.user).get(
        "/api/v1/exports/evidence.csv",
        {"occurred_from": "2026-01-01", "occurred_to": "2026-01-31", "county": value})
    assert_error_shape(response)


@pytest.mark.parametrize("path", [
    "/api/v1/assessment/schemes/99999999999999999999999/",
    "/api/v1/assessment/runs/9223372036854775808/",
    "/api/v1/assessment/runs/1/results/99999999999999999999999/",
    "/api/v1/service-records/events/99999999999999999999999/",
    "/api/v1/service-records/disputes/9223372036854775808/",
    "/api/v1/service-records/flags/99999999999999999999999/",
    "/api/v1/service-records/review/teachers/99999999999999999999999/events/",
    "/api/v1/certificates/%00%27%22/",
])
def test_ids_in_the_path_too_large_for_the_database_are_404(world, client_for, path):
    assert_error_shape(client_for(world.city_admin.user).get(path), status=404)


# --- request bodies ----------------------------------------------------------------------------

def _bodies(world):
    return record(world.teacher_a, "answer_given", at(2026, 3, 1))


@pytest.mark.parametrize("body", [
    {"type": "wrong", "event": "99999999999999999999999", "description": "x"},
    {"type": "wrong", "event": "1e400", "description": "x"},
    {"type": "missing", "kind": "answer_given", "occurred_at": "2026-13-45T00:00", "quantity": 1,
     "description": "x"},
    {"type": "missing", "kind": "answer_given", "occurred_at": "2026-03-01T00:00:00+08:00",
     "quantity": "1e400", "description": "x"},
    {"type": "missing", "kind": "answer_given", "occurred_at": "2026-03-01T00:00:00+08:00",
     "quantity": "NaN", "description": "x"},
    {"type": "missing", "kind": ["answer_given"], "occurred_at": "2026-03-01T00:00:00+08:00",
     "quantity": 1, "description": "x"},
    {"type": "wrong", "event": 1, "description": {"a": 1}},
    {"type": "wrong", "event": 1, "description": "x", "status": "accepted"},  # unknown field
    ["not", "an", "object"],
])
def test_hostile_dispute_bodies_are_400_and_store_nothing(world, client_for, body):
    _bodies(world)
    response = client_for(world.teacher_a.user).post("/api/v1/service-records/disputes/", body,
                                                     format="json")
    assert_error_shape(response)
    assert not ServiceDispute.objects.exists()


def test_unknown_fields_in_a_body_are_named(world, client_for):
    event = _bodies(world)
    admin = client_for(world.city_admin.user)
    response = admin.post(f"/api/v1/service-records/events/{event.pk}/flags/",
                          {"reason": "duplicate", "status": "cleared"}, format="json")
    assert_error_shape(response)
    assert set(response.json()["error"]["fields"]) == {"status"}
    assert not EventFlag.objects.exists()
    response = admin.post("/api/v1/assessment/runs/compute/", {"scheme": 1, "materialize": False},
                          format="json")
    assert_error_shape(response)
    assert "materialize" in response.json()["error"]["fields"]


@pytest.mark.parametrize("body", [
    {"decision": "correct", "note": "x", "quantity": "1e400"},
    {"decision": "correct", "note": "x", "quantity": "-Infinity"},
    {"decision": "correct", "note": "x", "quantity": "-1"},
    {"decision": ["correct"], "note": "x"},
    {"decision": "correct", "note": "x", "status": "corrected"},
    "correct",
])
def test_hostile_flag_resolutions_are_400_and_record_nothing(world, client_for, body):
    event = _bodies(world)
    admin = client_for(world.city_admin.user)
    flag = admin.post(f"/api/v1/service-records/events/{event.pk}/flags/", {"reason": "x"}, format="json")
    assert flag.status_code == 201
    before = ServiceEvent.objects.count()
    response = admin.post(f"/api/v1/service-records/flags/{flag.json()['id']}/resolve/", body, format="json")
    assert_error_shape(response)
    assert ServiceEvent.objects.count() == before
    assert EventFlag.objects.get().status == EventFlag.Status.OPEN


@pytest.mark.parametrize("body", [
    {"scheme": "99999999999999999999999"},
    {"scheme": 1, "region": "1e400"},
    {"scheme": None},
    [1, 2],
])
def test_hostile_compute_requests_are_400(world, client_for, body):
    assert_error_shape(client_for(world.city_admin.user).post("/api/v1/assessment/runs/compute/", body,
                                                              format="json"))


@pytest.mark.parametrize("body", [
    {"teacher": "99999999999999999999999", "period_start": "2026-01-01", "period_end": "2026-12-31"},
    {"scheme": "1e400"},
    {"period_start": "0001-01-01", "period_end": "9999-12-31"},
    {"period_start": "2026-01-01", "period_end": "2026-12-31", "totals": {}},
])
def test_hostile_certificate_requests_are_400(world, client_for, body):
    response = client_for(world.teacher_a.user).post("/api/v1/certificates/issue/", body, format="json")
    assert_error_shape(response)


@pytest.mark.parametrize("body", [
    {"format": "xuewen.assessment-scheme/1", "region": {"$gt": ""}},
    {"format": "xuewen.assessment-scheme/1", "indicators": "x" * 10},
    "x",
    [],
])
def test_hostile_scheme_documents_are_400(world, client_for, body):
    response = client_for(world.city_admin.user).post("/api/v1/assessment/schemes/import/", body,
                                                      format="json")
    assert_error_shape(response)

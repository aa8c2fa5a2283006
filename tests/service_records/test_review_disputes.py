"""Disputes: a teacher disputes their own events or reports missing ones; an administrator in
scope resolves them through the ledger, once, audited; frozen periods stay frozen."""

import datetime

import pytest
from django.utils import timezone

from service_records.models import ServiceDispute, ServiceEvent
from service_records.review import services
from tests.factories import AdminFactory
from tests.service_records.review_factories import D, at, final_run, record, scheme

pytestmark = pytest.mark.django_db

DISPUTES = "/api/v1/service-records/disputes/"
MY_EVENTS = "/api/v1/service-records/me/events/"


def detail(pk):
    return f"{DISPUTES}{pk}/"


def resolve(pk):
    return f"{DISPUTES}{pk}/resolve/"


def open_wrong(client, event, description="这节课并未开设"):
    return client.post(DISPUTES, {"type": "wrong", "event": event.pk, "description": description})


def test_the_wrong_event_dispute_flow_end_to_end(world, client_for):
    event = record(world.teacher_a, "lecture_delivered", at(2026, 3, 3))
    teacher = client_for(world.teacher_a.user)

    created = open_wrong(teacher, event)
    assert created.status_code == 201, created.json()
    dispute = created.json()
    assert (dispute["status"], dispute["type"], dispute["event"]["id"]) == ("open", "wrong", event.pk)
    assert teacher.get(MY_EVENTS).json()["results"][0]["dispute_open"] is True

    admin = client_for(world.county_admin_a.user)
    assert [d["id"] for d in admin.get(DISPUTES, {"status": "open"}).json()["results"]] == [dispute["id"]]

    accepted = admin.post(resolve(dispute["id"]), {"decision": "accept", "note": "核实无此课"})
    assert accepted.status_code == 200, accepted.json()
    body = accepted.json()
    assert body["status"] == "accepted" and body["resolution_note"] == "核实无此课"
    assert body["resolved_by"]["id"] == world.county_admin_a.user_id
    compensating = ServiceEvent.objects.get(pk=body["compensating_event"]["id"])
    assert (compensating.corrects_id, compensating.quantity) == (event.pk, D("-1.00"))
    assert compensating.recorded_by_id == world.county_admin_a.user_id
    assert compensating.idempotency_key == f"review:dispute:{dispute['id']}:accept"

    # The teacher sees the correction beside the event; nothing is left open.
    rows = {r["id"]: r for r in teacher.get(MY_EVENTS).json()["results"]}
    assert rows[event.pk]["net_quantity"] == "0.00" and rows[event.pk]["dispute_open"] is False
    assert rows[compensating.pk]["corrects"]["id"] == event.pk
    assert teacher.get(detail(dispute["id"])).json()["status"] == "accepted"

    # Resolving again records nothing more; the other decision is a conflict.
    again = admin.post(resolve(dispute["id"]), {"decision": "accept"})
    assert again.status_code == 200 and again.json()["compensating_event"]["id"] == compensating.pk
    assert ServiceEvent.objects.filter(corrects=event).count() == 1
    flip = admin.post(resolve(dispute["id"]), {"decision": "reject", "note": "改判"})
    assert flip.status_code == 409 and flip.json()["error"]["code"] == "already_resolved"

    # Audited: who opened it and who resolved it, with the states in between.
    history = ServiceDispute.objects.get(pk=dispute["id"]).history.order_by("history_date")
    assert [(h.status, h.history_user_id) for h in history] == [
        ("open", world.teacher_a.user_id), ("accepted", world.county_admin_a.user_id)]


def test_accepting_a_wrong_quantity_brings_the_event_to_the_right_one(world, client_for):
    event = record(world.teacher_a, "live_minutes", at(2026, 3, 3), quantity=90)
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="直播只有45分钟")
    response = client_for(world.school_admin_a.user).post(
        resolve(dispute.pk), {"decision": "accept", "quantity": "45", "note": "按回放核定"})
    assert response.status_code == 200
    rows = {r["id"]: r for r in client_for(world.teacher_a.user).get(MY_EVENTS).json()["results"]}
    assert rows[event.pk]["net_quantity"] == "45.00"
    assert rows[response.json()["compensating_event"]["id"]]["quantity"] == "-45.00"


def test_a_missing_event_is_recorded_with_the_dispute_as_its_evidence(world, client_for):
    teacher = client_for(world.teacher_a.user)
    created = teacher.post(DISPUTES, {
        "type": "missing", "kind": "outreach_session", "occurred_at": "2026-03-05T09:00:00+08:00",
        "quantity": "2", "description": "泰顺送教两场未记录", "evidence_url": "https://example.org/report/7",
    })
    assert created.status_code == 201, created.json()
    dispute = created.json()
    assert (dispute["kind"], dispute["quantity"], dispute["event"]) == ("outreach_session", "2.00", None)

    body = client_for(world.city_admin.user).post(
        resolve(dispute["id"]), {"decision": "accept", "quantity": "1"}).json()

    recorded = ServiceEvent.objects.get(pk=body["compensating_event"]["id"])
    assert (recorded.kind.code, recorded.quantity, recorded.corrects_id) == (
        "outreach_session", D("1.00"), None)
    assert recorded.occurred_at == datetime.datetime(2026, 3, 5, 1, 0, tzinfo=datetime.UTC)
    row = next(r for r in teacher.get(MY_EVENTS).json()["results"] if r["id"] == recorded.pk)
    assert row["evidence"]["type"] == "service_records.servicedispute"
    assert row["evidence"]["url"] == f"http://testserver{detail(dispute['id'])}"
    assert teacher.get(row["evidence"]["url"]).json()["id"] == dispute["id"]


def test_a_rejection_needs_a_note_and_records_nothing(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="不是我答的")
    admin = client_for(world.school_admin_a.user)

    bare = admin.post(resolve(dispute.pk), {"decision": "reject"})
    assert bare.status_code == 400 and "note" in bare.json()["error"]["fields"]

    rejected = admin.post(resolve(dispute.pk), {"decision": "reject", "note": "系统记录与答疑日志一致"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["compensating_event"] is None
    assert ServiceEvent.objects.count() == 1


def test_resolving_twice_through_the_service_records_once(world):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="重复")
    first = services.dispute_resolve(dispute_id=dispute.pk, actor=world.county_admin_a.user,
                                     decision="accept")
    second = services.dispute_resolve(dispute_id=dispute.pk, actor=world.city_admin.user,
                                      decision="accept")
    assert first.compensating_event_id == second.compensating_event_id
    assert second.resolved_by_id == world.county_admin_a.user_id
    assert ServiceEvent.objects.count() == 2


# --- refused ----------------------------------------------------------------------------------

def test_a_teacher_cannot_dispute_another_teachers_event(world, client_for):
    theirs = record(world.teacher_b, "answer_given", at(2026, 3, 3))
    response = open_wrong(client_for(world.teacher_a.user), theirs)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "event_not_found"
    assert not ServiceDispute.objects.exists()


def test_a_teacher_cannot_see_or_resolve_another_teachers_dispute(world, client_for):
    event = record(world.teacher_b, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_b.user, type="wrong", event_id=event.pk,
                                    description="错")
    other = client_for(world.teacher_a.user)
    assert other.get(detail(dispute.pk)).status_code == 404
    assert other.get(DISPUTES).json()["count"] == 0
    response = other.post(resolve(dispute.pk), {"decision": "accept"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_an_administrator"


def test_a_teacher_cannot_resolve_their_own_dispute(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    response = client_for(world.teacher_a.user).post(resolve(dispute.pk), {"decision": "accept"})
    assert response.status_code == 403


def test_an_administrator_who_teaches_cannot_resolve_their_own_dispute(world, client_for):
    AdminFactory(user=world.teacher_a.user, level="school", school=world.school_a)
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    response = client_for(world.teacher_a.user).post(resolve(dispute.pk), {"decision": "accept"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "own_record"
    assert ServiceDispute.objects.get().status == "open"


@pytest.mark.parametrize("admin", ["county_admin_b", "school_admin_b", "other_city_admin"])
def test_administrators_out_of_scope_neither_see_nor_resolve(world, client_for, admin):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    client = client_for(getattr(world, admin).user)
    assert client.get(DISPUTES).json()["count"] == 0
    assert client.get(detail(dispute.pk)).status_code == 404
    response = client.post(resolve(dispute.pk), {"decision": "accept"})
    assert response.status_code == 404
    dispute.refresh_from_db()
    assert dispute.status == "open" and ServiceEvent.objects.count() == 1


def test_a_county_admin_cannot_resolve_through_the_service_either(world):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    with pytest.raises(services.ServiceError) as refused:
        services.dispute_resolve(dispute_id=dispute.pk, actor=world.county_admin_b.user, decision="accept")
    assert refused.value.code == "teacher_out_of_scope"


def test_students_have_no_access_to_disputes(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    student = client_for(world.student_a.user)
    assert student.get(DISPUTES).status_code == 403
    assert student.get(detail(dispute.pk)).status_code == 403
    assert open_wrong(student, event).status_code == 403
    assert student.post(resolve(dispute.pk), {"decision": "accept"}).status_code == 403


def test_an_administrator_without_a_teacher_profile_cannot_open_a_dispute(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    response = open_wrong(client_for(world.county_admin_a.user), event)
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_teacher"


def test_one_open_dispute_per_event(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    teacher = client_for(world.teacher_a.user)
    assert open_wrong(teacher, event).status_code == 201
    again = open_wrong(teacher, event)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_disputed"


@pytest.mark.parametrize("payload, fields", [
    ({"type": "missing", "description": "漏记"}, {"kind", "occurred_at", "quantity"}),
    ({"type": "missing", "kind": "no-such", "occurred_at": "2026-03-05T09:00:00+08:00", "quantity": "1",
      "description": "漏记"}, {"kind"}),
    ({"type": "missing", "kind": "answer_given", "occurred_at": "2999-01-01T00:00:00+08:00", "quantity": "1",
      "description": "漏记"}, {"occurred_at"}),
    ({"type": "missing", "kind": "answer_given", "occurred_at": "2026-03-05T09:00:00+08:00", "quantity": "0",
      "description": "漏记"}, {"quantity"}),
    ({"type": "missing", "kind": "answer_given", "occurred_at": "yesterday", "quantity": "1",
      "description": "漏记"}, {"occurred_at"}),
    ({"type": "wrong", "description": "错"}, {"event"}),
    ({"type": "other", "description": "错"}, {"type"}),
    ({"type": "missing", "kind": "answer_given", "occurred_at": "2026-03-05T09:00:00+08:00", "quantity": "1",
      "description": "漏记", "evidence_url": "not a url"}, {"evidence_url"}),
    ({"type": "wrong", "event": 1}, {"description"}),
])
def test_incomplete_disputes_are_400_with_the_fields_to_fix(world, client_for, payload, fields):
    response = client_for(world.teacher_a.user).post(DISPUTES, payload)
    assert response.status_code == 400, response.json()
    assert fields <= set(response.json()["error"]["fields"])
    assert not ServiceDispute.objects.exists()


def test_bad_resolution_input_is_400(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    admin = client_for(world.county_admin_a.user)
    for payload in ({"decision": "maybe"}, {"decision": "accept", "quantity": "-1"},
                    {"decision": "accept", "quantity": "abc"}, {}):
        assert admin.post(resolve(dispute.pk), payload).status_code == 400
    nothing = admin.post(resolve(dispute.pk), {"decision": "accept", "quantity": "1"})
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "nothing_to_correct"
    assert admin.get(DISPUTES, {"status": "closed"}).status_code == 400


# --- frozen periods ---------------------------------------------------------------------------

def test_a_finalized_period_refuses_resolution_and_new_disputes(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2025, 6, 3))
    dispute = services.dispute_open(teacher=world.teacher_a.user, type="wrong", event_id=event.pk,
                                    description="错")
    city_2025 = scheme(world.city, start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31))
    final_run(city_2025, {world.teacher_a: True})

    response = client_for(world.county_admin_a.user).post(resolve(dispute.pk), {"decision": "accept"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "period_frozen"
    dispute.refresh_from_db()
    assert dispute.status == "open" and ServiceEvent.objects.count() == 1

    later = record(world.teacher_a, "answer_given", at(2025, 7, 3))
    response = open_wrong(client_for(world.teacher_a.user), later)
    assert response.status_code == 409 and response.json()["error"]["code"] == "period_frozen"
    missing = client_for(world.teacher_a.user).post(DISPUTES, {
        "type": "missing", "kind": "answer_given", "occurred_at": "2025-08-01T10:00:00+08:00",
        "quantity": "1", "description": "漏记"})
    assert missing.status_code == 409

    # The next year is not frozen.
    this_year = record(world.teacher_a, "answer_given", timezone.now() - datetime.timedelta(hours=2))
    assert open_wrong(client_for(world.teacher_a.user), this_year).status_code == 201

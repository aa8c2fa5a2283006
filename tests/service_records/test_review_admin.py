"""Administrators' review: teachers in scope with totals and filters, drill-down, flags."""

import datetime

import pytest

from service_records.models import EventFlag, ServiceEvent
from service_records.services import service_event_correct
from tests.factories import SchoolFactory, SubjectFactory, TeacherFactory, TeacherTierFactory
from tests.service_records.review_factories import D, at, final_run, record, scheme

pytestmark = pytest.mark.django_db

TEACHERS = "/api/v1/service-records/review/teachers/"
FLAGS = "/api/v1/service-records/flags/"


def teacher_events(teacher_id):
    return f"{TEACHERS}{teacher_id}/events/"


def flag_event(event_id):
    return f"/api/v1/service-records/events/{event_id}/flags/"


def resolve_flag(pk):
    return f"{FLAGS}{pk}/resolve/"


def ids(response):
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("admin, expected", [
    ("city_admin", {"teacher_a", "teacher_b"}),
    ("county_admin_a", {"teacher_a"}),
    ("county_admin_b", {"teacher_b"}),
    ("school_admin_a", {"teacher_a"}),
    ("school_admin_b", {"teacher_b"}),
    ("other_city_admin", set()),
])
def test_teachers_in_scope_only(world, client_for, admin, expected):
    got = ids(client_for(getattr(world, admin).user).get(TEACHERS))
    assert got == {getattr(world, name).user_id for name in expected}


@pytest.mark.parametrize("who", ["teacher_a", "student_a"])
def test_teachers_and_students_are_refused_the_review(world, client_for, who):
    client = client_for(getattr(world, who).user)
    event = record(world.teacher_a, "answer_given", at(2026, 3, 1))
    for response in (client.get(TEACHERS), client.get(teacher_events(world.teacher_a.user_id)),
                     client.get(FLAGS), client.post(flag_event(event.pk), {"reason": "疑似重复"})):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_an_administrator"


def test_totals_per_kind_net_of_corrections_in_a_date_range(world, client_for):
    a = world.teacher_a
    first = record(a, "answer_given", at(2026, 3, 1))
    record(a, "answer_given", at(2026, 3, 2))
    record(a, "live_minutes", at(2026, 3, 3), quantity=45)
    record(a, "live_minutes", at(2026, 5, 3), quantity=100)  # outside the range
    service_event_correct(event=first, actor_id=world.city_admin.user_id, reason="重复",
                          idempotency_key="dup:1")

    body = client_for(world.city_admin.user).get(
        TEACHERS, {"occurred_from": "2026-03-01", "occurred_to": "2026-03-31"}).json()

    row = next(r for r in body["results"] if r["id"] == a.user_id)
    assert row["event_count"] == 3  # the correction is not an event of service
    assert row["units"] == [
        {"kind": "answer_given", "name": "答疑解答", "unit": "count", "quantity": "1.00", "events": 2},
        {"kind": "live_minutes", "name": "直播时长", "unit": "minutes", "quantity": "45.00", "events": 1},
    ]
    assert (row["school"], row["county"], row["county_name"]) == (
        world.school_a.pk, world.county_a.pk, "鹿城区")
    b_row = next(r for r in body["results"] if r["id"] == world.teacher_b.user_id)
    assert b_row["event_count"] == 0 and b_row["units"] == []


def test_totals_within_a_period(world, client_for):
    march = scheme(world.city, start=datetime.date(2026, 3, 1), end=datetime.date(2026, 3, 31))
    record(world.teacher_a, "answer_given", at(2026, 3, 15))
    record(world.teacher_a, "answer_given", at(2026, 4, 15))
    body = client_for(world.county_admin_a.user).get(TEACHERS, {"period": march.pk}).json()
    assert body["results"][0]["event_count"] == 1


def test_filters_tier_subject_school_county_three_tier_name(world, client_for):
    physics = SubjectFactory(code="physics", name="物理")
    plain_tier = TeacherTierFactory(code="plain", name="普通", is_three_tier=False)
    second_school = SchoolFactory(county=world.county_a)
    plain = TeacherFactory(school=second_school, tier=plain_tier, subjects=[physics], real_name="王老师")
    client = client_for(world.city_admin.user)
    a, b = world.teacher_a.user_id, world.teacher_b.user_id

    assert ids(client.get(TEACHERS, {"tier": plain_tier.pk})) == {plain.user_id}
    assert ids(client.get(TEACHERS, {"subject": world.math.pk})) == {a, b}
    assert ids(client.get(TEACHERS, {"subject": physics.pk})) == {plain.user_id}
    assert ids(client.get(TEACHERS, {"school": second_school.pk})) == {plain.user_id}
    assert ids(client.get(TEACHERS, {"county": world.county_a.pk})) == {a, plain.user_id}
    assert ids(client.get(TEACHERS, {"three_tier": "true"})) == {a, b}
    assert ids(client.get(TEACHERS, {"three_tier": "false"})) == {plain.user_id}
    assert ids(client.get(TEACHERS, {"name": "王"})) == {plain.user_id}
    # A county administrator's filters never reach beyond the county.
    assert ids(client_for(world.county_admin_a.user).get(TEACHERS, {"county": world.county_b.pk})) == set()


def test_studio_filter_through_current_memberships(world, client_for):
    from studios.services import membership_end
    from tests.studios.factories import add, make_studio, superuser

    studio = make_studio(host=world.teacher_a)
    member = TeacherFactory(school=world.school_b)
    former = TeacherFactory(school=world.school_b)
    add(studio, [member])
    (gone,) = add(studio, [former])
    membership_end(actor=superuser(), membership=gone, reason="resigned")
    elsewhere = TeacherFactory(school=world.school_a)
    add(make_studio(host=elsewhere, name="另一工作室"), [TeacherFactory(school=world.school_a)])

    got = ids(client_for(world.city_admin.user).get(TEACHERS, {"studio": studio.pk}))

    assert got == {world.teacher_a.user_id, member.user_id}


def test_meets_duty_filter_from_a_run(world, client_for):
    run = final_run(scheme(world.city), {world.teacher_a: True, world.teacher_b: False})
    client = client_for(world.city_admin.user)

    body = client.get(TEACHERS, {"run": run.pk}).json()
    assert {r["id"]: r["duties_met"] for r in body["results"]} == {
        world.teacher_a.user_id: True, world.teacher_b.user_id: False}
    assert ids(client.get(TEACHERS, {"run": run.pk, "meets_duty": "true"})) == {world.teacher_a.user_id}
    assert ids(client.get(TEACHERS, {"run": run.pk, "meets_duty": "false"})) == {world.teacher_b.user_id}
    assert client.get(TEACHERS).json()["results"][0]["duties_met"] is None


def test_meets_duty_needs_a_run_the_administrator_may_read(world, client_for):
    elsewhere = final_run(scheme(world.other_city), {})
    client = client_for(world.city_admin.user)
    no_run = client.get(TEACHERS, {"meets_duty": "true"})
    assert no_run.status_code == 400 and "run" in no_run.json()["error"]["fields"]
    foreign = client.get(TEACHERS, {"run": elsewhere.pk, "meets_duty": "true"})
    assert foreign.status_code == 400 and "run" in foreign.json()["error"]["fields"]


@pytest.mark.parametrize("params", [{"tier": "x"}, {"ordering": "salary"}, {"occurred_from": "2026-02-30"},
                                    {"studio": "-1"}, {"meets_duty": "perhaps"}])
def test_bad_review_filters_are_400(world, client_for, params):
    response = client_for(world.city_admin.user).get(TEACHERS, params)
    assert response.status_code == 400 and response.json()["error"]["fields"]


def test_the_list_costs_a_few_queries_for_30_teachers(world, client_for, django_assert_max_num_queries):
    client = client_for(world.city_admin.user)
    for teacher in [TeacherFactory(school=world.school_a, subjects=[world.math]) for _ in range(28)]:
        record(teacher, "answer_given", at(2026, 3, 1))
        record(teacher, "live_minutes", at(2026, 3, 2), quantity=30)

    with django_assert_max_num_queries(8):
        body = client.get(TEACHERS, {"page_size": 50, "occurred_from": "2026-01-01",
                                     "ordering": "-events"}).json()

    assert body["count"] == 30 and len(body["results"]) == 30
    assert body["results"][0]["event_count"] == 2
    assert len(body["results"][0]["units"]) == 2


def test_ordering_by_events(world, client_for):
    record(world.teacher_b, "answer_given", at(2026, 3, 1))
    body = client_for(world.city_admin.user).get(TEACHERS, {"ordering": "-events"}).json()
    assert [r["id"] for r in body["results"]] == [world.teacher_b.user_id, world.teacher_a.user_id]


# --- drill-down -----------------------------------------------------------------------------

def test_drill_down_to_a_teachers_evidence(world, client_for):
    event = record(world.teacher_a, "lecture_delivered", at(2026, 3, 1), source=world.school_a)
    body = client_for(world.county_admin_a.user).get(teacher_events(world.teacher_a.user_id)).json()
    assert [r["id"] for r in body["results"]] == [event.pk]
    assert body["results"][0]["evidence"]["type"] == "regions.school"
    assert body["results"][0]["flag_open"] is False


@pytest.mark.parametrize("admin", ["county_admin_b", "school_admin_b", "other_city_admin"])
def test_drill_down_out_of_scope_is_404(world, client_for, admin):
    record(world.teacher_a, "lecture_delivered", at(2026, 3, 1))
    response = client_for(getattr(world, admin).user).get(teacher_events(world.teacher_a.user_id))
    assert response.status_code == 404


def test_drill_down_of_someone_who_is_no_teacher_is_404(world, client_for):
    response = client_for(world.city_admin.user).get(teacher_events(world.student_a.user_id))
    assert response.status_code == 404


# --- flags ----------------------------------------------------------------------------------

def test_flag_flow_correct(world, client_for):
    event = record(world.teacher_a, "live_minutes", at(2026, 3, 1), quantity=120)
    admin = client_for(world.school_admin_a.user)

    created = admin.post(flag_event(event.pk), {"reason": "直播时长异常"})
    assert created.status_code == 201, created.json()
    flag = created.json()
    assert (flag["status"], flag["event"]["id"], flag["teacher"]["id"]) == ("open", event.pk,
                                                                            world.teacher_a.user_id)
    again = admin.post(flag_event(event.pk), {"reason": "再标"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_flagged"
    listed = client_for(world.county_admin_a.user).get(FLAGS, {"status": "open"}).json()
    assert [f["id"] for f in listed["results"]] == [flag["id"]]
    assert client_for(world.county_admin_a.user).get(teacher_events(world.teacher_a.user_id)).json()[
        "results"][0]["flag_open"] is True

    no_note = admin.post(resolve_flag(flag["id"]), {"decision": "correct"})
    assert no_note.status_code == 400 and "note" in no_note.json()["error"]["fields"]
    corrected = admin.post(resolve_flag(flag["id"]),
                           {"decision": "correct", "quantity": "60", "note": "按日志核定"})
    assert corrected.status_code == 200, corrected.json()
    body = corrected.json()
    assert body["status"] == "corrected" and body["compensating_event"]["quantity"] == "-60.00"
    compensating = ServiceEvent.objects.get(pk=body["compensating_event"]["id"])
    assert compensating.corrects_id == event.pk and compensating.reason == "按日志核定"
    assert compensating.idempotency_key == f"review:flag:{flag['id']}:correct"

    # Twice records once; the other decision is a conflict.
    assert admin.post(resolve_flag(flag["id"]), {"decision": "correct", "note": "再来"}).status_code == 200
    assert ServiceEvent.objects.filter(corrects=event).count() == 1
    assert admin.post(resolve_flag(flag["id"]), {"decision": "clear"}).status_code == 409

    history = EventFlag.objects.get(pk=flag["id"]).history.order_by("history_date")
    assert [(h.status, h.history_user_id) for h in history] == [
        ("open", world.school_admin_a.user_id), ("corrected", world.school_admin_a.user_id)]


def test_flag_flow_clear(world, client_for):
    event = record(world.teacher_b, "answer_given", at(2026, 3, 1))
    admin = client_for(world.county_admin_b.user)
    flag = admin.post(flag_event(event.pk), {"reason": "疑似代答"}).json()
    cleared = admin.post(resolve_flag(flag["id"]), {"decision": "clear", "note": "核实为本人"})
    assert cleared.status_code == 200 and cleared.json()["status"] == "cleared"
    assert cleared.json()["compensating_event"] is None
    assert ServiceEvent.objects.count() == 1
    assert admin.post(flag_event(event.pk), {"reason": "新线索"}).status_code == 201  # a new flag may follow


@pytest.mark.parametrize("admin", ["county_admin_b", "school_admin_b", "other_city_admin"])
def test_administrators_out_of_scope_cannot_flag_see_or_resolve(world, client_for, admin):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 1))
    flag = client_for(world.city_admin.user).post(flag_event(event.pk), {"reason": "疑似重复"}).json()
    client = client_for(getattr(world, admin).user)
    assert client.post(flag_event(event.pk), {"reason": "疑似重复"}).status_code == 404
    assert client.get(FLAGS).json()["count"] == 0
    assert client.get(f"{FLAGS}{flag['id']}/").status_code == 404
    assert client.post(resolve_flag(flag["id"]), {"decision": "correct", "note": "x"}).status_code == 404
    assert EventFlag.objects.get().status == "open" and ServiceEvent.objects.count() == 1


def test_a_flag_correction_in_a_finalized_period_is_refused(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2025, 3, 1))
    admin = client_for(world.county_admin_a.user)
    flag = admin.post(flag_event(event.pk), {"reason": "疑似重复"}).json()
    final_run(scheme(world.county_a, start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31)), {})
    response = admin.post(resolve_flag(flag["id"]), {"decision": "correct", "note": "重复"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "period_frozen"
    assert admin.post(resolve_flag(flag["id"]), {"decision": "clear"}).status_code == 200
    assert ServiceEvent.objects.count() == 1


def test_bad_flag_input_is_400(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 1))
    admin = client_for(world.county_admin_a.user)
    assert admin.post(flag_event(event.pk), {"reason": ""}).status_code == 400
    assert admin.post(flag_event(event.pk), {}).status_code == 400
    flag = admin.post(flag_event(event.pk), {"reason": "查"}).json()
    assert admin.post(resolve_flag(flag["id"]), {"decision": "delete"}).status_code == 400
    response = admin.post(resolve_flag(flag["id"]), {"decision": "correct", "note": "n", "quantity": "1"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "nothing_to_correct"
    assert admin.get(FLAGS, {"status": "nope"}).status_code == 400
    assert D(ServiceEvent.objects.get().quantity) == D("1.00")

"""A teacher's own service record: events with evidence, corrections, filters, progress."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from service_records.models import ServiceEvent
from service_records.review.evidence import evidence_url_register_route, evidence_url_unregister
from service_records.review.selectors import teacher_progress
from service_records.services import service_event_correct
from tests.factories import AdminFactory, TeacherFactory, TeacherTierFactory
from tests.service_records.review_factories import D, at, indicator, record, scheme

pytestmark = pytest.mark.django_db

MY_EVENTS = "/api/v1/service-records/me/events/"
MY_PROGRESS = "/api/v1/service-records/me/progress/"


def event_url(pk):
    return f"/api/v1/service-records/events/{pk}/"


@pytest.fixture
def school_evidence():
    evidence_url_register_route("regions.school", "school-detail")
    yield
    evidence_url_unregister("regions.school")


def test_my_events_are_mine_only_newest_first(world, client_for):
    older = record(world.teacher_a, "answer_given", at(2026, 3, 1))
    newer = record(world.teacher_a, "lecture_delivered", at(2026, 3, 2))
    record(world.teacher_b, "answer_given", at(2026, 3, 3))

    body = client_for(world.teacher_a.user).get(MY_EVENTS).json()

    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    assert body["results"][0]["kind"] == {"code": "lecture_delivered", "name": "讲座授课", "unit": "count"}
    assert body["results"][0]["teacher"]["id"] == world.teacher_a.user_id
    assert body["results"][0]["flag_open"] is None  # flags are the administrators' business


def test_an_event_links_to_its_evidence_through_the_registry(world, client_for, school_evidence):
    with_source = record(world.teacher_a, "outreach_session", at(2026, 4, 1), source=world.school_b)
    without = record(world.teacher_a, "answer_given", at(2026, 4, 2))

    rows = {r["id"]: r for r in client_for(world.teacher_a.user).get(MY_EVENTS).json()["results"]}

    assert rows[with_source.pk]["evidence"] == {
        "type": "regions.school", "id": str(world.school_b.pk),
        "url": f"http://testserver{reverse('school-detail', kwargs={'pk': world.school_b.pk})}",
    }
    assert rows[without.pk]["evidence"] is None


def test_evidence_of_an_unregistered_type_shows_type_and_id_without_url(world, client_for):
    event = record(world.teacher_a, "outreach_session", at(2026, 4, 1), source=world.city)
    row = client_for(world.teacher_a.user).get(event_url(event.pk)).json()
    assert row["evidence"] == {"type": "regions.region", "id": str(world.city.pk), "url": None}


def test_a_correction_shows_what_it_corrects_and_the_original_its_net(world, client_for):
    original = record(world.teacher_a, "live_minutes", at(2026, 5, 1), quantity=90)
    correction = service_event_correct(event=original, actor_id=world.city_admin.user_id,
                                       reason="重复记录", idempotency_key="fix:1", quantity=D("-30")).event

    rows = {r["id"]: r for r in client_for(world.teacher_a.user).get(MY_EVENTS).json()["results"]}

    assert rows[correction.pk]["corrects"] == {
        "id": original.pk, "sequence": original.sequence, "kind": "live_minutes",
        "occurred_at": rows[original.pk]["occurred_at"], "quantity": "90.00"}
    assert rows[correction.pk]["quantity"] == "-30.00"
    assert rows[correction.pk]["reason"] == "重复记录"
    assert rows[original.pk]["net_quantity"] == "60.00"
    assert rows[original.pk]["correction_count"] == 1
    assert rows[original.pk]["corrects"] is None


def test_filters_by_kind_days_and_period(world, client_for):
    city_scheme = scheme(world.city, start=datetime.date(2026, 3, 1), end=datetime.date(2026, 3, 31))
    feb = record(world.teacher_a, "answer_given", at(2026, 2, 28, 23))
    mar = record(world.teacher_a, "answer_given", at(2026, 3, 1, 0))
    mar_lecture = record(world.teacher_a, "lecture_delivered", at(2026, 3, 31, 23))
    apr = record(world.teacher_a, "answer_given", at(2026, 4, 1, 0))
    client = client_for(world.teacher_a.user)

    def ids(**params):
        return {row["id"] for row in client.get(MY_EVENTS, params).json()["results"]}

    assert ids(kind="answer_given") == {feb.pk, mar.pk, apr.pk}
    assert ids(occurred_from="2026-03-01", occurred_to="2026-03-31") == {mar.pk, mar_lecture.pk}
    assert ids(period=city_scheme.pk) == {mar.pk, mar_lecture.pk}
    assert ids(period=city_scheme.pk, kind="answer_given") == {mar.pk}
    assert ids(occurred_to="2026-02-28") == {feb.pk}


@pytest.mark.parametrize("params, field", [
    ({"kind": "no-such-kind"}, "kind"),
    ({"occurred_from": "2026-13-01"}, "occurred_from"),
    ({"occurred_from": "2026-03-02", "occurred_to": "2026-03-01"}, "occurred_to"),
    ({"period": "999999"}, "period"),
    ({"period": "abc"}, "period"),
])
def test_bad_filters_are_400_in_the_error_shape(world, client_for, params, field):
    response = client_for(world.teacher_a.user).get(MY_EVENTS, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_scheme_of_another_city_is_no_period_for_me(world, client_for):
    elsewhere = scheme(world.other_city)
    response = client_for(world.teacher_a.user).get(MY_EVENTS, {"period": elsewhere.pk})
    assert response.status_code == 400


def test_another_teachers_event_is_404(world, client_for):
    theirs = record(world.teacher_b, "answer_given", at(2026, 3, 3))
    response = client_for(world.teacher_a.user).get(event_url(theirs.pk))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_administrator_out_of_scope_gets_404_in_scope_gets_the_event(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    assert client_for(world.county_admin_b.user).get(event_url(event.pk)).status_code == 404
    assert client_for(world.school_admin_b.user).get(event_url(event.pk)).status_code == 404
    assert client_for(world.other_city_admin.user).get(event_url(event.pk)).status_code == 404
    row = client_for(world.school_admin_a.user).get(event_url(event.pk)).json()
    assert row["id"] == event.pk and row["flag_open"] is False


@pytest.mark.parametrize("url", [MY_EVENTS, MY_PROGRESS])
def test_students_and_administrators_have_no_record_of_their_own(world, client_for, url):
    for user in (world.student_a.user, world.county_admin_a.user):
        response = client_for(user).get(url)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_a_teacher"


def test_a_student_cannot_open_an_event(world, client_for):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 3))
    assert client_for(world.student_a.user).get(event_url(event.pk)).status_code == 403


def test_anonymous_is_refused(world, api_client):
    assert api_client.get(MY_EVENTS).status_code in (401, 403)


# --- progress ---------------------------------------------------------------------------------

def _this_year_scheme(region, **kw):
    today = timezone.localdate()
    return scheme(region, start=datetime.date(today.year, 1, 1), end=datetime.date(today.year, 12, 31), **kw)


def test_progress_credits_indicators_and_counts_toward_the_duty(world, client_for):
    made = _this_year_scheme(world.city)
    root = indicator(made, "A1", level="A", max_points="10")
    answers = indicator(made, "C1", parent=root, kinds=["answer_given"], credit="0.5", cap="1.5",
                        accepted="2")
    reports = indicator(made, "C2", parent=root, kinds=["member_report"], credit="1", minimum="2",
                        consequence="no_awards_and_grade_down")
    first = record(world.teacher_a, "answer_given", accepted=True)
    record(world.teacher_a, "answer_given", accepted=True)
    record(world.teacher_a, "member_report")
    record(world.teacher_b, "member_report", quantity=5)  # another teacher's service never counts

    body = client_for(world.teacher_a.user).get(MY_PROGRESS).json()

    assert body["scheme"]["id"] == made.pk and body["source"] == "estimate"
    by_code = {row["code"]: row for row in body["indicators"]}
    assert by_code["C1"]["units"] == "4.00"  # two accepted answers, weighted 2 each
    assert by_code["C1"]["points"] == "1.50" and by_code["C1"]["capped"] is True
    assert by_code["C2"]["units"] == "1.00" and by_code["C2"]["required_minimum"] == "2.00"
    assert by_code["C2"]["minimum_met"] is None  # one of two reports, the year is not over
    assert [b["status"] for b in by_code["C2"]["buckets"]] == ["open"]
    assert by_code["A1"]["points"] == "2.50" and by_code["A1"]["leaf"] is False
    assert body["points"] == "2.50" and body["duties_met"] is None

    # A cancelled accepted answer takes its whole weighted credit with it.
    service_event_correct(event=first, actor_id=world.city_admin.user_id, reason="误记",
                          idempotency_key="cancel:first")
    rows = client_for(world.teacher_a.user).get(MY_PROGRESS).json()["indicators"]
    by_code = {row["code"]: row for row in rows}
    assert by_code["C1"]["units"] == "2.00" and by_code["C1"]["points"] == "1.00"
    assert by_code["C1"]["capped"] is False
    assert (answers.pk, reports.pk) == (by_code["C1"]["id"], by_code["C2"]["id"])


def test_progress_prefers_the_county_scheme_and_respects_tiers(world, client_for):
    _this_year_scheme(world.city, code="city")
    county = _this_year_scheme(world.county_a, code="county")
    body = client_for(world.teacher_a.user).get(MY_PROGRESS).json()
    assert body["scheme"]["id"] == county.pk

    plain = TeacherFactory(school=world.school_a, tier=TeacherTierFactory(code="none", is_three_tier=False))
    body = client_for(plain.user).get(MY_PROGRESS).json()
    assert body["scheme"] is None and body["indicators"] == []


def test_progress_of_a_past_month_duty_is_missed_the_current_open_the_next_upcoming(world):
    made = scheme(world.city, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31))
    desk = indicator(made, "C1", level="A", kinds=["duty_minutes"], credit="0.01", minimum="60", per="month")
    record(world.teacher_a, "duty_minutes", at(2026, 1, 10), quantity=60)
    record(world.teacher_a, "duty_minutes", at(2026, 2, 10), quantity=30)
    record(world.teacher_a, "duty_minutes", at(2026, 3, 10), quantity=20)

    progress = teacher_progress(teacher=world.teacher_a, scheme=made, as_of=datetime.date(2026, 3, 15))

    row = next(p for p in progress.indicators if p.indicator.pk == desk.pk)
    statuses = [(b.start.month, b.status, b.units) for b in row.buckets[:4]]
    assert statuses == [(1, "met", D("60.00")), (2, "missed", D("30.00")), (3, "open", D("20.00")),
                        (4, "upcoming", D("0.00"))]
    assert row.minimum_met is False and progress.duties_met is False


def test_progress_for_a_chosen_period(world, client_for):
    made = scheme(world.city, start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31), code="y25")
    indicator(made, "C1", level="A", kinds=["lecture_delivered"], credit="3")
    record(world.teacher_a, "lecture_delivered", at(2025, 6, 1))
    record(world.teacher_a, "lecture_delivered", at(2026, 6, 1))  # outside the period

    body = client_for(world.teacher_a.user).get(MY_PROGRESS, {"period": made.pk}).json()

    assert body["as_of"] == "2025-12-31"
    assert body["points"] == "3.00"


def test_an_administrator_who_also_teaches_sees_only_their_own_events_here(world, client_for):
    AdminFactory(user=world.teacher_a.user, level="school", school=world.school_a)
    record(world.teacher_b, "answer_given", at(2026, 3, 3))
    mine = record(world.teacher_a, "answer_given", at(2026, 3, 4))
    body = client_for(world.teacher_a.user).get(MY_EVENTS).json()
    assert [row["id"] for row in body["results"]] == [mine.pk]
    assert ServiceEvent.objects.count() == 2


def test_the_estimate_agrees_with_the_assessment_and_a_final_run_replaces_it(world, client_for):
    from service_records.assessment.selectors import result_scores
    from service_records.assessment.services import assessment_run_compute, assessment_run_finalize

    made = scheme(world.city, start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31), code="y25")
    service = indicator(made, "A1", level="A", max_points="12")
    answers = indicator(made, "C1", parent=service, kinds=["answer_given", "answer_accepted"], credit="0.5",
                        cap="8", accepted="2", low_below="3", low="0.5")
    desk = indicator(made, "C2", parent=service, kinds=["duty_minutes"], credit="0.05", minimum="60",
                     per="term", consequence="no_awards_and_grade_down")
    indicator(made, "A2", level="A", kinds=["lecture_delivered"], credit="5", cap="10")
    t = world.teacher_a
    for day in range(1, 8):
        record(t, "answer_given", at(2025, 3, day), accepted=day % 2 == 0,
               rating=D("2.5") if day == 3 else None)
    wrong = record(t, "answer_given", at(2025, 4, 1), accepted=True)
    service_event_correct(event=wrong, actor_id=world.city_admin.user_id, reason="误记",
                          idempotency_key="w")
    record(t, "duty_minutes", at(2025, 3, 1), quantity=90)
    record(t, "duty_minutes", at(2025, 9, 1), quantity=30)  # the autumn term falls short
    record(t, "lecture_delivered", at(2025, 5, 1), quantity=3)

    estimate = teacher_progress(teacher=t, scheme=made, as_of=datetime.date(2026, 1, 5))
    run = assessment_run_compute(scheme=made)
    result = run.results.get(teacher=t.user)
    official = {row["indicator"]: row for row in result_scores(result)}

    for item in estimate.indicators:
        row = official[item.indicator.pk]
        assert (item.points, item.capped) == (row["points"], row["capped"]), item.indicator.code
        if item.leaf:
            assert (item.units, item.minimum_met) == (row["units"], row["minimum_met"]), \
                item.indicator.code
    # C1: 9.5 weighted answers (3 accepted ×2, one low-rated ×½; the cancelled one nets 0) → 4.75;
    # C2: 120 minutes → 6.00; A1: 10.75; A2: 15 capped at 10.
    assert (estimate.points, estimate.duties_met) == (result.points, result.duties_met) == (D("20.75"), False)
    assert estimate.source == "estimate"
    desk_row = next(p for p in estimate.indicators if p.indicator.pk == desk.pk)
    assert [b.status for b in desk_row.buckets] == ["met", "missed"]

    assessment_run_finalize(run=run, actor=world.city_admin.user)
    body = client_for(t.user).get(MY_PROGRESS, {"period": made.pk}).json()
    assert (body["source"], body["run"], body["grade"]) == ("assessment", run.pk, result.grade)
    assert body["points"] == "20.75" and body["duties_met"] is False
    by_id = {row["id"]: row for row in body["indicators"]}
    assert by_id[answers.pk]["points"] == official[answers.pk]["points"].to_eng_string()
    assert [b["status"] for b in by_id[desk.pk]["buckets"]] == ["met", "missed"]


def test_studio_events_link_to_the_studio(world, client_for):
    from tests.studios.factories import make_studio

    studio = make_studio(host=world.teacher_a)
    event = record(world.teacher_a, "studio_activity", at(2026, 3, 1), source=studio)
    row = client_for(world.teacher_a.user).get(event_url(event.pk)).json()
    assert row["evidence"]["url"] == f"http://testserver{reverse('studio-detail', kwargs={'pk': studio.pk})}"

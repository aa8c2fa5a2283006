"""Computing assessment runs on hand-made ledgers: weights, caps, duties, consequences,
reproducibility, set-based SQL, finalization and frozen periods."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.errors import Conflict, Forbidden, ServiceError
from service_records.assessment.selectors import (
    period_is_frozen,
    result_scores,
    teacher_period_is_frozen,
)
from service_records.assessment.services import (
    assessment_run_compute,
    assessment_run_finalize,
    assessment_run_materialize,
    scheme_new_version,
)
from service_records.models import AssessmentResult, AssessmentRun, IndicatorScore
from service_records.selectors import ledger_digest
from service_records.services import service_event_correct
from tests.factories import SchoolFactory, TeacherFactory, TeacherTierFactory
from tests.service_records.assessment_support import (
    D,
    at,
    duty,
    leaf,
    node,
    published_scheme,
    record,
    results_by_teacher,
    scores_of,
)

pytestmark = pytest.mark.django_db


def answers_scheme(region, **kw):
    return published_scheme(region, [node("A1", "A", [
        leaf("C1", ["answer_given"], "1", level="B", cap="10.00", accepted="2.00", low_below="3.00",
             low="0.50"),
    ])], **kw)


def test_quality_weights_and_the_cap_per_period(world):
    scheme = answers_scheme(world.city)
    a, b = world.teacher_a, world.teacher_b
    for day in (1, 2, 3):
        record(a, "answer_given", at(2026, 3, day), accepted=True)        # 3 x 2
    record(a, "answer_given", at(2026, 3, 4), rating=D("2.50"))           # 0.5
    record(a, "answer_given", at(2026, 3, 5), rating=D("3.00"))           # 1: not below 3
    record(a, "answer_given", at(2026, 3, 6), accepted=True, rating=D("1"))  # 2 x 0.5 = 1
    record(a, "answer_given", at(2026, 3, 7), quantity=0)                 # nothing
    for day in range(1, 13):
        record(b, "answer_given", at(2026, 4, day))                      # 12, capped at 10

    run = assessment_run_compute(scheme=scheme)

    results = results_by_teacher(run)
    score_a = scores_of(results[a.user_id])["C1"]
    assert (score_a.units, score_a.points, score_a.capped) == (D("8.50"), D("8.50"), False)
    score_b = scores_of(results[b.user_id])["C1"]
    assert (score_b.units, score_b.points, score_b.capped) == (D("12.00"), D("10.00"), True)
    assert results[b.user_id].points == D("10.00")
    assert score_a.minimum_met is None  # not a duty


def test_ancestors_max_points_cap_their_subtrees(world):
    scheme = published_scheme(world.city, [
        node("A1", "A", [
            node("B1", "B", [
                leaf("C1", ["lecture_delivered"], "5", cap="10.00"),
                leaf("C2", ["live_minutes"], "0.1"),
            ], max_points="12.00"),
            node("B2", "B", [leaf("C3", ["question_authored"], "1", max_points="3.00")]),
        ], max_points="14.00"),
        node("A2", "A", [node("B3", "B", [leaf("C4", ["question_reviewed"], "2")])]),
    ])
    t = world.teacher_a
    record(t, "lecture_delivered", at(2026, 5, 1), quantity=3)   # 15 -> cap 10
    record(t, "live_minutes", at(2026, 5, 1), quantity=45)       # 4.5; B1 = 14.5 -> 12
    record(t, "question_authored", at(2026, 5, 2), quantity=4)   # 4 -> leaf max 3; A1 = 15 -> 14
    record(t, "question_reviewed", at(2026, 5, 3), quantity=2)   # 4

    run = assessment_run_compute(scheme=scheme)

    result = results_by_teacher(run)[t.user_id]
    assert result.points == D("18.00")  # min(12 + 3, 14) + 4
    breakdown = {row["code"]: row for row in result_scores(result)}
    assert breakdown["C1"]["points"] == D("10.00") and breakdown["C1"]["capped"]
    assert breakdown["C3"]["points"] == D("3.00") and breakdown["C3"]["capped"]
    assert breakdown["B1"]["points"] == D("12.00") and breakdown["B1"]["capped"]
    assert breakdown["A1"]["points"] == D("14.00") and breakdown["A1"]["capped"]
    assert breakdown["A2"]["points"] == D("4.00") and not breakdown["A2"]["capped"]
    assert [row["code"] for row in result_scores(result)] == [
        "A1", "B1", "C1", "C2", "B2", "C3", "A2", "B3", "C4"]


def research_scheme(region, consequence="no_awards_and_grade_down", **kw):
    return published_scheme(region, [node("A1", "A", [
        leaf("C1", ["answer_given"], "10", level="B"),
        leaf("C2", ["research_lesson"], "5", level="B", duty=duty(1, "term", consequence)),
    ])], **kw)


def test_a_research_lesson_each_term_of_a_calendar_year(world):
    scheme = research_scheme(world.city)
    spring_only, both, january_and_autumn = (
        world.teacher_a, world.teacher_b, TeacherFactory(school=world.school_a))
    for t in (spring_only, both, january_and_autumn):
        for day in range(1, 9):  # 80 points: excellent by points
            record(t, "answer_given", at(2026, 6, day))
    record(spring_only, "research_lesson", at(2026, 3, 10))
    record(both, "research_lesson", at(2026, 3, 10))
    record(both, "research_lesson", at(2026, 10, 10))
    # January is the tail of the autumn term 2025: too short a bucket, it joins the spring term.
    record(january_and_autumn, "research_lesson", at(2026, 1, 15))
    record(january_and_autumn, "research_lesson", at(2026, 12, 31, 23))

    results = results_by_teacher(assessment_run_compute(scheme=scheme))

    missed = results[spring_only.user_id]
    assert missed.points == D("85.00") and missed.grade_by_points == "excellent"
    assert (missed.duties_met, missed.missed_duties) == (False, ["C2"])
    assert missed.grade == "qualified" and missed.awards_eligible is False
    assert scores_of(missed)["C2"].minimum_met is False
    for t in (both, january_and_autumn):
        result = results[t.user_id]
        assert (result.duties_met, result.missed_duties, result.grade, result.awards_eligible) == (
            True, [], "excellent", True)
        assert scores_of(result)["C2"].minimum_met is True


def test_answer_desk_minutes_every_month(world):
    scheme = published_scheme(world.city, [node("A1", "A", [
        leaf("C1", ["duty_minutes"], "0.5", level="B",
             duty=duty(60, "month", "grade_down")),
    ])], start="2026-01-01", end="2026-03-31", excellent="80.00", qualified="50.00")
    short_in_march, split_in_march, corrected = (
        world.teacher_a, world.teacher_b, TeacherFactory(school=world.school_a))
    for t in (short_in_march, split_in_march, corrected):
        record(t, "duty_minutes", at(2026, 1, 5), quantity=60)
        record(t, "duty_minutes", at(2026, 2, 28, 23), quantity=100)
    record(short_in_march, "duty_minutes", at(2026, 3, 31, 23), quantity=59)
    record(short_in_march, "duty_minutes", at(2026, 4, 1, 0), quantity=30)  # April: outside the period
    record(split_in_march, "duty_minutes", at(2026, 3, 1, 0), quantity=30)
    record(split_in_march, "duty_minutes", at(2026, 3, 20), quantity=30)
    wrong = record(corrected, "duty_minutes", at(2026, 3, 3), quantity=80)
    service_event_correct(event=wrong, actor_id=world.county_admin_a.user_id, reason="double-counted shift",
                          idempotency_key="fix:1", quantity=D("-40"))

    results = results_by_teacher(assessment_run_compute(scheme=scheme))

    short = results[short_in_march.user_id]
    assert scores_of(short)["C1"].units == D("219.00")
    assert short.points == D("109.50") and short.grade_by_points == "excellent"
    assert (short.duties_met, short.grade, short.awards_eligible) == (False, "qualified", True)
    ok = results[split_in_march.user_id]
    assert (ok.duties_met, ok.grade) == (True, "excellent")
    fixed = results[corrected.user_id]
    assert scores_of(fixed)["C1"].units == D("200.00")
    assert fixed.duties_met is False  # March: 80 - 40 = 40 < 60


def test_member_reports_per_year_and_consequence_kinds(world):
    scheme = published_scheme(world.city, [node("A1", "A", [
        leaf("C1", ["answer_given"], "1", level="B"),
        leaf("R", ["member_report"], "1", level="B", duty=duty(2, "year", "no_awards")),
        leaf("L", ["research_lesson"], "1", level="B", duty=duty(1, "period", "grade_down")),
        leaf("O", ["outreach_session"], "1", level="B", duty=duty(1, "period", "grade_down")),
        leaf("S", ["studio_activity"], "1", level="B", duty=duty(1, "period", "none")),
    ])], excellent="20.00", qualified="10.00")
    no_awards, two_down, only_note, all_met = (
        world.teacher_a, world.teacher_b, TeacherFactory(school=world.school_a),
        TeacherFactory(school=world.school_b))
    for t in (no_awards, two_down, only_note, all_met):
        record(t, "answer_given", at(2026, 2, 1), quantity=25)
    record(no_awards, "member_report", at(2026, 5, 1))
    for t in (two_down, only_note, all_met):
        record(t, "member_report", at(2026, 5, 1))
        record(t, "member_report", at(2026, 11, 1))
    for t in (no_awards, only_note, all_met):
        record(t, "research_lesson", at(2026, 5, 1))
        record(t, "outreach_session", at(2026, 5, 1))
    record(no_awards, "studio_activity", at(2026, 5, 2))
    record(all_met, "studio_activity", at(2026, 5, 2))

    results = results_by_teacher(assessment_run_compute(scheme=scheme))

    r = results[no_awards.user_id]
    assert (r.missed_duties, r.grade, r.awards_eligible) == (["R"], "excellent", False)
    r = results[two_down.user_id]  # two duties missed with grade_down: one level lower, once
    assert (r.missed_duties, r.grade_by_points, r.grade, r.awards_eligible) == (
        ["L", "O", "S"], "excellent", "qualified", True)
    r = results[only_note.user_id]
    assert (r.missed_duties, r.duties_met, r.grade, r.awards_eligible) == (["S"], False, "excellent", True)
    r = results[all_met.user_id]
    assert (r.missed_duties, r.duties_met, r.grade, r.awards_eligible) == ([], True, "excellent", True)


def test_a_teacher_without_service_misses_every_duty(world):
    scheme = research_scheme(world.city, qualified="0.00")
    run = assessment_run_compute(scheme=scheme)
    result = results_by_teacher(run)[world.teacher_a.user_id]
    assert (result.points, result.grade_by_points, result.grade) == (D("0.00"), "qualified", "unqualified")
    assert (result.missed_duties, result.awards_eligible) == (["C2"], False)
    assert {code: (s.units, s.minimum_met) for code, s in scores_of(result).items()} == {
        "C1": (D("0.00"), None), "C2": (D("0.00"), False)}


def test_who_is_assessed_and_what_counts(world):
    scheme = answers_scheme(world.city)
    untiered = TeacherFactory(school=world.school_a, tier=None)
    not_three_tier = TeacherFactory(school=world.school_a, tier=TeacherTierFactory(
        code="ordinary", name="普通", rank=9, is_three_tier=False))
    elsewhere = TeacherFactory(school=world.other_school)
    inactive = TeacherFactory(school=world.school_a)
    inactive.user.is_active = False
    inactive.user.save()
    for t in (world.teacher_a, untiered, not_three_tier, elsewhere, inactive):
        record(t, "answer_given", at(2026, 6, 1))
    record(world.teacher_a, "answer_given", at(2025, 12, 31, 23, ))  # before the period
    record(world.teacher_a, "answer_given", at(2027, 1, 1, 0))       # after it
    record(world.teacher_a, "lecture_delivered", at(2026, 6, 1))     # a kind the scheme ignores

    run = assessment_run_compute(scheme=scheme)

    assert set(results_by_teacher(run)) == {world.teacher_a.user_id, world.teacher_b.user_id}
    assert run.teacher_count == 2
    assert scores_of(results_by_teacher(run)[world.teacher_a.user_id])["C1"].units == D("1.00")


def test_a_scheme_for_named_tiers_and_a_run_for_one_county(world):
    backbone = TeacherTierFactory(code="city-backbone", name="市学科骨干", rank=2)
    scheme = answers_scheme(world.city, tiers=["city-backbone"])
    in_a = TeacherFactory(school=world.school_a, tier=backbone)
    in_b = TeacherFactory(school=world.school_b, tier=backbone)

    city_run = assessment_run_compute(scheme=scheme)
    county_run = assessment_run_compute(scheme=scheme, region=world.county_a)

    assert set(results_by_teacher(city_run)) == {in_a.user_id, in_b.user_id}
    assert set(results_by_teacher(county_run)) == {in_a.user_id}
    with pytest.raises(ServiceError) as refused:
        assessment_run_compute(scheme=scheme, region=world.other_county)
    assert refused.value.code == "region_outside_scheme"


def test_a_correction_cancels_the_weighted_credit_of_its_event(world):
    scheme = answers_scheme(world.city)
    t = world.teacher_a
    accepted = record(t, "answer_given", at(2026, 3, 1), accepted=True)
    low = record(t, "answer_given", at(2026, 3, 2), rating=D("1.00"))
    record(t, "answer_given", at(2026, 3, 3))
    for n, event in enumerate((accepted, low)):
        service_event_correct(event=event, actor_id=world.city_admin.user_id, reason="spam",
                              idempotency_key=f"c{n}")

    run = assessment_run_compute(scheme=scheme)

    assert scores_of(results_by_teacher(run)[t.user_id])["C1"].units == D("1.00")


def snapshot(run):
    return (
        sorted(run.results.values_list("teacher_id", "points", "duties_met", "missed_duties",
                                       "grade_by_points", "grade", "awards_eligible")),
        sorted((result.teacher_id, code, s.units, s.points, s.capped, s.minimum_met)
               for result in run.results.all() for code, s in scores_of(result).items()),
    )


def test_recomputing_an_unchanged_ledger_gives_identical_results(world):
    scheme = research_scheme(world.city)
    for n, t in enumerate([world.teacher_a, world.teacher_b]):
        record(t, "answer_given", at(2026, 2, 1), quantity=3 + n)
        record(t, "research_lesson", at(2026, 9, 1))
    first = assessment_run_compute(scheme=scheme)
    second = assessment_run_compute(scheme=scheme)

    assert first.ledger_digest == second.ledger_digest == ledger_digest()
    assert first.scheme_id == second.scheme_id and first.scheme.version == 1
    assert snapshot(first) == snapshot(second)

    record(world.teacher_a, "research_lesson", at(2026, 3, 1))
    third = assessment_run_compute(scheme=scheme)
    assert third.ledger_digest != first.ledger_digest
    assert snapshot(third) != snapshot(first)


def test_the_computation_is_set_based(world):
    """The same number of queries for 10 teachers and for 200: no query per teacher."""
    scheme = research_scheme(world.city)
    counts = []
    school = SchoolFactory(county=world.county_a)
    for new in (10, 190):  # the world's two teachers, then 12 and 202 in all
        teachers = [TeacherFactory(school=school) for _ in range(new)]
        for n, t in enumerate(teachers):
            record(t, "answer_given", at(2026, 2, 1), quantity=n % 7, accepted=n % 3 == 0)
            record(t, "research_lesson", at(2026, 3 + n % 9, 1))
        with CaptureQueriesContext(connection) as queries:
            run = assessment_run_compute(scheme=scheme)
        counts.append((len(queries), run.teacher_count))
    (small, small_teachers), (large, large_teachers) = counts
    assert (small_teachers, large_teachers) == (12, 202)
    assert small == large


def test_the_computation_stays_within_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    scheme = research_scheme(world.city)
    for t in [TeacherFactory(school=world.school_b) for _ in range(30)]:
        record(t, "answer_given", at(2026, 2, 1))
    with django_assert_max_num_queries(16):
        assessment_run_compute(scheme=scheme)


# --- finalizing and frozen periods -----------------------------------------------------------

def test_finalizing_freezes_the_period(world):
    scheme = research_scheme(world.city)
    record(world.teacher_a, "research_lesson", at(2026, 3, 1))
    other = assessment_run_compute(scheme=scheme)
    run = assessment_run_compute(scheme=scheme)
    before = snapshot(run)
    assert not period_is_frozen(world.county_a, at(2026, 5, 1))

    run = assessment_run_finalize(run=run, actor=world.city_admin.user)

    assert run.status == AssessmentRun.Status.FINAL and run.finalized_by == world.city_admin.user
    other.refresh_from_db()
    assert other.status == AssessmentRun.Status.SUPERSEDED
    assert period_is_frozen(world.county_a, at(2026, 5, 1))
    assert period_is_frozen(world.city, datetime.date(2026, 12, 31))
    assert period_is_frozen(world.county_b.pk, at(2026, 1, 1, 0))
    assert not period_is_frozen(world.county_a, at(2027, 1, 1, 0))
    assert not period_is_frozen(world.other_county, at(2026, 5, 1))
    assert teacher_period_is_frozen(teacher_id=world.teacher_b.user_id, when=at(2026, 7, 1))
    with pytest.raises(Conflict) as refused:
        assessment_run_compute(scheme=scheme)
    assert refused.value.code == "period_frozen"
    with pytest.raises(Conflict):
        scheme_new_version(scheme=scheme, actor=world.city_admin.user)
    with pytest.raises(Conflict):
        assessment_run_finalize(run=other, actor=world.city_admin.user)
    # Late service and a correction dated in the frozen period are recorded in the ledger (no
    # evidence is lost) but never change the snapshot (docs/assessment.md, "after a period is frozen").
    late = record(world.teacher_a, "research_lesson", at(2026, 4, 1))
    service_event_correct(event=late, actor_id=world.city_admin.user.pk, reason="recorded twice",
                          idempotency_key="frozen:fix")
    assert late.corrections.count() == 1
    assert snapshot(run) == before


def test_finalizing_is_refused_to_those_outside_the_schemes_region(world):
    scheme = research_scheme(world.city)
    run = assessment_run_compute(scheme=scheme)
    for actor in (world.teacher_a.user, world.county_admin_a.user, world.school_admin_a.user,
                  world.other_city_admin.user):
        with pytest.raises(Forbidden):
            assessment_run_finalize(run=run, actor=actor)
    run.refresh_from_db()
    assert run.status == AssessmentRun.Status.COMPUTED


def test_computing_is_refused_outside_the_actors_scope(world):
    scheme = research_scheme(world.city)
    with pytest.raises(Forbidden):
        assessment_run_compute(scheme=scheme, actor=world.teacher_a.user)
    with pytest.raises(Forbidden):
        assessment_run_compute(scheme=scheme, actor=world.county_admin_a.user)  # the whole city
    with pytest.raises(Forbidden):
        assessment_run_compute(scheme=scheme, region=world.county_b, actor=world.county_admin_a.user)
    run = assessment_run_compute(scheme=scheme, region=world.county_a, actor=world.county_admin_a.user)
    assert set(results_by_teacher(run)) == {world.teacher_a.user_id}
    with pytest.raises(Conflict) as refused:  # a county's run is not the city's snapshot
        assessment_run_finalize(run=run, actor=world.city_admin.user)
    assert refused.value.code == "run_partial_region"
    assert not AssessmentRun.objects.filter(status="final").exists()


def test_a_run_missing_later_recorded_service_is_not_finalized(world):
    scheme = research_scheme(world.city)
    run = assessment_run_compute(scheme=scheme)
    record(world.teacher_a, "research_lesson", at(2026, 3, 1))  # recorded after the run, dated inside
    with pytest.raises(Conflict) as refused:
        assessment_run_finalize(run=run, actor=world.city_admin.user)
    assert refused.value.code == "run_stale"
    fresh = assessment_run_compute(scheme=scheme)
    assert assessment_run_finalize(run=fresh, actor=world.city_admin.user).status == "final"


def test_a_draft_or_retired_scheme_is_not_computed(world):
    scheme = research_scheme(world.city)
    stale_run = assessment_run_compute(scheme=scheme)
    draft = scheme_new_version(scheme=scheme, actor=world.city_admin.user)
    with pytest.raises(Conflict):
        assessment_run_compute(scheme=draft)
    from service_records.assessment.services import scheme_publish

    scheme_publish(scheme=draft, actor=world.city_admin.user)
    scheme.refresh_from_db()
    stale_run.refresh_from_db()
    assert (scheme.status, stale_run.status) == ("retired", "superseded")
    with pytest.raises(Conflict):
        assessment_run_compute(scheme=scheme)
    with pytest.raises(Conflict):
        assessment_run_finalize(run=stale_run, actor=world.city_admin.user)
    assert assessment_run_compute(scheme=draft).scheme.version == 2


# --- drill-down rows: derived, materialized, verified ----------------------------------------

def test_finalizing_writes_the_drill_down_rows_the_run_derived(world, eager_tasks,
                                                               django_capture_on_commit_callbacks):
    scheme = research_scheme(world.city)
    for n, t in enumerate([world.teacher_a, world.teacher_b]):
        record(t, "answer_given", at(2026, 2, 1), quantity=2 + n)
        record(t, "research_lesson", at(2026, 3 + 6 * n, 1))
    run = assessment_run_compute(scheme=scheme, materialize=False)
    assert not IndicatorScore.objects.filter(result__run=run).exists()
    derived = snapshot(run)

    record(world.teacher_a, "research_lesson", at(2026, 10, 1))  # after the snapshot: not counted
    assert snapshot(run) == derived
    with pytest.raises(Conflict):  # ... but the run no longer holds all the period's service
        assessment_run_finalize(run=run, actor=world.city_admin.user)
    run = assessment_run_compute(scheme=scheme, materialize=False)
    derived = snapshot(run)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_run_finalize(run=run, actor=world.city_admin.user)

    stored = IndicatorScore.objects.filter(result__run=run)
    assert stored.count() == 4
    assert snapshot(run) == derived
    assert sorted(stored.values_list("result__teacher_id", "indicator__code", "units")) == [
        (world.teacher_a.user_id, "C1", D("2.00")), (world.teacher_a.user_id, "C2", D("2.00")),
        (world.teacher_b.user_id, "C1", D("3.00")), (world.teacher_b.user_id, "C2", D("1.00"))]


def test_a_run_whose_results_do_not_match_the_ledger_is_not_finalized(world):
    scheme = research_scheme(world.city)
    record(world.teacher_a, "answer_given", at(2026, 2, 1))
    run = assessment_run_compute(scheme=scheme)
    AssessmentResult.objects.filter(run=run, teacher=world.teacher_a.user).update(points=D("99.00"))
    with pytest.raises(Conflict) as refused:
        assessment_run_finalize(run=run, actor=world.city_admin.user)
    assert refused.value.code == "run_stale"


@pytest.fixture
def eager_tasks():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True  # also with a broker (REDIS_URL) in the test run
    yield
    app.conf.task_always_eager = before


def test_the_drill_down_rows_are_written_after_commit(world, eager_tasks, django_capture_on_commit_callbacks):
    scheme = research_scheme(world.city)
    record(world.teacher_a, "answer_given", at(2026, 2, 1))
    with django_capture_on_commit_callbacks(execute=True):
        run = assessment_run_compute(scheme=scheme)
    assert IndicatorScore.objects.filter(result__run=run).count() == 1
    assert assessment_run_materialize(run=run) == 0  # idempotent
    with pytest.raises(Forbidden):
        assessment_run_materialize(run=run, actor=world.county_admin_a.user)

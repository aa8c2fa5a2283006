"""Incentives: rules as data turned into outcomes when a run is finalized, from the studio
roles held during the period; the payout list for the finance office."""

import datetime
from decimal import Decimal

import pytest

from common.errors import Conflict
from service_records.assessment.selectors import PAYOUT_COLUMNS, payout_rows, rules_for_run
from service_records.assessment.services import (
    assessment_run_compute,
    assessment_run_finalize,
    incentive_outcomes_create,
    incentive_rules_seed,
)
from studios.models import Membership
from tests.factories import TeacherFactory
from tests.service_records.assessment_support import at, duty, leaf, node, published_scheme, record
from tests.studios.factories import make_studio

pytestmark = pytest.mark.django_db
PASSING = ["excellent", "qualified"]
JAN1 = datetime.date(2026, 1, 1)
RULES = [
    {"code": "studio-host-stipend", "name": "主持人劳务补贴", "role": "studio_host", "grades": PASSING,
     "stipend": Decimal("10000.00"), "valid_from": JAN1},
    {"code": "studio-member-stipend", "name": "成员劳务补贴", "role": "studio_member", "grades": PASSING,
     "stipend": Decimal("5000.00"), "valid_from": JAN1},
    {"code": "assessed-passing", "name": "合格及以上", "role": "any_teacher", "grades": PASSING,
     "stipend": Decimal("0"), "valid_from": JAN1},
    {"code": "assessed-unqualified", "name": "不合格", "role": "any_teacher", "grades": ["unqualified"],
     "stipend": Decimal("0"), "awards_eligible": False, "title_review_eligible": False, "valid_from": JAN1},
]


def scheme_for(region):
    return published_scheme(region, [node("A1", "A", [
        leaf("B1", ["answer_given"], "10", level="B"),
        leaf("B2", ["research_lesson"], "1", level="B", duty=duty(1, "period")),
    ])], excellent="80.00", qualified="50.00")


def member(studio, teacher, role="member", joined=datetime.date(2025, 9, 1), left=None):
    return Membership.objects.create(studio=studio, teacher=teacher, role=role, joined_on=joined,
                                     left_on=left, left_reason="resigned" if left else "")


def serve(teacher, answers, lesson=True):
    record(teacher, "answer_given", at(2026, 3, 1), quantity=answers)
    if lesson:
        record(teacher, "research_lesson", at(2026, 4, 1))


def outcomes(run):
    return {(o.teacher_id, o.rule.code, o.studio_name): o for o in run.incentives.select_related("rule")}


def test_stipends_follow_grades_and_the_studio_roles_held_in_the_period(world):
    incentive_rules_seed(region=world.city, rules=RULES)
    scheme = scheme_for(world.city)
    host = world.teacher_a
    studio = make_studio(host=host, name="甲名师工作室")
    other_studio = make_studio(host=TeacherFactory(school=world.school_b), name="乙名师工作室")
    in_two, left_2025, left_in_may, trainee, failing_host = (
        TeacherFactory(school=world.school_b) for _ in range(5))
    member(studio, in_two)
    member(other_studio, in_two, joined=datetime.date(2026, 6, 1))
    member(studio, left_2025, left=datetime.date(2025, 12, 31))
    member(studio, left_in_may, left=datetime.date(2026, 5, 31))
    member(other_studio, trainee, role="trainee")
    failing = make_studio(host=failing_host, name="丙名师工作室")
    # A member of 乙 who became its host in June is paid once, as its host.
    promoted_host = TeacherFactory(school=world.school_b)
    member(other_studio, promoted_host, left=datetime.date(2026, 5, 31))
    Membership.objects.filter(studio=other_studio, role="host").update(
        left_on=datetime.date(2026, 5, 31), left_reason="host_replaced")
    member(other_studio, promoted_host, role="host", joined=datetime.date(2026, 6, 1))
    for t in (host, in_two, left_2025, left_in_may, trainee, promoted_host):
        serve(t, answers=6)
    serve(failing_host, answers=2)

    run = assessment_run_finalize(run=assessment_run_compute(scheme=scheme), actor=world.city_admin.user)

    got = outcomes(run)
    paid = {(t, code, studio_name): o.amount for (t, code, studio_name), o in got.items() if o.amount}
    assert paid == {
        (host.user_id, "studio-host-stipend", "甲名师工作室"): Decimal("10000.00"),
        (in_two.user_id, "studio-member-stipend", "甲名师工作室"): Decimal("5000.00"),
        (in_two.user_id, "studio-member-stipend", "乙名师工作室"): Decimal("5000.00"),
        (left_in_may.user_id, "studio-member-stipend", "甲名师工作室"): Decimal("5000.00"),
        (promoted_host.user_id, "studio-host-stipend", "乙名师工作室"): Decimal("10000.00"),
    }
    assert (failing_host.user_id, "assessed-unqualified", "") in got
    assert not any(key[0] == failing_host.user_id and key[1] == "studio-host-stipend" for key in got)
    assert got[(failing_host.user_id, "assessed-unqualified", "")].awards_eligible is False
    assert got[(failing_host.user_id, "assessed-unqualified", "")].title_review_eligible is False
    assert all(isinstance(o.amount, Decimal) for o in got.values())
    explanation = got[(host.user_id, "studio-host-stipend", "甲名师工作室")].explanation
    assert f"#{run.pk}" in explanation and "studio-host-stipend" in explanation
    assert "甲名师工作室" in explanation and "10000.00" in explanation and "61.00" in explanation
    assert failing.name not in {o.studio_name for o in got.values()}


def test_a_missed_duty_loses_award_eligibility_but_not_a_passing_stipend(world):
    incentive_rules_seed(region=world.city, rules=RULES)
    scheme = scheme_for(world.city)
    make_studio(host=world.teacher_a, name="甲名师工作室")
    serve(world.teacher_a, answers=9, lesson=False)  # 90 points: excellent, one level lower: qualified

    run = assessment_run_finalize(run=assessment_run_compute(scheme=scheme), actor=world.city_admin.user)

    got = outcomes(run)
    stipend = got[(world.teacher_a.user_id, "studio-host-stipend", "甲名师工作室")]
    assert (stipend.grade, stipend.amount, stipend.awards_eligible) == (
        "qualified", Decimal("10000.00"), False)
    assert "B2" in stipend.explanation
    passing = got[(world.teacher_a.user_id, "assessed-passing", "")]
    assert (passing.awards_eligible, passing.title_review_eligible) == (False, True)


def test_which_rules_apply_to_a_run(world):
    incentive_rules_seed(region=world.city, rules=[
        *RULES,
        {"code": "old", "name": "旧规则", "role": "any_teacher", "grades": PASSING, "stipend": Decimal("1"),
         "valid_from": datetime.date(2020, 1, 1), "valid_to": datetime.date(2025, 12, 31)},
        {"code": "studio-host-stipend", "name": "主持人补贴（2026年6月起）", "role": "studio_host",
         "grades": PASSING, "stipend": Decimal("12000"), "valid_from": datetime.date(2026, 6, 1)},
    ])
    incentive_rules_seed(region=world.county_b, rules=[
        {"code": "studio-member-stipend", "name": "泰顺成员补贴", "role": "studio_member", "grades": PASSING,
         "stipend": Decimal("6000"), "valid_from": JAN1}])
    incentive_rules_seed(region=world.other_city, rules=[
        {"code": "elsewhere", "name": "他市", "role": "any_teacher", "grades": PASSING,
         "stipend": Decimal("1"), "valid_from": JAN1}])
    city_run = assessment_run_compute(scheme=scheme_for(world.city))
    chosen = {r.code: (r.region.code, r.stipend) for r in rules_for_run(city_run)}
    assert chosen == {"assessed-passing": ("WZ", Decimal("0.00")),
                      "assessed-unqualified": ("WZ", Decimal("0.00")),
                      "studio-host-stipend": ("WZ", Decimal("12000.00")),
                      "studio-member-stipend": ("WZ", Decimal("5000.00"))}
    county_run = assessment_run_compute(scheme=scheme_for(world.county_b))
    county_rules = {r.code: r.stipend for r in rules_for_run(county_run)}
    assert county_rules["studio-member-stipend"] == Decimal("6000.00")


def test_outcomes_on_demand_and_refusals(world):
    scheme = scheme_for(world.city)
    make_studio(host=world.teacher_a, name="甲名师工作室")
    serve(world.teacher_a, answers=6)
    computed = assessment_run_compute(scheme=scheme)
    with pytest.raises(Conflict):
        incentive_outcomes_create(run=computed)
    run = assessment_run_finalize(run=computed, actor=world.city_admin.user)
    assert not run.incentives.exists()  # no rules yet

    incentive_rules_seed(region=world.city, rules=RULES[:1])
    assert incentive_outcomes_create(run=run, actor=world.city_admin.user) == 1
    assert incentive_outcomes_create(run=run) == 0
    incentive_rules_seed(region=world.city, rules=RULES)  # no member; teacher_b did no service
    assert incentive_outcomes_create(run=run) == 2
    assert sorted(run.incentives.values_list("teacher_id", "rule__code")) == sorted([
        (world.teacher_a.user_id, "studio-host-stipend"), (world.teacher_a.user_id, "assessed-passing"),
        (world.teacher_b.user_id, "assessed-unqualified")])


def test_payout_rows_stream_the_finance_list(world):
    incentive_rules_seed(region=world.city, rules=RULES)
    scheme = scheme_for(world.city)
    studio = make_studio(host=world.teacher_a, name="甲名师工作室")
    member(studio, world.teacher_b)
    serve(world.teacher_a, answers=6)
    serve(world.teacher_b, answers=8)
    run = assessment_run_finalize(run=assessment_run_compute(scheme=scheme), actor=world.city_admin.user)

    rows = payout_rows(run)
    assert not isinstance(rows, list)  # an iterator: the export streams it
    rows = list(rows)
    assert [(r["staff_number"], r["rule_code"], r["amount"]) for r in rows] == [
        (world.teacher_a.staff_number, "studio-host-stipend", Decimal("10000.00")),
        (world.teacher_b.staff_number, "studio-member-stipend", Decimal("5000.00")),
    ]
    assert set(rows[0]) == set(PAYOUT_COLUMNS)
    assert rows[1]["school_name"] == world.school_b.name and rows[1]["county"] == world.county_b.name
    assert rows[1]["grade"] == "excellent" and rows[1]["studio_name"] == "甲名师工作室"
    assert len(list(payout_rows(run, include_zero=True))) == 4
    in_county_b = payout_rows(run, user=world.county_admin_b.user)
    assert [r["teacher_id"] for r in in_county_b] == [world.teacher_b.user_id]
    assert list(payout_rows(run, user=world.teacher_a.user)) == []

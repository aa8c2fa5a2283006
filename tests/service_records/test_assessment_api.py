"""The assessment API, from the side of every user who must be refused, and of those allowed."""

import copy

import pytest

from service_records.assessment.schemes_io import scheme_to_document
from service_records.assessment.services import scheme_import, scheme_publish
from service_records.models import AssessmentRun, AssessmentScheme
from tests.service_records.assessment_support import at, document, duty, leaf, node, record

pytestmark = pytest.mark.django_db
BASE = "/api/v1/assessment"


def tree():
    return [node("A1", "A", [
        leaf("B1", ["answer_given"], "10", level="B", cap="90.00"),
        leaf("B2", ["research_lesson"], "5", level="B", duty=duty(1, "period")),
    ])]


@pytest.fixture
def schemes(world):
    city = scheme_publish(scheme=scheme_import(data=document(world.city, tree(), code="wz")).scheme)
    city_draft = scheme_import(data=document(world.city, tree(), code="wz-next")).scheme
    county_b = scheme_publish(scheme=scheme_import(data=document(world.county_b, tree(), code="ts")).scheme)
    county_b_draft = scheme_import(data=document(world.county_b, tree(), code="ts-next")).scheme
    return {"city": city, "city_draft": city_draft, "county_b": county_b, "county_b_draft": county_b_draft}


def codes(response):
    assert response.status_code == 200, response.content
    return sorted(row["code"] for row in response.data["results"])


def test_who_sees_which_scheme(world, schemes, client_for):
    listing = f"{BASE}/schemes/"
    assert codes(client_for(world.city_admin.user).get(listing)) == ["ts", "ts-next", "wz", "wz-next"]
    assert codes(client_for(world.county_admin_b.user).get(listing)) == ["ts", "ts-next", "wz"]
    assert codes(client_for(world.county_admin_a.user).get(listing)) == ["wz"]
    assert codes(client_for(world.school_admin_b.user).get(listing)) == ["ts", "wz"]
    assert codes(client_for(world.teacher_b.user).get(listing)) == ["ts", "wz"]
    assert codes(client_for(world.teacher_a.user).get(listing)) == ["wz"]
    assert codes(client_for(world.other_city_admin.user).get(listing)) == []
    assert codes(client_for(world.student_a.user).get(listing)) == []

    draft = schemes["county_b_draft"].pk
    assert client_for(world.county_admin_a.user).get(f"{BASE}/schemes/{draft}/").status_code == 404
    assert client_for(world.teacher_b.user).get(f"{BASE}/schemes/{draft}/").status_code == 404
    assert client_for(world.student_b.user).get(f"{BASE}/schemes/{schemes['city'].pk}/").status_code == 404
    assert client_for(world.teacher_a.user).get(f"{BASE}/schemes/{draft}/export/").status_code == 404

    detail = client_for(world.teacher_b.user).get(f"{BASE}/schemes/{schemes['county_b'].pk}/")
    assert detail.status_code == 200
    assert detail.data["can_manage"] is False
    assert [n["code"] for n in detail.data["indicators"][0]["children"]] == ["B1", "B2"]
    assert client_for(world.county_admin_b.user).get(
        f"{BASE}/schemes/{schemes['county_b'].pk}/").data["can_manage"] is True


def test_export_and_import_over_the_api(world, schemes, client_for):
    admin = client_for(world.county_admin_b.user)
    exported = admin.get(f"{BASE}/schemes/{schemes['county_b'].pk}/export/")
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == 'attachment; filename="ts-v1.json"'
    assert exported.data == scheme_to_document(schemes["county_b"])

    same = admin.post(f"{BASE}/schemes/import/", exported.data, format="json")
    assert same.status_code == 200 and same.data["id"] == schemes["county_b"].pk

    new = copy.deepcopy(exported.data)
    new.pop("version")
    created = admin.post(f"{BASE}/schemes/import/", new, format="json")
    assert created.status_code == 201
    assert (created.data["version"], created.data["status"], created.data["supersedes"]) == (
        2, "draft", schemes["county_b"].pk)

    published = copy.deepcopy(exported.data)
    published["thresholds"]["qualified"] = "1.00"
    refused = admin.post(f"{BASE}/schemes/import/", published, format="json")
    assert refused.status_code == 409 and refused.data["error"]["code"] == "scheme_published"

    bad = copy.deepcopy(new)
    bad["indicators"][0]["children"][0]["credit_per_unit"] = "lots"
    bad["period"] = {"label": "x"}
    response = admin.post(f"{BASE}/schemes/import/", bad, format="json")
    assert response.status_code == 400
    assert response.data["error"]["code"] == "invalid_scheme"
    assert {"indicators[0].children[0].credit_per_unit", "period.start", "period.end"} <= set(
        response.data["error"]["fields"])
    for body in ([], "text", {"indicators": [[["deep"]]]}):
        response = admin.post(f"{BASE}/schemes/import/", body, format="json")
        assert response.status_code == 400 and "error" in response.data


def test_scheme_writes_are_refused_from_the_wrong_side(world, schemes, client_for):
    doc = document(world.county_b, tree(), code="new")
    for user in (world.teacher_b.user, world.school_admin_b.user, world.county_admin_a.user,
                 world.student_b.user, world.other_city_admin.user):
        response = client_for(user).post(f"{BASE}/schemes/import/", doc, format="json")
        assert response.status_code == 403, user
        assert response.data["error"]["code"] in {"region_out_of_scope", "permission_denied"}
    assert not AssessmentScheme.objects.filter(code="new").exists()

    draft = schemes["county_b_draft"].pk
    published = schemes["county_b"].pk
    assert client_for(world.county_admin_a.user).post(f"{BASE}/schemes/{draft}/publish/").status_code == 404
    for user in (world.school_admin_b.user, world.teacher_b.user):
        assert client_for(user).post(f"{BASE}/schemes/{published}/new-version/").status_code == 403
    city = schemes["city"].pk
    response = client_for(world.county_admin_b.user).post(f"{BASE}/schemes/{city}/new-version/")
    assert response.status_code == 403
    assert AssessmentScheme.objects.filter(code="ts").count() == 1


def test_publish_and_new_version_over_the_api(world, schemes, client_for):
    admin = client_for(world.county_admin_b.user)
    published = schemes["county_b"].pk
    draft = admin.post(f"{BASE}/schemes/{published}/new-version/")
    assert draft.status_code == 201 and draft.data["version"] == 2
    again = admin.post(f"{BASE}/schemes/{published}/new-version/")
    assert again.status_code == 409 and again.data["error"]["code"] == "scheme_has_successor"
    done = admin.post(f"{BASE}/schemes/{draft.data['id']}/publish/")
    assert done.status_code == 200 and done.data["status"] == "published"
    old = admin.get(f"{BASE}/schemes/{published}/")
    assert old.data["status"] == "retired" and old.data["superseded_by"] == draft.data["id"]

    incomplete = scheme_import(data=document(world.county_b, [node("A", "A", [
        leaf("B", [], "0", level="B")])], code="bad")).scheme
    response = admin.post(f"{BASE}/schemes/{incomplete.pk}/publish/")
    assert response.status_code == 400
    assert response.data["error"]["code"] == "scheme_incomplete"
    assert set(response.data["error"]["fields"]) == {"indicators[0].children[0].event_kinds",
                                                     "indicators[0].children[0].credit_per_unit"}


def test_computing_and_finalizing_over_the_api(world, schemes, client_for):
    record(world.teacher_b, "answer_given", at(2026, 3, 1), quantity=8)  # 80 + 5: excellent
    record(world.teacher_b, "research_lesson", at(2026, 3, 2))
    record(world.teacher_a, "answer_given", at(2026, 3, 1), quantity=5)  # 50, missed duty: unqualified
    city_admin = client_for(world.city_admin.user)
    scheme = schemes["city"].pk

    for user in (world.teacher_a.user, world.school_admin_a.user, world.county_admin_a.user,
                 world.other_city_admin.user):
        response = client_for(user).post(f"{BASE}/runs/compute/", {"scheme": scheme}, format="json")
        assert response.status_code in {400, 403}, user  # 400: a scheme they cannot even see
    assert not AssessmentRun.objects.exists()
    response = client_for(world.county_admin_b.user).post(
        f"{BASE}/runs/compute/", {"scheme": scheme, "region": world.county_a.pk}, format="json")
    assert response.status_code == 403
    assert client_for(world.student_a.user).post(
        f"{BASE}/runs/compute/", {"scheme": scheme}, format="json").status_code == 400
    for body in ({}, {"scheme": "x"}, {"scheme": 10**9}, {"scheme": scheme, "region": 10**9}):
        response = city_admin.post(f"{BASE}/runs/compute/", body, format="json")
        assert response.status_code == 400 and "error" in response.data
    response = city_admin.post(f"{BASE}/runs/compute/", {"scheme": schemes["city_draft"].pk}, format="json")
    assert response.status_code == 409

    county_run = client_for(world.county_admin_b.user).post(
        f"{BASE}/runs/compute/", {"scheme": scheme, "region": world.county_b.pk}, format="json")
    assert county_run.status_code == 201 and county_run.data["teacher_count"] == 1
    run = city_admin.post(f"{BASE}/runs/compute/", {"scheme": scheme}, format="json")
    assert run.status_code == 201, run.content
    assert run.data["grades"] == {"excellent": 1, "qualified": 0, "unqualified": 1, "missed_duty": 1}
    assert run.data["scheme_version"] == 1 and len(run.data["ledger_digest"]) == 64
    run_id = run.data["id"]

    results = city_admin.get(f"{BASE}/runs/{run_id}/results/")
    rows = results.data["results"]
    assert [(r["teacher"], r["points"], r["grade_by_points"], r["grade"]) for r in rows] == [
        (world.teacher_b.user_id, "85.00", "excellent", "excellent"),
        (world.teacher_a.user_id, "50.00", "qualified", "unqualified")]
    only_b = client_for(world.county_admin_b.user).get(f"{BASE}/runs/{run_id}/results/")
    assert [r["teacher"] for r in only_b.data["results"]] == [world.teacher_b.user_id]
    assert client_for(world.county_admin_b.user).get(
        f"{BASE}/runs/{run_id}/results/{world.teacher_a.user_id}/").status_code == 404
    detail = client_for(world.school_admin_b.user).get(
        f"{BASE}/runs/{run_id}/results/{world.teacher_b.user_id}/")
    assert detail.status_code == 200 and detail.data["grade"] == "excellent"
    assert [(s["code"], s["points"]) for s in detail.data["scores"]] == [
        ("A1", "85.00"), ("B1", "80.00"), ("B2", "5.00")]
    filtered = city_admin.get(f"{BASE}/runs/{run_id}/results/", {"duties_met": "false"})
    assert [r["teacher"] for r in filtered.data["results"]] == [world.teacher_a.user_id]
    for user in (world.teacher_a.user, world.student_a.user, world.other_city_admin.user):
        assert client_for(user).get(f"{BASE}/runs/{run_id}/").status_code == 404
        assert client_for(user).get(f"{BASE}/runs/{run_id}/results/").status_code == 404
        assert client_for(user).get(f"{BASE}/runs/").data["count"] == 0

    for user in (world.county_admin_a.user, world.school_admin_a.user):  # can read, cannot finalize
        response = client_for(user).post(f"{BASE}/runs/{run_id}/finalize/")
        assert response.status_code == 403
    for user in (world.teacher_a.user, world.other_city_admin.user):
        assert client_for(user).post(f"{BASE}/runs/{run_id}/finalize/").status_code == 404
    partial = city_admin.post(f"{BASE}/runs/{county_run.data['id']}/finalize/")
    assert partial.status_code == 409 and partial.data["error"]["code"] == "run_partial_region"

    final = city_admin.post(f"{BASE}/runs/{run_id}/finalize/")
    assert final.status_code == 200 and final.data["status"] == "final"
    again = city_admin.post(f"{BASE}/runs/compute/", {"scheme": scheme}, format="json")
    assert again.status_code == 409 and again.data["error"]["code"] == "period_frozen"
    assert city_admin.get(f"{BASE}/runs/", {"status": "final"}).data["count"] == 1


def test_payouts_over_the_api(world, schemes, client_for):
    from service_records.assessment.services import (
        assessment_run_compute,
        assessment_run_finalize,
        incentive_rules_seed,
    )
    from tests.service_records.test_assessment_incentives import RULES

    incentive_rules_seed(region=world.city, rules=RULES)
    record(world.teacher_b, "answer_given", at(2026, 3, 1), quantity=8)  # 80 + 5: excellent
    record(world.teacher_b, "research_lesson", at(2026, 3, 2))
    record(world.teacher_a, "answer_given", at(2026, 3, 1), quantity=5)  # 50, missed duty: unqualified
    run = assessment_run_compute(scheme=schemes["city"])
    url = f"{BASE}/runs/{run.pk}/payouts/"
    assert client_for(world.city_admin.user).get(url).data["count"] == 0  # not final: nothing yet
    assessment_run_finalize(run=run, actor=world.city_admin.user)

    rows = client_for(world.city_admin.user).get(url, {"all": "true"}).data["results"]
    assert sorted((r["teacher"], r["rule_code"], r["amount"]) for r in rows) == sorted([
        (world.teacher_a.user_id, "assessed-unqualified", "0.00"),
        (world.teacher_b.user_id, "assessed-passing", "0.00"),
    ])
    assert client_for(world.city_admin.user).get(url).data["count"] == 0  # no money without studios
    assert client_for(world.county_admin_a.user).get(url, {"all": "true"}).data["count"] == 1
    assert client_for(world.teacher_b.user).get(url).status_code == 404
    summary = client_for(world.city_admin.user).get(f"{BASE}/runs/{run.pk}/payouts/summary/")
    assert summary.status_code == 200 and summary.data["amount"] == "0.00"
    rules = client_for(world.county_admin_a.user).get(f"{BASE}/incentive-rules/")
    assert rules.data["count"] == len(RULES)
    assert client_for(world.teacher_a.user).get(f"{BASE}/incentive-rules/").data["count"] == 0
    again = client_for(world.city_admin.user).post(f"{BASE}/runs/{run.pk}/incentives/")
    assert again.status_code == 200 and again.data == {"created": 0}
    assert client_for(world.county_admin_a.user).post(f"{BASE}/runs/{run.pk}/incentives/").status_code == 403

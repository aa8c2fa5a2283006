"""Schemes as data: the JSON document (round trip, refusals), publishing, versions, the
management commands, the admin and the demo schemes."""

import copy
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from common.errors import Conflict, Forbidden, ServiceError
from service_records.assessment.demo_schemes import demo_scheme_documents, seed_demo_schemes
from service_records.assessment.schemes_io import document_dumps, scheme_to_document
from service_records.assessment.services import scheme_import, scheme_new_version, scheme_publish
from service_records.models import AssessmentScheme, IncentiveRule, Indicator
from tests.factories import CityFactory, CountyFactory, TeacherTierFactory, UserFactory
from tests.service_records.assessment_support import D, document, duty, leaf, node

pytestmark = pytest.mark.django_db


def full_tree():
    return [
        node("A1", "A", [
            node("B1", "B", [
                leaf("C1", ["answer_given", "answer_accepted"], "0.5", cap="20.00", accepted="2.00",
                     low_below="3.00", low="0.50"),
                leaf("C2", ["duty_minutes"], "0.01", duty=duty(120, "month")),
            ], max_points="30.00"),
        ], max_points="40.00"),
        node("A2", "A", [leaf("B2", ["research_lesson"], "4", level="B", max_points="8.00",
                              duty=duty(1, "term", "grade_down"))]),
    ]


def test_export_then_import_elsewhere_gives_the_same_document(world):
    TeacherTierFactory(code="city-backbone", name="市学科骨干", rank=2)
    doc = document(world.city, full_tree(), tiers=["city-backbone", "city-famous"], version=3)
    scheme = scheme_publish(scheme=scheme_import(data=doc).scheme)
    exported = scheme_to_document(scheme)
    assert exported["version"] == 3 and exported["tiers"] == ["city-backbone", "city-famous"]

    # Another city imports it under its own region: everything but the region is the same.
    other = copy.deepcopy(exported)
    other["region"] = world.other_city.code
    copied = scheme_import(data=other).scheme
    again = scheme_to_document(copied)
    assert copied.status == "draft" and copied.pk != scheme.pk
    assert document_dumps({**again, "region": "WZ"}) == document_dumps(exported)

    leaf_c1 = copied.indicators.get(code="C1")
    assert (leaf_c1.parent.code, leaf_c1.level, leaf_c1.credit_per_unit, leaf_c1.accepted_weight) == (
        "B1", "C", D("0.5000"), D("2.00"))
    assert sorted(leaf_c1.event_kinds.values_list("code", flat=True)) == ["answer_accepted", "answer_given"]


def test_importing_a_published_version_again_changes_nothing(world):
    doc = document(world.city, full_tree(), version=1)
    scheme = scheme_publish(scheme=scheme_import(data=doc).scheme)
    again = scheme_import(data=scheme_to_document(scheme))
    assert (again.scheme.pk, again.created, again.changed) == (scheme.pk, False, False)
    changed = copy.deepcopy(doc)
    changed["thresholds"]["excellent"] = "90.00"
    with pytest.raises(Conflict) as refused:
        scheme_import(data=changed)
    assert "version" in refused.value.fields
    changed.pop("version")
    new = scheme_import(data=changed)
    assert (new.created, new.scheme.version, new.scheme.supersedes_id, new.scheme.status) == (
        True, 2, scheme.pk, "draft")


def test_reimporting_a_draft_replaces_its_content(world):
    doc = document(world.city, full_tree(), version=1)
    draft = scheme_import(data=doc).scheme
    doc["indicators"] = doc["indicators"][:1]
    replaced = scheme_import(data=doc)
    assert (replaced.scheme.pk, replaced.created, replaced.changed) == (draft.pk, False, True)
    assert not Indicator.objects.filter(scheme=draft, code="A2").exists()
    assert Indicator.objects.filter(scheme=draft).count() == 4


def field_errors(data):
    with pytest.raises(ServiceError) as refused:
        scheme_import(data=data)
    assert refused.value.status_code == 400 and refused.value.code == "invalid_scheme"
    return refused.value.fields


def test_malformed_documents_are_refused_with_field_errors(world):
    good = document(world.city, full_tree())
    assert list(field_errors([1, 2])) == ["non_field_errors"]
    assert set(field_errors({})) >= {"region", "code", "name", "period", "thresholds", "indicators"}

    def broken(change):
        doc = copy.deepcopy(good)
        change(doc)
        return field_errors(doc)

    assert "period.start" in broken(lambda d: d["period"].update(start="2026-02-30"))
    assert "period.end" in broken(lambda d: d["period"].update(end="2025-01-01"))
    assert "thresholds.excellent" in broken(lambda d: d["thresholds"].update(excellent="10.00"))
    assert "thresholds.qualified" in broken(lambda d: d["thresholds"].update(qualified="abc"))
    assert "format" in broken(lambda d: d.update(format="something/9"))
    assert "region" in broken(lambda d: d.update(region="NOWHERE"))
    assert "tiers" in broken(lambda d: d.update(tiers=["no-such-tier"]))
    assert "indicators" in broken(lambda d: d.update(indicators=[]))
    assert "indicators" in broken(lambda d: d.update(indicators="A1"))
    fields = broken(lambda d: d["indicators"][0]["children"][0]["children"][0].update(
        credit_per_unit="0.123456", event_kinds=["no_such_kind"]))
    assert "indicators[0].children[0].children[0].credit_per_unit" in fields
    fields = broken(lambda d: d["indicators"][0]["children"][0]["children"][1].update(event_kinds=["nope"]))
    assert list(fields) == ["indicators[0].children[0].children[1].event_kinds"]
    assert "nope" in fields["indicators[0].children[0].children[1].event_kinds"][0]
    assert "indicators[0].children[0].children[0].weights.low_rating_below" in broken(
        lambda d: d["indicators"][0]["children"][0]["children"][0]["weights"].update(low_rating_below="7.00"))
    assert "indicators[1].children[0].duty.per" in broken(
        lambda d: d["indicators"][1]["children"][0]["duty"].update(per="week"))
    assert "indicators[1].children[0].duty.minimum" in broken(
        lambda d: d["indicators"][1]["children"][0]["duty"].update(minimum="0"))
    # the tree: levels A, B, C in order, no deeper, unique codes, internal nodes count nothing
    assert "indicators[0].level" in broken(lambda d: d["indicators"][0].update(level="B"))
    assert "indicators[0].children[0].children[0].children" in broken(
        lambda d: d["indicators"][0]["children"][0]["children"][0].update(children=[leaf("D1", [], "1")]))
    assert "indicators[1].children[0].code" in broken(
        lambda d: d["indicators"][1]["children"][0].update(code="C1"))
    assert "indicators[0]" in broken(lambda d: d["indicators"][0].update(event_kinds=["answer_given"]))
    assert "indicators" in broken(lambda d: d.update(indicators=[node("A", "A", [])] * 600))
    assert not AssessmentScheme.objects.exists()


def test_publishing_checks_the_scheme_is_complete(world):
    doc = document(world.city, [node("A1", "A", [
        leaf("B1", [], "0", level="B"),
        leaf("B2", ["answer_given"], "1", level="B"),
    ])])
    draft = scheme_import(data=doc).scheme
    with pytest.raises(ServiceError) as refused:
        scheme_publish(scheme=draft)
    assert refused.value.code == "scheme_incomplete"
    assert set(refused.value.fields) == {"indicators[0].children[0].event_kinds",
                                         "indicators[0].children[0].credit_per_unit"}
    draft.refresh_from_db()
    assert draft.status == "draft"
    # A draft edited by hand (the admin) into a wrong tree is caught as well.
    Indicator.objects.filter(scheme=draft, code="B2").update(level="C")
    Indicator.objects.filter(scheme=draft, code="B1").update(credit_per_unit=1)
    draft.indicators.get(code="B1").event_kinds.add(*draft.indicators.get(code="B2").event_kinds.all())
    with pytest.raises(ServiceError) as refused:
        scheme_publish(scheme=draft)
    assert set(refused.value.fields) == {"indicators[0].children[1].level"}


def test_a_new_version_copies_the_tree_and_replaces_the_old_on_publish(world):
    scheme = scheme_publish(scheme=scheme_import(data=document(world.city, full_tree())).scheme)
    actor = world.city_admin.user
    draft = scheme_new_version(scheme=scheme, actor=actor)
    assert (draft.version, draft.status, draft.supersedes_id) == (2, "draft", scheme.pk)
    assert {**scheme_to_document(draft), "version": 1} == scheme_to_document(scheme)
    with pytest.raises(Conflict):
        scheme_new_version(scheme=scheme, actor=actor)  # one successor at a time
    with pytest.raises(Conflict):
        scheme_new_version(scheme=draft, actor=actor)  # edit the draft itself
    with pytest.raises(Conflict):
        scheme_publish(scheme=scheme, actor=actor)  # already published

    scheme_publish(scheme=draft, actor=actor)
    scheme.refresh_from_db()
    draft.refresh_from_db()
    assert (scheme.status, draft.status, draft.published_by) == ("retired", "published", actor)
    assert AssessmentScheme.objects.filter(code=scheme.code, status="published").count() == 1


def test_scheme_writes_are_refused_outside_the_region(world):
    doc = document(world.city, full_tree())
    for actor in (world.teacher_a.user, world.county_admin_a.user, world.school_admin_a.user,
                  world.other_city_admin.user, world.student_a.user):
        with pytest.raises(Forbidden):
            scheme_import(data=doc, actor=actor)
    scheme = scheme_import(data=doc, actor=world.city_admin.user).scheme
    with pytest.raises(Forbidden):
        scheme_publish(scheme=scheme, actor=world.county_admin_a.user)
    scheme_publish(scheme=scheme, actor=world.city_admin.user)
    with pytest.raises(Forbidden):
        scheme_new_version(scheme=scheme, actor=world.other_city_admin.user)
    county_doc = document(world.county_a, full_tree(), code="lc")
    assert scheme_import(data=county_doc, actor=world.county_admin_a.user).created
    with pytest.raises(Forbidden):
        scheme_import(data=county_doc, actor=world.county_admin_b.user)


def test_the_import_and_export_commands(world, tmp_path):
    path = tmp_path / "scheme.json"
    path.write_text(json.dumps(document(world.city, full_tree(), code="cmd")), encoding="utf-8")
    out = io.StringIO()
    call_command("scheme_import", str(path), "--publish", stdout=out)
    assert "WZ cmd v1: created" in out.getvalue()
    out = io.StringIO()
    call_command("scheme_import", str(path), "--publish", stdout=out)  # twice: a new version
    assert "v2: created" in out.getvalue()
    out = io.StringIO()
    call_command("scheme_export", "WZ", "cmd", stdout=out)
    exported = json.loads(out.getvalue())
    assert exported["version"] == 2 and exported["indicators"][0]["children"][0]["max_points"] == "30.00"
    target = tmp_path / "v1.json"
    call_command("scheme_export", "WZ", "cmd", "--scheme-version", "1", "--output", str(target),
                 stderr=io.StringIO())
    assert json.loads(target.read_text(encoding="utf-8"))["version"] == 1

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**exported, "region": "NOWHERE", "version": None}), encoding="utf-8")
    with pytest.raises(CommandError, match="region: .*NOWHERE"):
        call_command("scheme_import", str(bad))
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="bad.json"):
        call_command("scheme_import", str(bad))
    with pytest.raises(CommandError, match="nothing"):
        call_command("scheme_export", "WZ", "nothing")


def test_demo_schemes_are_seeded_once_and_export_as_shipped(db):
    city = CityFactory(code="WZ", name="温州市")
    CountyFactory(code="WZ-TS", name="泰顺县", parent=city)
    first = seed_demo_schemes()
    assert first == {"assessment_schemes": 2, "incentive_rules": 4}
    assert seed_demo_schemes() == first
    assert AssessmentScheme.objects.count() == 2
    for doc in demo_scheme_documents():
        scheme = AssessmentScheme.objects.get(code=doc["code"])
        assert scheme.status == "published"
        assert document_dumps(scheme_to_document(scheme)) == document_dumps(doc)
    wz = AssessmentScheme.objects.get(code="wz-three-tier-2026")
    duties = {i.code: (i.required_minimum, i.minimum_per, i.consequence)
              for i in wz.indicators.filter(required_minimum__isnull=False)}
    assert duties == {"A1.1.2": (D("120.00"), "month", "no_awards_and_grade_down"),
                      "A4.1.2": (D("1.00"), "term", "no_awards_and_grade_down"),
                      "A4.1.3": (D("2.00"), "year", "no_awards_and_grade_down")}
    stipends = dict(IncentiveRule.objects.values_list("code", "stipend"))
    assert stipends["studio-host-stipend"] == D("10000.00")
    assert stipends["studio-member-stipend"] == D("5000.00")


def test_demo_schemes_skip_missing_regions(db):
    assert seed_demo_schemes() == {"assessment_schemes": 0, "incentive_rules": 0}


# --- admin -----------------------------------------------------------------------------------

def test_the_admin_edits_drafts_and_shows_published_schemes_read_only(world, client):
    draft = scheme_import(data=document(world.city, full_tree(), code="draft")).scheme
    published = scheme_import(data=document(world.city, full_tree(), code="pub")).scheme
    scheme_publish(scheme=published)
    county_scheme = scheme_import(data=document(world.county_b, full_tree(), code="ts")).scheme
    client.force_login(world.city_admin.user)

    page = client.get(reverse("admin:service_records_assessmentscheme_change", args=[draft.pk]))
    assert page.status_code == 200 and b'name="indicators-0-code"' in page.content
    page = client.get(reverse("admin:service_records_assessmentscheme_change", args=[published.pk]))
    assert page.status_code == 200 and b'name="indicators-0-code"' not in page.content
    assert b'name="name"' not in page.content
    listing = client.get(reverse("admin:service_records_assessmentscheme_changelist"))
    assert listing.status_code == 200
    listed = {s.code for s in listing.context["cl"].result_list}
    assert {draft.code, published.code, county_scheme.code} <= listed

    client.force_login(world.county_admin_a.user)
    listing = client.get(reverse("admin:service_records_assessmentscheme_changelist"))
    assert listing.context["cl"].result_list.count() == 0
    page = client.get(reverse("admin:service_records_assessmentscheme_change", args=[county_scheme.pk]))
    assert page.status_code == 302  # not in scope: the admin redirects as for a missing object

    client.force_login(world.city_admin.user)
    response = client.post(reverse("admin:service_records_assessmentscheme_changelist"),
                           {"action": "publish", "_selected_action": [draft.pk]}, follow=True)
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == "published"


def test_a_teacher_has_no_admin(world, client):
    client.force_login(UserFactory(is_staff=True))
    page = client.get(reverse("admin:service_records_assessmentscheme_changelist"))
    assert page.status_code == 403

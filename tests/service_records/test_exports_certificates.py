"""Service certificates: issued by the teacher or an administrator in scope, as a page and a
PDF, and checked by anyone at /verify/<code>/ against the ledger."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from common.errors import Forbidden, ServiceError
from service_records.exports import selectors
from service_records.exports.services import certificate_issue
from service_records.models import GENESIS_HASH, ServiceCertificate
from service_records.services import service_event_correct
from tests.service_records.assessment_support import at, duty, leaf, node, published_scheme, record
from tests.service_records.exports_support import D, english, pdf_text  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
YEAR = {"period_start": datetime.date(2026, 1, 1), "period_end": datetime.date(2026, 12, 31)}
ISSUE = "/api/v1/certificates/issue/"


@pytest.fixture(autouse=True)
def _in_2027(monkeypatch):
    # The certificates are of the year 2026; issue them as if it were over.
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: datetime.date(2027, 1, 15))


@pytest.fixture
def served(world):
    record(world.teacher_a, "answer_given", at(2026, 3, 1), accepted=True)
    record(world.teacher_a, "answer_given", at(2026, 3, 2))
    record(world.teacher_a, "live_minutes", at(2026, 4, 1), quantity=D("45.5"))
    record(world.teacher_a, "answer_given", at(2025, 12, 31))  # another period
    record(world.teacher_b, "research_lesson", at(2026, 5, 1))
    return world


def _issue(world, actor=None, **kw):
    return certificate_issue(actor=(actor or world.teacher_a).user, teacher_id=world.teacher_a.user_id,
                             **{**YEAR, **kw})


def _raw(sql, params):
    """Edits the ledger behind the service's back, as someone with SQL access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def test_issuing_records_the_chain_head_and_the_periods_totals(served):
    certificate = _issue(served)
    assert certificate.chain_sequence == 4  # teacher_a's four events
    assert certificate.chain_hash == served.teacher_a.user.ledger_head.last_hash
    assert certificate.totals == {"answer_given": {"quantity": "2.00", "events": 2},
                                  "live_minutes": {"quantity": "45.50", "events": 1}}
    assert certificate.period_label == "2026"
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", certificate.code)
    assert certificate.issued_by == served.teacher_a.user


def test_codes_are_random_and_typed_forgivingly():
    codes = {selectors.certificate_code_new() for _i in range(500)}
    assert len(codes) == 500
    assert selectors.certificate_code_normalize(" abcd-efgh-jkmn ") == "ABCDEFGHJKMN"
    assert selectors.certificate_code_normalize("0OIL-1111-2222") == "001111112222"
    assert selectors.certificate_code_normalize("ABCD-EFGH-JKM") is None
    assert selectors.certificate_code_normalize("ABCD-EFGH-JKMU") is None
    assert selectors.certificate_code_display("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


def test_who_may_issue(served):
    assert _issue(served, actor=served.county_admin_a).teacher_id == served.teacher_a.user_id
    assert _issue(served, actor=served.school_admin_a)
    assert _issue(served, actor=served.city_admin)
    for refused in ("teacher_b", "student_a", "county_admin_b", "school_admin_b", "other_city_admin"):
        with pytest.raises(Forbidden):
            _issue(served, actor=getattr(served, refused))


@pytest.mark.parametrize("period,field", [
    ({"period_start": datetime.date(2026, 12, 31), "period_end": datetime.date(2026, 1, 1)}, "period_end"),
    ({"period_start": datetime.date(2020, 1, 1), "period_end": datetime.date(2026, 12, 31)}, "period_end"),
    ({"period_start": datetime.date(2027, 6, 1), "period_end": datetime.date(2027, 12, 31)}, "period_start"),
    ({"period_label": "x" * 40}, "period_label"),
    ({"period_start": datetime.date(1, 1, 1), "period_end": datetime.date(1, 2, 1)}, "period_start"),
])
def test_invalid_periods_are_refused(served, period, field):
    with pytest.raises(ServiceError) as refused:
        _issue(served, **period)
    assert field in refused.value.fields


def test_a_final_result_of_exactly_the_period_is_attached(served):
    from service_records.assessment.services import assessment_run_compute, assessment_run_finalize

    scheme = published_scheme(served.city, [node("A1", "A", [
        leaf("B1", ["answer_given"], "10", level="B"),
        leaf("B2", ["research_lesson"], "1", level="B", duty=duty(1, "period"))])])
    run = assessment_run_compute(scheme=scheme)
    assessment_run_finalize(run=run, actor=served.city_admin.user)
    certificate = _issue(served)
    assert certificate.result.run == run
    document = selectors.certificate_document(certificate)
    assert document.scheme_name == scheme.name and document.grade == "unqualified"  # 20 < 50 points


# --- the API ----------------------------------------------------------------------------------

def test_a_teacher_issues_their_own_certificate_over_the_api(served, client_for):
    response = client_for(served.teacher_a.user).post(ISSUE, {"period_start": "2026-01-01",
                                                              "period_end": "2026-12-31"}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", data["code"])
    assert data["teacher"] == served.teacher_a.user_id and data["teacher_name"] == served.teacher_a.real_name
    assert data["school_name"] == "鹿城实验中学" and data["county_name"] == "鹿城区"
    assert [(t["code"], t["quantity"], t["events"]) for t in data["totals"]] == [
        ("answer_given", "2.00", 2), ("live_minutes", "45.50", 1)]
    assert data["verify_url"] == f"http://testserver/verify/{data['code']}/"
    assert data["pdf_url"].endswith(f"/api/v1/certificates/{data['code']}/pdf/")


def test_an_administrator_issues_for_a_teacher_of_a_scheme_period(served, client_for):
    scheme = published_scheme(served.city, [node("A1", "A", [leaf("B1", ["answer_given"], "1", level="B")])])
    response = client_for(served.county_admin_a.user).post(
        ISSUE, {"teacher": served.teacher_a.user_id, "scheme": scheme.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["period_label"] == "2026年度"
    refused = client_for(served.county_admin_b.user).post(
        ISSUE, {"teacher": served.teacher_a.user_id, "scheme": scheme.pk}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "certificate_forbidden"


@pytest.mark.parametrize("payload,field", [
    ({}, "period_start"),
    ({"period_start": "2026-01-01"}, "period_end"),
    ({"scheme": 1, "period_start": "2026-01-01", "period_end": "2026-02-01"}, "scheme"),
    ({"period_start": "yesterday", "period_end": "2026-02-01"}, "period_start"),
    ({"period_start": "2026-03-01", "period_end": "2026-02-01"}, "period_end"),
    ({"period_start": "0001-01-01", "period_end": "0001-02-01"}, "period_start"),
])
def test_invalid_issue_requests_are_400(served, client_for, payload, field):
    response = client_for(served.teacher_a.user).post(ISSUE, payload, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_issuing_for_somebody_else_or_as_a_student_is_refused(served, client_for):
    other = client_for(served.teacher_b.user).post(
        ISSUE, {"teacher": served.teacher_a.user_id, **{k: str(v) for k, v in YEAR.items()}}, format="json")
    assert other.status_code == 403
    year = {k: str(v) for k, v in YEAR.items()}
    student = client_for(served.student_a.user).post(ISSUE, year, format="json")
    assert student.status_code == 404  # a student is no teacher
    unknown = client_for(served.city_admin.user).post(
        ISSUE, {"teacher": 999999, **{k: str(v) for k, v in YEAR.items()}}, format="json")
    assert unknown.status_code == 404


def test_who_reads_which_certificate(served, client_for):
    mine = _issue(served)
    theirs = certificate_issue(actor=served.teacher_b.user, teacher_id=served.teacher_b.user_id, **YEAR)
    code = selectors.certificate_code_display(mine.code)
    url = f"/api/v1/certificates/{code}/"
    for reader in ("teacher_a", "county_admin_a", "school_admin_a", "city_admin"):
        assert client_for(getattr(served, reader).user).get(url).status_code == 200
    for stranger in ("teacher_b", "student_a", "county_admin_b", "other_city_admin"):
        assert client_for(getattr(served, stranger).user).get(url).status_code == 404
        assert client_for(getattr(served, stranger).user).get(f"{url}pdf/").status_code == 404
    listed = client_for(served.county_admin_a.user).get("/api/v1/certificates/").json()
    assert [c["code"] for c in listed["results"]] == [code]
    assert client_for(served.city_admin.user).get("/api/v1/certificates/").json()["count"] == 2
    city = client_for(served.city_admin.user)
    only_b = city.get("/api/v1/certificates/", {"teacher": served.teacher_b.user_id})
    assert [c["teacher"] for c in only_b.json()["results"]] == [theirs.teacher_id]
    assert city.get("/api/v1/certificates/", {"teacher": "x"}).status_code == 400
    assert client_for(served.student_a.user).get("/api/v1/certificates/").json()["count"] == 0


def test_the_pdf_names_the_teacher_in_chinese_and_the_verification_address(served, client_for):
    certificate = _issue(served)
    code = selectors.certificate_code_display(certificate.code)
    response = client_for(served.teacher_a.user).get(f"/api/v1/certificates/{code}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"STSong-Light" in response.content
    text = pdf_text(response.content)
    assert served.teacher_a.real_name in text and code in text and f"/verify/{code}/" in text


# --- pages and the public verification --------------------------------------------------------

def _code(certificate):
    return selectors.certificate_code_display(certificate.code)


def test_the_certificate_page_is_for_its_teacher_and_administrators_in_scope(served):
    certificate = _issue(served)
    url = f"/certificates/{_code(certificate)}/"
    page = Client()
    assert page.get(url).status_code == 302  # sign in first
    page.force_login(served.teacher_a.user)
    response = page.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert served.teacher_a.real_name in html and "鹿城实验中学" in html and _code(certificate) in html
    assert f"http://testserver/verify/{_code(certificate)}/" in html and "45.50" in html
    stranger = Client()
    stranger.force_login(served.teacher_b.user)
    assert stranger.get(url).status_code == 404
    admin = Client()
    admin.force_login(served.county_admin_a.user)
    assert admin.get(url).status_code == 200


def test_anyone_verifies_a_genuine_certificate_without_signing_in(served):
    certificate = _issue(served)
    response = Client().get(f"/verify/{_code(certificate)}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-genuine="true"' in html
    assert served.teacher_a.real_name in html and "鹿城实验中学" in html and "2026-12-31" in html
    assert served.student_a.real_name not in html and served.teacher_a.staff_number not in html
    api = Client().get(f"/api/v1/certificates/verify/{certificate.code.lower()}/")
    assert api.status_code == 200
    data = api.json()
    assert data["genuine"] is True and data["problems"] == [] and data["later_entries"] == 0
    assert data["certificate"]["teacher_name"] == served.teacher_a.real_name
    assert [(t["code"], t["quantity"]) for t in data["certificate"]["totals"]] == [
        ("answer_given", "2.00"), ("live_minutes", "45.50")]


def test_a_typed_code_leads_to_its_page(served):
    certificate = _issue(served)
    typed = Client().get("/verify/", {"code": certificate.code.lower()})
    assert typed.status_code == 302 and typed["Location"] == f"/verify/{_code(certificate)}/"
    assert Client().get("/verify/").status_code == 200
    assert Client().get("/verify/", {"code": "nonsense"}).status_code == 400


def test_unknown_codes_are_not_found(served):
    assert Client().get("/verify/ABCD-EFGH-JKMN/").status_code == 404
    assert Client().get("/verify/short/").status_code == 404
    missing = Client().get("/api/v1/certificates/verify/ABCD-EFGH-JKMN/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_later_service_and_corrections_leave_the_certificate_genuine_and_are_mentioned(served):
    certificate = _issue(served)
    first = served.teacher_a.user.service_events.order_by("sequence").first()
    service_event_correct(event=first, actor_id=served.county_admin_a.user_id, reason="重复",
                          idempotency_key="c1")
    record(served.teacher_a, "answer_given", at(2027, 1, 2))  # outside the period
    verification = selectors.certificate_verify(code=certificate.code)
    assert verification.genuine and verification.later_entries == 1
    html = Client().get(f"/verify/{_code(certificate)}/").content.decode()
    assert 'data-genuine="true"' in html and "recorded after the certificate was issued" in html


def test_an_edited_ledger_row_makes_the_certificate_not_genuine(served):
    certificate = _issue(served)
    event = served.teacher_a.user.service_events.get(sequence=2)
    _raw("UPDATE service_records_serviceevent SET quantity = %s WHERE id = %s", ["5.00", event.pk])
    verification = selectors.certificate_verify(code=certificate.code)
    assert not verification.genuine
    assert "does not verify" in " ".join(verification.problems)
    html = Client().get(f"/verify/{_code(certificate)}/").content.decode()
    assert 'data-genuine="false"' in html


def test_a_certificate_with_edited_totals_is_not_genuine(served):
    certificate = _issue(served)
    ServiceCertificate.objects.filter(pk=certificate.pk).update(
        totals={**certificate.totals, "answer_given": {"quantity": "20.00", "events": 20}})
    verification = selectors.certificate_verify(code=certificate.code)
    assert not verification.genuine and "totals" in verification.problems[0]


def test_a_certificate_pointing_at_another_hash_is_not_genuine(served):
    certificate = _issue(served)
    ServiceCertificate.objects.filter(pk=certificate.pk).update(chain_hash="f" * 64)
    assert not selectors.certificate_verify(code=certificate.code).genuine


def test_damage_after_the_certificates_entry_does_not_touch_it(served):
    certificate = _issue(served)
    later = record(served.teacher_a, "answer_given", at(2027, 1, 3))
    _raw("UPDATE service_records_serviceevent SET quantity = %s WHERE id = %s", ["9.00", later.pk])
    assert selectors.certificate_verify(code=certificate.code).genuine


def test_a_certificate_of_a_teacher_without_service(world):
    certificate = certificate_issue(actor=world.teacher_b.user, teacher_id=world.teacher_b.user_id, **YEAR)
    assert (certificate.chain_sequence, certificate.chain_hash, certificate.totals) == (0, GENESIS_HASH, {})
    assert selectors.certificate_verify(code=certificate.code).genuine
    assert "No service recorded" in Client().get(f"/verify/{_code(certificate)}/").content.decode()


def test_verification_is_throttled_per_address(served, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": "3/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    certificate = _issue(served)
    guesser = Client(REMOTE_ADDR="10.0.0.9")
    codes = [_code(certificate), "ABCD-EFGH-JKMN", "ABCD-EFGH-JKMP"]
    assert [guesser.get(f"/verify/{code}/").status_code for code in codes] == [200, 404, 404]
    blocked = guesser.get(f"/verify/{_code(certificate)}/")
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    api = guesser.get(f"/api/v1/certificates/verify/{_code(certificate)}/")
    assert api.status_code == 429 and api.json()["error"]["code"] == "throttled"
    assert Client(REMOTE_ADDR="10.0.0.10").get(f"/verify/{_code(certificate)}/").status_code == 200


def test_the_admin_lists_certificates_in_scope_read_only(served):
    mine = _issue(served)
    theirs = certificate_issue(actor=served.teacher_b.user, teacher_id=served.teacher_b.user_id, **YEAR)
    admin = Client()
    admin.force_login(served.county_admin_a.user)
    listing = admin.get("/admin/service_records/servicecertificate/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert _code(mine) in html and _code(theirs) not in html
    page = admin.get(f"/admin/service_records/servicecertificate/{theirs.pk}/change/")
    assert page.status_code in (302, 404)
    detail = admin.get(f"/admin/service_records/servicecertificate/{mine.pk}/change/")
    assert detail.status_code == 200 and f"/verify/{_code(mine)}/" in detail.content.decode()
    assert admin.get("/admin/service_records/servicecertificate/add/").status_code == 403

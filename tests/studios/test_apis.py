import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from studios.models import Membership, Studio
from studios.services import membership_end
from tests.factories import AdminFactory, SubjectFactory, TeacherFactory
from tests.studios.factories import (
    OutreachKindFactory,
    StudioKindFactory,
    add,
    make_studio,
    superuser,
    teachers_at,
    teachers_elsewhere,
)

STUDIOS = "/api/v1/studios/"


def members_url(studio):
    return f"{STUDIOS}{studio.pk}/members/"


@pytest.fixture
def s(world):
    """world plus: a subject studio in county A hosted by teacher_a with a member, a trainee and a
    member who left; an outreach studio in county B; and the people who hold those roles."""
    kind = StudioKindFactory(name="学科工作室")
    studio = make_studio(host=world.teacher_a, kind=kind, name="鹿城数学名师工作室", subject=world.math)
    [member] = add(studio, teachers_elsewhere(world.county_b, 1))
    [trainee] = add(studio, teachers_elsewhere(world.county_b, 1), role=Membership.Role.TRAINEE)
    [leaver] = add(studio, teachers_elsewhere(world.county_b, 1))
    membership_end(actor=superuser(), membership=leaver, reason="absences", note="两次无故缺席")
    outreach = make_studio(host=world.teacher_b, kind=OutreachKindFactory(), name="泰顺送教工作站")
    return SimpleNamespace(world=world, kind=kind, studio=studio, member=member, trainee=trainee,
                           leaver=leaver, outreach=outreach)


def people(w, s=None):
    """Every role's user by name."""
    users = {name: getattr(w, name).user for name in [
        "teacher_a", "teacher_b", "student_a", "student_b", "school_admin_a", "school_admin_b",
        "county_admin_a", "county_admin_b", "city_admin", "other_city_admin"]}
    if s is not None:
        users["member"] = s.member.teacher.user
        users["trainee"] = s.trainee.teacher.user
        users["leaver"] = s.leaver.teacher.user
    return users


def english(client):
    """Messages in English (the default language is zh-hans)."""
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


def assert_error(response, status_code, code=None):
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


# --- reading --------------------------------------------------------------------------------

def test_anonymous_reads_nothing(s, api_client):
    for url in ["/api/v1/studio-kinds/", STUDIOS, f"{STUDIOS}{s.studio.pk}/", members_url(s.studio)]:
        response = api_client.get(url)
        # session authentication comes first, so DRF answers 403 (no WWW-Authenticate challenge)
        assert_error(response, response.status_code, "not_authenticated")
        assert response.status_code in (401, 403)


@pytest.mark.parametrize("who", ["student_b", "teacher_b", "school_admin_b", "other_city_admin"])
def test_studios_and_current_rosters_are_public_to_signed_in_users(s, client_for, who):
    client = client_for(people(s.world)[who])
    listed = client.get(STUDIOS).json()
    assert listed["count"] == 2
    row = next(r for r in listed["results"] if r["id"] == s.studio.pk)
    assert row["host"]["teacher"]["real_name"] == s.world.teacher_a.real_name
    assert (row["member_count"], row["trainee_count"]) == (1, 1)
    assert row["kind"]["name"] == "学科工作室"
    assert row["host_school"]["county_name"] == s.world.county_a.name

    roster = client.get(members_url(s.studio)).json()["results"]
    assert [m["role"] for m in roster] == ["host", "member", "trainee"]
    assert all(m["left_on"] is None for m in roster)


def test_studio_list_filters(s, client_for):
    client = client_for(s.world.student_a.user)
    w = s.world

    def ids(**params):
        response = client.get(STUDIOS, params)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids(county=w.county_a.pk) == {s.studio.pk}
    assert ids(city=w.city.pk) == {s.studio.pk, s.outreach.pk}
    assert ids(school=w.school_b.pk) == {s.outreach.pk}
    assert ids(kind=s.kind.pk) == {s.studio.pk}
    assert ids(subject=w.math.pk) == {s.studio.pk}
    assert ids(search="送教") == {s.outreach.pk}
    assert ids(teacher=s.member.teacher.pk) == {s.studio.pk}
    assert ids(teacher=s.leaver.teacher.pk) == set()  # left: no longer a current role
    assert ids(status="closed") == set()
    assert ids(county=2**63 - 1) == set()
    assert_error(client.get(STUDIOS, {"status": "asleep"}), 400, "invalid")
    assert_error(client.get(STUDIOS, {"county": "abc"}), 400, "invalid")
    assert_error(client.get(STUDIOS, {"kind": "1.5"}), 400, "invalid")
    for too_large in ({"county": 10**30}, {"teacher": 10**30}):  # a 400, not a crash
        assert_error(client.get(STUDIOS, too_large), 400, "invalid")


def test_detail_shows_composition_and_what_the_caller_may_do(s, client_for):
    url = f"{STUDIOS}{s.studio.pk}/"
    body = client_for(s.world.teacher_a.user).get(url).json()
    assert body["composition"] == {
        "members": 1, "members_from_host_school": 0, "members_from_other_schools": 1, "trainees": 1,
        "max_members": 8, "min_members": 5, "min_members_from_other_schools": 5,
        "max_members_from_host_school": 3, "max_trainees": 10, "min_trainees": 0}
    assert body["can"] == {"edit": True, "administer": False, "manage_members": True}
    assert client_for(s.world.county_admin_a.user).get(url).json()["can"] == {
        "edit": True, "administer": True, "manage_members": True}
    assert client_for(s.member.teacher.user).get(url).json()["can"] == {
        "edit": False, "administer": False, "manage_members": False}
    assert_error(client_for(s.world.student_a.user).get(f"{STUDIOS}{10**30}/"), 404)


def test_studio_kinds_list_limits(s, client_for):
    body = client_for(s.world.student_a.user).get("/api/v1/studio-kinds/").json()
    by_code = {k["code"]: k for k in body["results"]}
    subject = by_code[s.kind.code]
    assert (subject["max_members"], subject["min_members_from_other_schools"],
            subject["max_members_from_host_school"], subject["max_trainees"], subject["cycle_years"]) == (
        8, 5, 3, 10, 3)
    outreach = by_code[s.outreach.kind.code]
    assert (outreach["max_trainees"], outreach["min_trainees"], outreach["cycle_years"]) == (None, 10, 2)


def test_past_members_are_listed_but_only_managers_and_the_teacher_see_why_they_left(s, client_for):
    w = s.world
    url = members_url(s.studio) + "?include_past=true"

    def leaver_row(user):
        rows = client_for(user).get(url).json()["results"]
        return next(r for r in rows if r["id"] == s.leaver.pk)

    for user in [w.teacher_a.user, w.county_admin_a.user, s.leaver.teacher.user]:
        row = leaver_row(user)
        assert (row["left_reason"], row["left_note"]) == ("absences", "两次无故缺席")
    for user in [w.student_a.user, s.member.teacher.user, w.school_admin_a.user, w.county_admin_b.user]:
        row = leaver_row(user)
        assert row["left_on"] == timezone.localdate().isoformat()
        assert (row["left_reason"], row["left_note"]) == (None, None)

    current_only = client_for(w.student_a.user).get(members_url(s.studio)).json()["results"]
    assert s.leaver.pk not in {r["id"] for r in current_only}
    trainees = client_for(w.student_a.user).get(members_url(s.studio), {"role": "trainee"}).json()
    assert [r["id"] for r in trainees["results"]] == [s.trainee.pk]


# --- creating -------------------------------------------------------------------------------

def create_payload(s, **extra):
    return {"name": "瑞安语文名师工作室", "kind": s.kind.pk, "host": s.world.teacher_a.pk, **extra}


@pytest.mark.parametrize("who", ["county_admin_a", "city_admin"])
def test_regional_administrators_create_studios_in_their_region(s, client_for, who):
    response = client_for(people(s.world)[who]).post(STUDIOS, create_payload(
        s, cycle_start="2026-09-01", description="语文"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["host"]["teacher"]["id"] == s.world.teacher_a.pk
    assert body["host_school"]["id"] == s.world.school_a.pk
    assert (body["cycle_start"], body["cycle_end"], body["status"]) == ("2026-09-01", "2029-09-01", "active")
    studio = Studio.objects.get(pk=body["id"])
    assert studio.history.get().history_user == people(s.world)[who]


@pytest.mark.parametrize("who", ["student_a", "teacher_a", "school_admin_a", "county_admin_b",
                                 "other_city_admin", "member"])
def test_create_refused(s, client_for, who):
    before = Studio.objects.count()
    response = english(client_for(people(s.world, s)[who])).post(STUDIOS, create_payload(s))
    error = assert_error(response, 403, "studio_create_forbidden")
    assert "administrators" in error["message"]
    assert Studio.objects.count() == before


def test_create_reports_bad_input_as_400(s, client_for):
    client = client_for(s.world.county_admin_a.user)
    assert_error(client.post(STUDIOS, {}), 400, "invalid")
    error = assert_error(client.post(STUDIOS, create_payload(s, kind=10**30)), 400, "invalid")
    assert "kind" in error["fields"]
    error = assert_error(client.post(STUDIOS, create_payload(s, host=s.world.student_a.pk)), 400)
    assert "host" in error["fields"]  # a student cannot host
    for bad_host in [10**30, 0, -1, "1.5", True, [1]]:  # a 400 naming the field, never a crash
        error = assert_error(client.post(STUDIOS, create_payload(s, host=bad_host)), 400, "invalid")
        assert "host" in error["fields"]
    error = assert_error(client.post(members_url(s.studio), {"teacher": 10**30, "role": "member"}), 400)
    assert "teacher" in error["fields"]
    error = assert_error(client.post(STUDIOS, create_payload(
        s, cycle_start="2026-09-01", cycle_end="2026-01-01")), 400, "studio_cycle_invalid")
    assert "cycle_end" in error["fields"]
    assert_error(client.post(STUDIOS, create_payload(s, name="鹿城数学名师工作室")), 409, "studio_name_taken")
    assert_error(client.post(STUDIOS, create_payload(s, cycle_start="next week")), 400, "invalid")
    error = assert_error(client.post(STUDIOS, create_payload(s, cycle_start="9999-06-01")), 400,
                         "studio_cycle_invalid")
    assert "cycle_start" in error["fields"]


# --- changing -------------------------------------------------------------------------------

def test_host_patches_the_description_but_not_the_cycle(s, client_for):
    url = f"{STUDIOS}{s.studio.pk}/"
    client = english(client_for(s.world.teacher_a.user))
    response = client.patch(url, {"description": "课例研讨"})
    assert response.status_code == 200 and response.json()["description"] == "课例研讨"
    error = assert_error(client.patch(url, {"cycle_end": "2030-01-01"}), 403, "studio_admin_only")
    assert "cycle_end" in error["message"]
    error = assert_error(client.patch(url, {"kind": s.outreach.kind.pk}), 400, "invalid")
    assert "kind" in error["fields"]  # a studio's kind is fixed: not silently ignored either


@pytest.mark.parametrize("who", ["member", "trainee", "student_a", "teacher_b", "school_admin_a",
                                 "county_admin_b", "other_city_admin"])
def test_patch_refused(s, client_for, who):
    response = client_for(people(s.world, s)[who]).patch(f"{STUDIOS}{s.studio.pk}/", {"description": "x"})
    assert_error(response, 403, "studio_edit_forbidden")
    s.studio.refresh_from_db()
    assert s.studio.description == ""


def test_administrator_patches_name_subject_and_cycle(s, client_for):
    english = SubjectFactory(code="english", name="英语")
    response = client_for(s.world.county_admin_a.user).patch(f"{STUDIOS}{s.studio.pk}/", {
        "name": "鹿城英语名师工作室", "subject": english.pk, "cycle_end": "2028-12-31"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["subject"], body["cycle_end"]) == (
        "鹿城英语名师工作室", english.pk, "2028-12-31")


# --- roster ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["teacher_a", "county_admin_a", "city_admin"])
def test_host_and_regional_administrators_add_members(s, client_for, who):
    [teacher] = teachers_elsewhere(s.world.county_b, 1)
    response = client_for(people(s.world)[who]).post(members_url(s.studio), {
        "teacher": teacher.pk, "role": "member"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["teacher"]["id"], body["role"], body["joined_on"], body["left_on"]) == (
        teacher.pk, "member", timezone.localdate().isoformat(), None)


@pytest.mark.parametrize("who", ["member", "trainee", "leaver", "student_a", "teacher_b", "school_admin_a",
                                 "county_admin_b", "other_city_admin"])
def test_add_and_end_refused(s, client_for, who):
    client = client_for(people(s.world, s)[who])
    [teacher] = teachers_elsewhere(s.world.county_b, 1)
    assert_error(client.post(members_url(s.studio), {"teacher": teacher.pk, "role": "trainee"}), 403,
                 "studio_members_forbidden")
    assert_error(client.post(f"{members_url(s.studio)}{s.member.pk}/end/", {"reason": "removed"}), 403,
                 "studio_members_forbidden")
    assert s.studio.memberships.filter(left_on__isnull=True).count() == 3


def test_add_refusals_name_the_limit(s, client_for):
    client = english(client_for(s.world.teacher_a.user))
    url = members_url(s.studio)
    for teacher in teachers_elsewhere(s.world.county_b, 7):
        assert client.post(url, {"teacher": teacher.pk, "role": "member"}).status_code == 201
    [extra] = teachers_elsewhere(s.world.county_b, 1)
    error = assert_error(client.post(url, {"teacher": extra.pk, "role": "member"}), 400,
                         "studio_member_limit")
    assert error["message"] == "This studio already has 8 members, the most a 学科工作室 allows."
    in_chinese = client_for(s.world.teacher_a.user).post(url, {"teacher": extra.pk, "role": "member"})
    message = assert_error(in_chinese, 400, "studio_member_limit")["message"]
    assert "8" in message and "学科工作室" in message and "This studio" not in message

    error = assert_error(client.post(url, {"teacher": s.member.teacher.pk, "role": "trainee"}),
                         409, "studio_already_member")
    assert s.member.teacher.real_name in error["message"]
    assert_error(client.post(url, {"teacher": extra.pk, "role": "host"}), 400, "invalid")
    assert_error(client.post(url, {"teacher": extra.pk, "role": "trainee", "joined_on": "2999-01-01"}), 400,
                 "membership_date_invalid")


def test_host_school_share_refusal_over_the_api(s, client_for):
    client = english(client_for(s.world.county_admin_a.user))
    url = members_url(s.studio)
    for teacher in teachers_at(s.world.school_a, 3):
        assert client.post(url, {"teacher": teacher.pk, "role": "member"}).status_code == 201
    [fourth] = teachers_at(s.world.school_a, 1)
    error = assert_error(client.post(url, {"teacher": fourth.pk, "role": "member"}), 400,
                         "studio_host_school_member_limit")
    assert "at least 5 of its 8 members" in error["message"]


def test_end_membership(s, client_for):
    client = client_for(s.world.teacher_a.user)
    url = f"{members_url(s.studio)}{s.trainee.pk}/end/"
    assert_error(client.post(url, {"reason": "other"}), 400, "membership_note_required")
    assert_error(client.post(url, {"reason": "studio_closed"}), 400, "invalid")
    assert_error(client.post(url, {}), 400, "invalid")
    response = client.post(url, {"reason": "resigned", "note": "工作调动"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["left_on"], body["left_reason"], body["left_note"]) == (
        timezone.localdate().isoformat(), "resigned", "工作调动")
    assert Membership.objects.filter(pk=s.trainee.pk).exists()  # kept
    assert_error(client.post(url, {"reason": "resigned"}), 409, "membership_ended")

    host = s.studio.memberships.get(role="host")
    assert_error(client.post(f"{members_url(s.studio)}{host.pk}/end/", {"reason": "resigned"}), 400,
                 "studio_host_end")
    # a membership of another studio is not found under this one
    other = s.outreach.memberships.get(role="host")
    assert_error(client.post(f"{members_url(s.studio)}{other.pk}/end/", {"reason": "removed"}), 404)
    assert_error(client.post(f"{members_url(s.studio)}{10**30}/end/", {"reason": "removed"}), 404)


# --- host change and closing ----------------------------------------------------------------

def test_host_change_by_a_county_administrator(s, client_for):
    response = client_for(s.world.county_admin_a.user).post(f"{STUDIOS}{s.studio.pk}/host/", {
        "teacher": s.member.teacher.pk, "note": "原主持人退休"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["host"]["teacher"]["id"] == s.member.teacher.pk
    assert body["member_count"] == 0  # the member became the host
    assert not client_for(s.world.teacher_a.user).get(f"{STUDIOS}{s.studio.pk}/").json()["can"]["edit"]


@pytest.mark.parametrize("who", ["teacher_a", "member", "student_a", "school_admin_a", "county_admin_b",
                                 "other_city_admin"])
def test_host_change_and_close_refused(s, client_for, who):
    client = client_for(people(s.world, s)[who])
    assert_error(client.post(f"{STUDIOS}{s.studio.pk}/host/", {"teacher": s.member.teacher.pk}), 403,
                 "studio_admin_only")
    assert_error(client.post(f"{STUDIOS}{s.studio.pk}/close/", {}), 403, "studio_admin_only")
    s.studio.refresh_from_db()
    assert s.studio.status == "active"
    assert s.studio.memberships.get(role="host", left_on__isnull=True).teacher == s.world.teacher_a


def test_close_studio(s, client_for):
    client = client_for(s.world.city_admin.user)
    response = client.post(f"{STUDIOS}{s.studio.pk}/close/", {"note": "周期届满"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["closed_on"]) == ("closed", timezone.localdate().isoformat())
    assert body["host"]["teacher"]["id"] == s.world.teacher_a.pk  # the host when it closed
    assert (body["member_count"], body["trainee_count"]) == (0, 0)
    assert body["can"] == {"edit": False, "administer": False, "manage_members": False}
    assert_error(client.post(f"{STUDIOS}{s.studio.pk}/close/", {}), 409, "studio_closed")
    assert_error(client.patch(f"{STUDIOS}{s.studio.pk}/", {"description": "x"}), 409, "studio_closed")
    [teacher] = teachers_elsewhere(s.world.county_b, 1)
    assert_error(client.post(members_url(s.studio), {"teacher": teacher.pk, "role": "member"}), 409,
                 "studio_closed")
    listed = client.get(STUDIOS, {"status": "closed"}).json()["results"]
    assert [r["id"] for r in listed] == [s.studio.pk]


def test_list_queries_do_not_grow_with_studios(s, client_for, django_assert_max_num_queries):
    for n in range(5):
        host = TeacherFactory(school=s.world.school_a)
        studio = make_studio(host=host, name=f"工作室{n}")
        add(studio, teachers_elsewhere(s.world.county_b, 2))
    client = client_for(AdminFactory(level="city", region=s.world.city, school=None).user)
    with django_assert_max_num_queries(6):
        response = client.get(STUDIOS)
    assert response.json()["count"] == 7


def test_dates_in_the_past_register_an_existing_studio(s, client_for):
    client = client_for(s.world.county_admin_a.user)
    response = client.post(STUDIOS, create_payload(s, name="旧工作室", cycle_start="2023-09-01"))
    studio_id = response.json()["id"]
    host = Membership.objects.get(studio_id=studio_id, role="host")
    assert host.joined_on == datetime.date(2023, 9, 1)

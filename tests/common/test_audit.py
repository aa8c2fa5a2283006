"""GET /api/v1/audit/: the audit trail, from the side of those who must be refused or must not
see other scopes' changes, and what an administrator reads in it."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import StudentProfile
from common.audit import AUDITED, AUDITED_LABELS, history_model
from tests.factories import SchoolFactory, SubjectFactory, UserFactory
from tests.studios.factories import make_studio

URL = "/api/v1/audit/"


def change(obj, by, **fields):
    """Saves ``fields`` on ``obj`` as ``by`` would through the admin or a service."""
    for name, value in fields.items():
        setattr(obj, name, value)
    obj._history_user = by
    obj.save()
    return obj


def entries(client, **params) -> list[dict]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def objects(results, model) -> set[int]:
    return {e["object_id"] for e in results if e["model"] == model}


# --- refused ----------------------------------------------------------------------------------


def test_anonymous_is_refused(api_client, world):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("who", ["student_a", "teacher_a"])
def test_students_and_teachers_are_refused(client_for, world, who):
    response = client_for(getattr(world, who).user).get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_an_administrator"


def test_staff_without_an_administrator_profile_is_refused(client_for, world):
    response = client_for(UserFactory(is_staff=True)).get(URL)
    assert response.status_code == 403


def test_county_administrator_sees_only_their_countys_changes(client_for, world):
    by = world.city_admin.user
    change(world.teacher_a, by, staff_number="T-A2")
    change(world.teacher_b, by, staff_number="T-B2")
    change(world.student_b, by, class_name="9班")
    change(world.school_b, by, name="泰顺新校名")
    change(world.school_admin_b, by, real_name="乙校管理员")
    results = entries(client_for(world.county_admin_a.user), page_size=200)
    assert objects(results, "accounts.teacherprofile") == {world.teacher_a.pk}
    assert objects(results, "accounts.studentprofile") == {world.student_a.pk}
    assert objects(results, "regions.school") == {world.school_a.pk}
    assert objects(results, "regions.region") == {world.county_a.pk}
    assert objects(results, "accounts.administratorprofile") == {world.school_admin_a.pk,
                                                                 world.county_admin_a.pk}
    users = objects(results, "accounts.user")
    assert world.teacher_a.user_id in users and world.student_a.user_id in users
    assert not users & {world.teacher_b.user_id, world.student_b.user_id, world.city_admin.user_id}
    # Asking for another county's object by id finds nothing.
    assert entries(client_for(world.county_admin_a.user), model="accounts.teacherprofile",
                   object_id=world.teacher_b.pk) == []


def test_school_administrator_sees_their_school_only(client_for, world):
    results = entries(client_for(world.school_admin_a.user), page_size=200)
    assert objects(results, "accounts.studentprofile") == {world.student_a.pk}
    assert objects(results, "accounts.administratorprofile") == {world.school_admin_a.pk}
    assert objects(results, "regions.region") == set()


def test_superuser_sees_every_city(client_for, world):
    root = UserFactory(is_superuser=True, is_staff=True)
    results = entries(client_for(root), model="regions.school", page_size=200)
    assert world.other_school.pk in objects(results, "regions.school")


def test_studio_changes_are_scoped_by_host_school(client_for, world):
    studio_a = make_studio(host=world.teacher_a, name="鹿城数学名师工作室")
    studio_b = make_studio(host=world.teacher_b, name="泰顺科学名师工作室")
    results = entries(client_for(world.county_admin_a.user), page_size=200)
    assert objects(results, "studios.studio") == {studio_a.pk}
    memberships = [e for e in results if e["model"] == "studios.membership"]
    assert memberships and all("鹿城数学名师工作室" in e["object_repr"] for e in memberships)
    assert studio_b.pk in objects(entries(client_for(world.county_admin_b.user)), "studios.studio")


# --- what an administrator reads --------------------------------------------------------------


def test_a_change_says_who_when_what_and_each_field_before_and_after(client_for, world):
    other_school = SchoolFactory(county=world.county_a, name="鹿城第二中学")
    physics = SubjectFactory(code="physics", name="物理")
    teacher = world.teacher_a
    old_number = teacher.staff_number
    change(teacher, world.county_admin_a.user, staff_number="T-NEW", school=other_school)
    teacher._history_user = world.county_admin_a.user
    teacher.subjects.add(physics)

    results = entries(client_for(world.county_admin_a.user), model="accounts.teacherprofile",
                      object_id=teacher.pk)
    # Newest first: the subject added, the two fields saved, ..., the teacher created.
    subjects_entry, fields_entry, created_entry = results[0], results[1], results[-1]
    assert fields_entry["change_type"] == "changed"
    assert fields_entry["changed_by"]["username"] == world.county_admin_a.user.username
    assert fields_entry["object_repr"] == teacher.real_name
    assert fields_entry["model_name"]
    changes = {c["field"]: c for c in fields_entry["changes"]}
    assert set(changes) == {"staff_number", "school"}
    assert (changes["staff_number"]["old"], changes["staff_number"]["new"]) == (old_number, "T-NEW")
    assert (changes["school"]["old"], changes["school"]["new"]) == (world.school_a.pk, other_school.pk)
    assert changes["school"]["old_display"] == "鹿城实验中学"
    assert changes["school"]["new_display"] == "鹿城第二中学"
    assert datetime.datetime.fromisoformat(fields_entry["changed_at"]) <= timezone.now()

    (subjects,) = subjects_entry["changes"]
    assert subjects["field"] == "subjects"
    assert subjects["old"] == [world.math.pk]
    assert sorted(subjects["new"]) == sorted([world.math.pk, physics.pk])
    assert set(subjects["new_display"].split(", ")) == {"数学", "物理"}
    assert created_entry["change_type"] == "created"
    assert {c["field"] for c in created_entry["changes"]} >= {"school", "staff_number", "real_name"}


def test_a_deletion_shows_what_was_deleted(client_for, world):
    student = world.student_a
    student_id = student.pk
    student._history_user = world.school_admin_a.user
    student.delete()
    assert not StudentProfile.objects.filter(pk=student_id).exists()
    (deleted,) = entries(client_for(world.county_admin_a.user), model="accounts.studentprofile",
                         change_type="deleted")
    assert deleted["object_id"] == student_id
    assert deleted["changed_by"]["id"] == world.school_admin_a.user_id
    fields = {c["field"]: c for c in deleted["changes"]}
    assert fields["student_number"]["old"] == student.student_number
    assert fields["student_number"]["new"] is None


def test_a_teacher_moved_to_another_county_is_seen_there(client_for, world):
    change(world.teacher_a, world.city_admin.user, school=world.school_b)
    moves = entries(client_for(world.county_admin_b.user), model="accounts.teacherprofile",
                    object_id=world.teacher_a.pk, change_type="changed")
    assert len(moves) == 1 and moves[0]["changes"][0]["new"] == world.school_b.pk


def test_choices_are_named(client_for, world):
    change(world.school_admin_a, world.city_admin.user, level="county", region=world.county_a, school=None)
    (entry,) = entries(client_for(world.city_admin.user), model="accounts.administratorprofile",
                       object_id=world.school_admin_a.pk, change_type="changed")
    level = next(c for c in entry["changes"] if c["field"] == "level")
    assert (level["old"], level["new"]) == ("school", "county")
    assert level["new_display"] == "县区"  # the label, in the default language


# --- filters and pages ------------------------------------------------------------------------


def test_filters_by_user_change_type_and_days(client_for, world):
    client = client_for(world.city_admin.user)
    change(world.teacher_a, world.county_admin_a.user, real_name="改名教师")
    mine = entries(client, user=world.county_admin_a.user_id)
    assert [e["object_id"] for e in mine] == [world.teacher_a.pk]
    assert all(e["change_type"] == "created" for e in entries(client, change_type="created", page_size=200))
    today = timezone.localdate()
    assert entries(client, date_from=today.isoformat(), date_to=today.isoformat())
    assert entries(client, date_from=(today + datetime.timedelta(days=1)).isoformat()) == []
    assert entries(client, date_to=(today - datetime.timedelta(days=1)).isoformat()) == []


@pytest.mark.parametrize("params,field", [
    ({"model": "accounts.importjob"}, "model"),
    ({"object_id": "abc"}, "object_id"),
    ({"object_id": str(2**70)}, "object_id"),
    ({"user": "0"}, "user"),
    ({"change_type": "x"}, "change_type"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"date_from": "0001-01-01"}, "date_from"),
    ({"date_from": "2026-02-02", "date_to": "2026-02-01"}, "date_to"),
])
def test_bad_filters_are_a_400_naming_the_parameter(client_for, world, params, field):
    response = client_for(world.city_admin.user).get(URL, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_list_is_paginated_newest_first(client_for, world):
    client = client_for(UserFactory(is_superuser=True, is_staff=True))
    first = client.get(URL, {"page_size": 5}).json()
    assert first["count"] > 5 and len(first["results"]) == 5 and first["next"]
    second = client.get(first["next"]).json()
    ids = [e["id"] for e in first["results"] + second["results"]]
    assert len(set(ids)) == len(ids)
    dates = [e["changed_at"] for e in first["results"] + second["results"]]
    assert dates == sorted(dates, reverse=True)
    assert client.get(URL, {"page": 999}).status_code == 404


def test_a_page_costs_the_same_queries_whatever_its_length(client_for, world):
    client = client_for(UserFactory(is_superuser=True, is_staff=True))
    for n in range(30):
        change(world.teacher_a, world.city_admin.user, real_name=f"教师{n}")
        change(world.student_a, world.city_admin.user, class_name=f"{n}班")
    entries(client, page_size=1)  # once per user and period: the usage counter's first visit
    with CaptureQueriesContext(connection) as small:
        assert len(entries(client, page_size=4)) == 4
    with CaptureQueriesContext(connection) as large:
        assert len(entries(client, page_size=60)) == 60
    assert len(large.captured_queries) == len(small.captured_queries)


def test_every_registered_model_has_a_history():
    assert len(AUDITED_LABELS) == len(set(AUDITED_LABELS)) == len(AUDITED)
    for label in AUDITED_LABELS:
        assert history_model(label)._meta.model_name.startswith("historical")

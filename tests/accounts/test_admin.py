"""People in the Django admin, from the side of the administrator who must be refused:
other counties' and schools' people, escalation through the forms, staff without a role."""

import pytest
from django.contrib.auth.models import Group, Permission
from knox.models import AuthToken

from accounts.models import AdministratorProfile, StudentProfile, TeacherProfile, User
from tests.common.admin_support import admin_client, refused, staff_without_profile, superuser
from tests.factories import GradeFactory, TeacherTierFactory, UserFactory

NEW_PASSWORD = "Blue-Lantern-42"  # noqa: S105


def user_change_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/change/"


def profile_url(kind: str, profile) -> str:
    return f"/admin/accounts/{kind}/{profile.pk}/change/"


def user_form(user, **changes) -> dict:
    data = {"username": user.username, "display_name": user.display_name, "first_name": "",
            "last_name": "", "email": "", "is_active": "on"}
    data.update(changes)
    return data


# --- what an administrator sees ---------------------------------------------------------------


def test_user_list_holds_only_people_in_scope_and_oneself(world):
    root = superuser()
    page = admin_client(world.county_admin_a.user).get("/admin/accounts/user/").content.decode()
    for visible in [world.teacher_a, world.student_a, world.school_admin_a, world.county_admin_a]:
        assert visible.user.username in page
    for hidden in [world.teacher_b, world.student_b, world.school_admin_b, world.county_admin_b,
                   world.city_admin, world.other_city_admin]:
        assert hidden.user.username not in page
    assert root.username not in page


def test_school_administrator_lists_only_their_school(world):
    client = admin_client(world.school_admin_a.user)
    students = client.get("/admin/accounts/studentprofile/").content.decode()
    teachers = client.get("/admin/accounts/teacherprofile/").content.decode()
    assert world.student_a.real_name in students and world.student_b.real_name not in students
    assert world.teacher_a.real_name in teachers and world.teacher_b.real_name not in teachers


def test_city_administrator_sees_both_counties_but_not_another_city(world):
    page = admin_client(world.city_admin.user).get("/admin/accounts/administratorprofile/").content.decode()
    for visible in [world.county_admin_a, world.county_admin_b, world.school_admin_a, world.school_admin_b]:
        assert visible.real_name in page
    assert world.other_city_admin.real_name not in page


@pytest.mark.parametrize("kind,attr", [
    ("teacherprofile", "teacher_b"), ("studentprofile", "student_b"),
    ("administratorprofile", "school_admin_b"), ("administratorprofile", "county_admin_b"),
])
def test_county_administrator_cannot_open_another_countys_people(world, kind, attr):
    client = admin_client(world.county_admin_a.user)
    profile = getattr(world, attr)
    for url in [profile_url(kind, profile), user_change_url(profile.user),
                f"/admin/accounts/{kind}/{profile.pk}/history/",
                f"/admin/accounts/user/{profile.user_id}/password/"]:
        response = client.get(url)
        assert refused(response), (url, response.status_code)
        assert profile.real_name not in response.content.decode()


@pytest.mark.parametrize("kind,attr", [("teacherprofile", "teacher_b"), ("studentprofile", "student_b"),
                                       ("administratorprofile", "school_admin_b")])
def test_school_administrator_cannot_open_another_schools_people(world, kind, attr):
    profile = getattr(world, attr)
    response = admin_client(world.school_admin_a.user).get(profile_url(kind, profile))
    assert refused(response)


def test_posting_to_an_out_of_scope_person_changes_nothing(world):
    client = admin_client(world.county_admin_a.user)
    teacher = world.teacher_b
    response = client.post(user_change_url(teacher.user), user_form(teacher.user, display_name="被改了"))
    assert refused(response)
    response = client.post(f"/admin/accounts/user/{teacher.user_id}/password/",
                           {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert refused(response)
    teacher.user.refresh_from_db()
    assert teacher.user.display_name != "被改了"
    assert teacher.user.check_password("Correct-Horse-9")


def test_staff_without_an_administrator_profile_sees_and_touches_nothing(world):
    client = admin_client(staff_without_profile())
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "/admin/accounts/" not in index.content.decode()
    for url in ["/admin/accounts/user/", "/admin/accounts/teacherprofile/", "/admin/regions/school/",
                user_change_url(world.teacher_a.user), profile_url("studentprofile", world.student_a)]:
        assert client.get(url).status_code == 403, url
    teacher = world.teacher_a.user
    response = client.post(user_change_url(teacher), user_form(teacher, display_name="x"))
    assert response.status_code == 403


def test_students_and_teachers_cannot_enter_the_admin(world):
    for person in [world.student_a, world.teacher_a]:
        response = admin_client(person.user).get("/admin/accounts/user/")
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- no escalation ----------------------------------------------------------------------------


def test_administrator_cannot_grant_superuser_staff_groups_or_permissions(world):
    group = Group.objects.create(name="所有权限")
    permission = Permission.objects.get(codename="change_user")
    client = admin_client(world.county_admin_a.user)
    user = world.teacher_a.user
    page = client.get(user_change_url(user)).content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page

    response = client.post(user_change_url(user), user_form(
        user, display_name="王老师", is_staff="on", is_superuser="on", groups=[group.pk],
        user_permissions=[permission.pk]))
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.display_name == "王老师"  # the form was accepted...
    assert not user.is_superuser and not user.is_staff  # ...without the privileges
    assert not user.groups.exists() and not user.user_permissions.exists()


def test_administrator_cannot_change_their_own_account_or_role(world):
    me = world.county_admin_a
    client = admin_client(me.user)
    assert client.get(user_change_url(me.user)).status_code == 200  # read-only
    response = client.post(user_change_url(me.user), user_form(me.user, display_name="我自己"))
    assert response.status_code == 403
    response = client.post(profile_url("administratorprofile", me),
                           {"level": "city", "region": world.city.pk, "school": "",
                            "real_name": me.real_name})
    assert response.status_code == 403
    me.refresh_from_db()
    assert me.level == "county"


def test_administrator_cannot_change_a_peer_or_a_superuser(world):
    school_admin = world.school_admin_a
    peer = AdministratorProfile.objects.create(
        user=UserFactory(username="peer", is_staff=True), level="school", school=world.school_a,
        real_name="同校管理员")
    root = superuser()
    TeacherProfile.objects.create(user=root, school=world.school_a, staff_number="R1", real_name="超管教师")
    client = admin_client(school_admin.user)
    response = client.post(user_change_url(peer.user), user_form(peer.user, is_active=""))
    assert response.status_code == 403
    response = client.post(user_change_url(root), user_form(root, is_active=""))
    assert response.status_code == 403
    peer.user.refresh_from_db()
    root.refresh_from_db()
    assert peer.user.is_active and root.is_active


def test_only_superusers_add_bare_accounts(world):
    client = admin_client(world.city_admin.user)
    assert client.get("/admin/accounts/user/add/").status_code == 403
    response = client.post("/admin/accounts/user/add/", {
        "username": "intruder", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
        "usable_password": "true"})
    assert response.status_code == 403
    assert not User.objects.filter(username="intruder").exists()


def admin_profile_form(**fields) -> dict:
    data = {"user": "", "new_username": "", "new_display_name": "", "new_password": NEW_PASSWORD,
            "level": "", "region": "", "school": "", "real_name": "新管理员"}
    data.update(fields)
    return data


@pytest.mark.parametrize("fields,field_at_fault", [
    ({"level": "county", "region": "county_a"}, "level"),  # own level
    ({"level": "city", "region": "city"}, "level"),  # wider
    ({"level": "school", "school": "school_b"}, "school"),  # outside the county
])
def test_county_administrator_cannot_appoint_at_their_level_wider_or_outside(world, fields, field_at_fault):
    data = admin_profile_form(new_username="escalated",
                              **{k: getattr(world, v).pk if k in ("region", "school") else v
                                 for k, v in fields.items()})
    response = admin_client(world.county_admin_a.user).post("/admin/accounts/administratorprofile/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get(field_at_fault)
    assert not User.objects.filter(username="escalated").exists()


@pytest.mark.parametrize("fields", [
    {"level": "city", "region": "city"},
    {"level": "county", "region": "other_county"},
    {"level": "school", "school": "other_school"},
])
def test_city_administrator_cannot_appoint_a_city_administrator_or_in_another_city(world, fields):
    data = admin_profile_form(new_username="escalated",
                              **{k: getattr(world, v).pk if k in ("region", "school") else v
                                 for k, v in fields.items()})
    response = admin_client(world.city_admin.user).post("/admin/accounts/administratorprofile/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not User.objects.filter(username="escalated").exists()


def test_school_administrator_cannot_appoint_administrators(world):
    client = admin_client(world.school_admin_a.user)
    assert client.get("/admin/accounts/administratorprofile/add/").status_code == 403
    response = client.post("/admin/accounts/administratorprofile/add/", admin_profile_form(
        new_username="escalated", level="school", school=world.school_a.pk))
    assert response.status_code == 403
    assert not User.objects.filter(username="escalated").exists()


@pytest.mark.parametrize("candidate", ["student_a", "county_admin_b", "school_admin_a", "superuser"])
def test_only_teachers_in_scope_can_be_made_administrators(world, candidate):
    user = superuser() if candidate == "superuser" else getattr(world, candidate).user
    response = admin_client(world.county_admin_a.user).post(
        "/admin/accounts/administratorprofile/add/",
        admin_profile_form(user=user.pk, new_password="", level="school", school=world.school_a.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get("user")


def test_county_administrator_moving_a_school_administrator_out_of_the_county_is_refused(world):
    target = world.school_admin_a
    response = admin_client(world.county_admin_a.user).post(
        profile_url("administratorprofile", target),
        {"level": "school", "region": "", "school": world.school_b.pk, "real_name": target.real_name})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get("school")
    target.refresh_from_db()
    assert target.school_id == world.school_a.pk


def test_region_must_match_the_level(world):
    response = admin_client(superuser()).post("/admin/accounts/administratorprofile/add/", admin_profile_form(
        new_username="mismatch", level="county", region=world.city.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get("region")


# --- what an administrator may do -------------------------------------------------------------


def test_county_administrator_appoints_a_school_administrator_who_can_enter_the_admin(world):
    client = admin_client(world.county_admin_a.user)
    response = client.post("/admin/accounts/administratorprofile/add/", admin_profile_form(
        new_username="principal_a", new_display_name="校长", level="school", school=world.school_a.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = User.objects.get(username="principal_a")
    assert created.is_staff and not created.is_superuser
    assert created.must_change_password and created.check_password(NEW_PASSWORD)
    assert created.admin_profile.school == world.school_a
    history = created.admin_profile.history.latest()
    assert history.history_user == world.county_admin_a.user and history.history_type == "+"


def test_making_an_existing_teacher_an_administrator_sets_is_staff(world):
    teacher = world.teacher_a
    assert not teacher.user.is_staff
    response = admin_client(world.city_admin.user).post(
        "/admin/accounts/administratorprofile/add/",
        admin_profile_form(user=teacher.user_id, new_password="", level="school", school=world.school_a.pk,
                           real_name=teacher.real_name))
    assert response.status_code == 302, response.context["adminform"].form.errors
    teacher.user.refresh_from_db()
    assert teacher.user.is_staff and teacher.user.admin_profile.level == "school"
    assert teacher.user.history.latest().history_user == world.city_admin.user


def test_superuser_deleting_an_administrator_takes_them_out_of_the_admin(world):
    target = world.school_admin_b
    response = admin_client(superuser()).post(
        f"/admin/accounts/administratorprofile/{target.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    target.user.refresh_from_db()
    assert not target.user.is_staff


def test_administrators_cannot_delete_people(world):
    client = admin_client(world.county_admin_a.user)
    response = client.post(f"/admin/accounts/studentprofile/{world.student_a.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert StudentProfile.objects.filter(pk=world.student_a.pk).exists()


def test_school_administrator_adds_a_student_with_an_initial_password(world):
    grade = GradeFactory()
    data = {"new_username": "new_student", "new_display_name": "小明", "new_password": NEW_PASSWORD,
            "school": world.school_a.pk, "grade": grade.pk, "class_name": "2班",
            "student_number": "ST-NEW-1", "real_name": "王小明"}
    client = admin_client(world.school_admin_a.user)
    page = client.get("/admin/accounts/studentprofile/add/").content.decode()
    assert 'name="user"' not in page  # no picking someone else's account
    response = client.post("/admin/accounts/studentprofile/add/", {**data, "school": world.school_b.pk})
    assert response.status_code == 200 and response.context["adminform"].form.errors.get("school")
    assert not User.objects.filter(username="new_student").exists()

    response = client.post("/admin/accounts/studentprofile/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    student = StudentProfile.objects.get(user__username="new_student")
    assert student.school == world.school_a and student.user.must_change_password
    assert not student.user.is_staff


def test_new_account_needs_a_free_username_and_a_strong_password(world):
    client = admin_client(world.school_admin_a.user)
    grade = GradeFactory()
    base = {"new_display_name": "", "school": world.school_a.pk, "grade": grade.pk, "class_name": "",
            "student_number": "ST-X", "real_name": "某某"}
    response = client.post("/admin/accounts/studentprofile/add/",
                           {**base, "new_username": world.teacher_a.user.username.upper(),
                            "new_password": NEW_PASSWORD})
    assert response.context["adminform"].form.errors.get("new_username")
    response = client.post("/admin/accounts/studentprofile/add/",
                           {**base, "new_username": "fresh", "new_password": "12345678"})
    assert response.context["adminform"].form.errors.get("new_password")
    response = client.post("/admin/accounts/studentprofile/add/",
                           {**base, "new_username": "", "new_password": ""})
    assert response.context["adminform"].form.errors.get("new_username")


def test_school_administrator_cannot_assign_teacher_tiers(world):
    tier = TeacherTierFactory(code="county-backbone", name="县骨干", rank=3)
    teacher = world.teacher_a
    original_tier = teacher.tier_id
    form = {"school": world.school_a.pk, "staff_number": teacher.staff_number, "real_name": teacher.real_name,
            "subjects": [world.math.pk], "tier": tier.pk}
    response = admin_client(world.school_admin_a.user).post(profile_url("teacherprofile", teacher), form)
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.tier_id == original_tier
    response = admin_client(world.county_admin_a.user).post(profile_url("teacherprofile", teacher), form)
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.tier_id == tier.pk


def test_password_set_in_the_admin_must_be_changed_and_ends_tokens(world):
    user = world.teacher_a.user
    AuthToken.objects.create(user=user)
    response = admin_client(world.school_admin_a.user).post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and user.must_change_password
    assert not AuthToken.objects.filter(user=user).exists()


# --- form choices are limited to the scope ----------------------------------------------------


def autocomplete(client, model_name: str, field_name: str) -> set[str]:
    response = client.get("/admin/autocomplete/", {"app_label": "accounts", "model_name": model_name,
                                                   "field_name": field_name, "term": ""})
    assert response.status_code == 200
    return {item["text"] for item in response.json()["results"]}


def test_school_and_user_choices_are_limited_to_the_scope(world):
    client = admin_client(world.county_admin_a.user)
    assert autocomplete(client, "studentprofile", "school") == {world.school_a.name}
    # Only teachers in scope who are not administrators yet may be appointed.
    assert autocomplete(client, "administratorprofile", "user") == {str(world.teacher_a.user)}
    page = client.get("/admin/accounts/administratorprofile/add/").content.decode()
    assert f'value="{world.county_a.pk}"' not in page  # no county to pick for a county administrator
    city_page = admin_client(world.city_admin.user).get("/admin/accounts/administratorprofile/add/")
    region_choices = {str(r) for r in city_page.context["adminform"].form.fields["region"].queryset}
    assert region_choices == {world.county_a.name, world.county_b.name}
    levels = [value for value, _ in city_page.context["adminform"].form.fields["level"].choices if value]
    assert levels == ["county", "school"]


# --- history ----------------------------------------------------------------------------------


def test_history_shows_who_changed_what_and_is_read_only_for_administrators(world):
    teacher = world.teacher_a
    client = admin_client(world.county_admin_a.user)
    form = {"school": world.school_a.pk, "staff_number": "T-NEW", "real_name": teacher.real_name,
            "subjects": [world.math.pk], "tier": teacher.tier_id or ""}
    assert client.post(profile_url("teacherprofile", teacher), form).status_code == 302
    page = client.get(f"/admin/accounts/teacherprofile/{teacher.pk}/history/").content.decode()
    assert "T-NEW" in page and teacher.staff_number in page  # before and after
    assert world.county_admin_a.user.username in page or str(world.county_admin_a.user) in page

    first = teacher.history.earliest()
    version_url = f"/admin/accounts/teacherprofile/{teacher.pk}/history/{first.history_id}/"
    assert client.get(version_url).status_code == 200
    response = client.post(version_url, {**form, "staff_number": first.staff_number})
    assert response.status_code == 403
    teacher.refresh_from_db()
    assert teacher.staff_number == "T-NEW"


def test_history_of_an_out_of_scope_object_is_not_shown(world):
    teacher = world.teacher_b
    version = teacher.history.earliest()
    client = admin_client(world.county_admin_a.user)
    for url in [f"/admin/accounts/teacherprofile/{teacher.pk}/history/",
                f"/admin/accounts/teacherprofile/{teacher.pk}/history/{version.history_id}/",
                f"/admin/accounts/user/{teacher.user_id}/history/"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert teacher.real_name not in response.content.decode()


def test_teacher_profile_admin_lists_teachers_with_their_tier(world):
    page = admin_client(world.city_admin.user).get("/admin/accounts/teacherprofile/").content.decode()
    assert world.teacher_a.real_name in page and world.teacher_b.real_name in page
    assert TeacherProfile.objects.count() == 2


# --- superusers -------------------------------------------------------------------------------


def test_superusers_add_bare_accounts_and_grant_privileges(world):
    root = superuser()
    client = admin_client(root)
    response = client.post("/admin/accounts/user/add/", {
        "username": "operator", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
        "usable_password": "true"})
    assert response.status_code == 302
    operator = User.objects.get(username="operator")
    page = client.get(user_change_url(operator)).content.decode()
    assert 'name="is_superuser"' in page
    response = client.post(user_change_url(operator), user_form(operator, is_staff="on", is_superuser="on"))
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.is_staff and operator.is_superuser
    assert operator.history.latest().history_user == root

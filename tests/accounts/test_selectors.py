"""accounts.selectors and regions.selectors: who may see whom, answered once per entity."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import StudentProfile
from accounts.selectors import (
    administrator_list_visible,
    student_list_visible,
    student_real_name_visible,
    teacher_list_visible,
    user_is_admin,
    user_list_managed,
    user_role,
)
from regions.selectors import school_in_scope, school_list_in_scope
from tests.factories import AdminFactory, StudentFactory, TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["student_a", "student_b", "teacher_a", "teacher_b", "school_admin_a", "school_admin_b",
         "county_admin_a", "county_admin_b", "city_admin", "other_city_admin"]


def _user(world, name):
    return getattr(world, name).user


def test_roles(world):
    assert user_role(_user(world, "student_a")) == "student"
    assert user_role(_user(world, "teacher_a")) == "teacher"
    assert user_role(_user(world, "county_admin_a")) == "admin"
    assert user_role(UserFactory(is_superuser=True)) == "admin"
    assert user_role(UserFactory()) == "none"
    assert user_role(AnonymousUser()) == "none"
    assert not user_is_admin(AnonymousUser())


@pytest.mark.parametrize("viewer", ROLES)
def test_real_name_rule_agrees_with_the_list_rule_for_every_pair(world, viewer):
    """The per-row predicate (no queries) and the queryset answer the same question the same
    way, for every viewer and student."""
    user = _user(world, viewer)
    listed = set(student_list_visible(user=user).values_list("pk", flat=True))
    for student in StudentProfile.objects.select_related("school"):
        assert student_real_name_visible(user=user, student=student) == (student.pk in listed), (
            viewer, student.pk)


@pytest.mark.parametrize(("viewer", "allowed"), [
    ("student_a", True),  # themself
    ("teacher_a", True),  # own school's teacher
    ("school_admin_a", True),
    ("county_admin_a", True),
    ("city_admin", True),
    ("student_b", False),  # another student
    ("teacher_b", False),  # another school's teacher
    ("school_admin_b", False),  # another school's administrator
    ("county_admin_b", False),  # another county's administrator
    ("other_city_admin", False),  # another city's administrator
])
def test_student_real_name_visibility(world, viewer, allowed):
    assert student_real_name_visible(user=_user(world, viewer), student=world.student_a) is allowed


def test_real_name_is_hidden_from_a_classmate_and_from_anonymous(world):
    classmate = StudentFactory(school=world.school_a)
    assert not student_real_name_visible(user=classmate.user, student=world.student_a)
    assert not student_real_name_visible(user=AnonymousUser(), student=world.student_a)


def test_real_name_predicate_runs_no_query_once_profiles_are_loaded(world, django_assert_num_queries):
    students = list(StudentProfile.objects.select_related("school"))
    user = _user(world, "county_admin_a")
    user_role(user)  # loads the viewer's profiles once, as the request's first access does
    getattr(user, "teacher_profile", None)
    with django_assert_num_queries(0):
        for student in students * 50:
            student_real_name_visible(user=user, student=student)


def test_anonymous_sees_nobody(world):
    anonymous = AnonymousUser()
    assert not student_list_visible(user=anonymous).exists()
    assert not teacher_list_visible(user=anonymous).exists()
    assert not administrator_list_visible(user=anonymous).exists()
    assert not user_list_managed(user=anonymous).exists()


def test_teachers_visible_to_everyone_signed_in_but_not_inactive_ones(world):
    world.teacher_b.user.is_active = False
    world.teacher_b.user.save()
    for viewer in ROLES:
        assert list(teacher_list_visible(user=_user(world, viewer))) == [world.teacher_a]


@pytest.mark.parametrize(("viewer", "visible"), [
    ("school_admin_a", {"school_admin_a"}),
    ("county_admin_a", {"county_admin_a", "school_admin_a"}),
    ("city_admin", {"city_admin", "county_admin_a", "county_admin_b", "school_admin_a", "school_admin_b"}),
    ("other_city_admin", {"other_city_admin"}),
    ("teacher_a", set()),
])
def test_administrators_visible_within_scope(world, viewer, visible):
    got = set(administrator_list_visible(user=_user(world, viewer)).values_list("pk", flat=True))
    assert got == {getattr(world, name).pk for name in visible}


@pytest.mark.parametrize(("actor", "managed"), [
    ("school_admin_a", {"student_a", "teacher_a"}),
    ("county_admin_b", {"student_b", "teacher_b"}),
    ("city_admin", {"student_a", "teacher_a", "student_b", "teacher_b"}),
    ("other_city_admin", set()),
    ("teacher_a", set()),
    ("student_a", set()),
])
def test_user_list_managed(world, actor, managed):
    got = set(user_list_managed(user=_user(world, actor)).values_list("pk", flat=True))
    assert got == {_user(world, name).pk for name in managed}


def test_user_list_managed_never_holds_administrators_staff_or_superusers(world):
    staff_teacher = TeacherFactory(school=world.school_a, user__is_staff=True)
    super_student = StudentFactory(school=world.school_a, user__is_superuser=True)
    admin_teacher = AdminFactory(level="county", region=world.county_a, school=None)
    TeacherFactory(user=admin_teacher.user, school=world.school_a)
    managed = set(user_list_managed(user=_user(world, "city_admin")).values_list("pk", flat=True))
    assert not managed & {staff_teacher.user_id, super_student.user_id, admin_teacher.user_id}


@pytest.mark.parametrize("viewer", ROLES)
def test_school_in_scope_agrees_with_school_list_in_scope(world, viewer):
    user = _user(world, viewer)
    in_scope = set(school_list_in_scope(user=user).values_list("pk", flat=True))
    for school in (world.school_a, world.school_b, world.other_school):
        assert school_in_scope(user=user, school=school) == (school.pk in in_scope)

"""What a user may see of other people. Every list of people in the API goes through these.

Rules (minors' data is minimal):
- teachers are public within the platform (name, school, subjects, tier): famous teachers
  are the point of the platform;
- a student is visible to themself, to teachers of their own school and to administrators
  whose scope holds their school; anybody else sees only their display name, elsewhere;
- administrators are visible to administrators whose scope contains theirs, and to themselves.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import AdministratorProfile, StudentProfile, TeacherProfile, User
from regions.selectors import school_list_in_scope, school_scope_q


def user_role(user) -> str:
    """'admin', 'teacher', 'student' or 'none' (the first that applies)."""
    if not user.is_authenticated:
        return "none"
    if user.is_superuser or hasattr(user, "admin_profile"):
        return "admin"
    if hasattr(user, "teacher_profile"):
        return "teacher"
    if hasattr(user, "student_profile"):
        return "student"
    return "none"


def user_is_admin(user) -> bool:
    return user.is_authenticated and (user.is_superuser or hasattr(user, "admin_profile"))


def teacher_list_visible(*, user) -> QuerySet[TeacherProfile]:
    return (
        TeacherProfile.objects.filter(user__is_active=True)
        .select_related("user", "school", "school__county", "tier")
        .prefetch_related("subjects")
    )


def student_list_visible(*, user) -> QuerySet[StudentProfile]:
    qs = StudentProfile.objects.select_related("user", "school", "school__county", "grade")
    if not user.is_authenticated:
        return qs.none()
    if user_is_admin(user):
        return qs.filter(school_scope_q(user, prefix="school__"))
    teacher = getattr(user, "teacher_profile", None)
    if teacher is not None:
        return qs.filter(school_id=teacher.school_id)
    return qs.filter(user_id=user.pk)


def student_real_name_visible(*, user, student: StudentProfile) -> bool:
    """A student's real name: themself, their school's teachers, administrators in scope."""
    if not user.is_authenticated:
        return False
    if user.pk == student.user_id:
        return True
    return student_list_visible(user=user).filter(pk=student.pk).exists()


def administrator_list_visible(*, user) -> QuerySet[AdministratorProfile]:
    qs = AdministratorProfile.objects.select_related("user", "region", "school")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    profile = getattr(user, "admin_profile", None)
    if profile is None:
        return qs.none()
    in_scope = Q(school__in=_school_pks_in_scope(user))
    if profile.level == "city":
        in_scope |= Q(region_id=profile.region_id) | Q(region__parent_id=profile.region_id)
    elif profile.level == "county":
        in_scope |= Q(region_id=profile.region_id)
    return qs.filter(in_scope | Q(user_id=user.pk))


def _school_pks_in_scope(user):
    return school_list_in_scope(user=user).values("pk")


def user_list_managed(*, user) -> QuerySet[User]:
    """Accounts whose password this administrator may reset: students and teachers of the
    schools in scope (school administrators reset passwords of their own school)."""
    if not user_is_admin(user):
        return User.objects.none()
    schools = _school_pks_in_scope(user)
    return User.objects.filter(
        Q(student_profile__school__in=schools) | Q(teacher_profile__school__in=schools)
    ).distinct()

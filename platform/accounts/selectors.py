"""What a user may see of other people. Every list of people in the API goes through these.

Rules (minors' data is minimal):
- teachers are public within the platform (name, school, subjects, tier): famous teachers
  are the point of the platform;
- a student is visible to themself, to teachers of their own school and to administrators
  whose scope holds their school; anybody else sees only their display name, elsewhere (a
  student's real name is never shown to other students, other schools' teachers, or
  administrators of other schools, counties or cities);
- administrators are visible to administrators whose scope contains theirs, and to themselves.

The ``*_visible`` functions answer for a whole list (a queryset); the per-object predicates
answer from rows and profiles already loaded, without queries, so a serializer may call them
once per row.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import AdministratorProfile, StudentProfile, TeacherProfile, TeacherTier, User
from regions.selectors import school_in_scope, school_list_in_scope, school_scope_q


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
    """Every active teacher, for every signed-in user."""
    qs = (
        TeacherProfile.objects.filter(user__is_active=True)
        .select_related("user", "school", "tier")
        .prefetch_related("subjects")
    )
    if not user.is_authenticated:
        return qs.none()
    return qs


def teacher_tier_list(*, user) -> QuerySet[TeacherTier]:
    """Teacher tiers are reference data for every signed-in user."""
    if not user.is_authenticated:
        return TeacherTier.objects.none()
    return TeacherTier.objects.all()


def _student_visibility_q(user) -> Q:
    visible = Q(user_id=user.pk)
    if user_is_admin(user):
        visible |= school_scope_q(user, prefix="school__")
    teacher = getattr(user, "teacher_profile", None)
    if teacher is not None:
        visible |= Q(school_id=teacher.school_id)
    return visible


def student_list_visible(*, user) -> QuerySet[StudentProfile]:
    """Students the user may see: themself; their school's students for a teacher; the
    students of the schools in scope for an administrator (all for a superuser)."""
    qs = StudentProfile.objects.select_related("user", "school", "grade")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(_student_visibility_q(user))


def student_real_name_visible(*, user, student: StudentProfile) -> bool:
    """A student's real name: themself, their school's teachers, administrators in scope.
    The same rule as ``student_list_visible``, decided without a query from the student's
    school (loaded with the row) and the user's profiles (cached on the user)."""
    if not user.is_authenticated:
        return False
    if user.pk == student.user_id:
        return True
    if user_is_admin(user) and school_in_scope(user=user, school=student.school):
        return True
    teacher = getattr(user, "teacher_profile", None)
    return teacher is not None and teacher.school_id == student.school_id


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
    schools in scope (a school administrator: their own school's). Never administrators,
    staff or superusers (a teacher who is also an administrator is reset by a superuser),
    nor the administrator themself (they change their own password)."""
    if not user_is_admin(user):
        return User.objects.none()
    schools = _school_pks_in_scope(user)
    return (
        User.objects.filter(
            Q(student_profile__school__in=schools) | Q(teacher_profile__school__in=schools)
        )
        .exclude(admin_profile__isnull=False)
        .exclude(is_superuser=True)
        .exclude(is_staff=True)
        .exclude(pk=user.pk)
        .distinct()
    )


def user_list_visible(*, user) -> QuerySet[User]:
    """Accounts an administrator may look up (the Django admin's user list, the audit trail):
    the students and teachers of the schools in scope, the administrators of
    ``administrator_list_visible``, and themself. Superusers see every account; anybody else
    only their own."""
    if not user.is_authenticated:
        return User.objects.none()
    if user.is_superuser:
        return User.objects.all()
    visible = Q(pk=user.pk)
    if user_is_admin(user):
        schools = _school_pks_in_scope(user)
        visible |= (
            Q(pk__in=StudentProfile.objects.filter(school__in=schools).values("user_id"))
            | Q(pk__in=TeacherProfile.objects.filter(school__in=schools).values("user_id"))
            | Q(pk__in=administrator_list_visible(user=user).values("user_id"))
        )
    return User.objects.filter(visible)

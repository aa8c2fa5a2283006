"""Reads of places. ``school_list_in_scope`` is the one answer to "which schools does this
administrator govern"; every scoped list in the platform builds on it (``school_scope_q`` for
querysets, ``school_in_scope`` for one school already loaded).

Places and school structure (regions, schools, stages, subjects, grades) are public within the
platform: every signed-in user may list them; anonymous users see nothing."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from regions.models import Grade, Region, School, SchoolStage, Subject


def school_scope_q(user, *, prefix: str = "") -> Q:
    """A Q over a School relation (``prefix`` e.g. "school__") matching the schools that
    ``user`` administers. Empty match (pk__in=[]) for non-administrators; all for superusers."""
    if user.is_superuser:
        return Q()
    profile = getattr(user, "admin_profile", None)
    if profile is None:
        return Q(**{f"{prefix}pk__in": []})
    if profile.level == "city":
        return Q(**{f"{prefix}city_id": profile.region_id})
    if profile.level == "county":
        return Q(**{f"{prefix}county_id": profile.region_id})
    return Q(**{f"{prefix}pk": profile.school_id})


def school_in_scope(*, user, school: School) -> bool:
    """Whether ``user`` administers ``school``: the rule of ``school_scope_q`` for one school,
    decided from its county and city ids without a query."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = getattr(user, "admin_profile", None)
    if profile is None:
        return False
    if profile.level == "city":
        return school.city_id == profile.region_id
    if profile.level == "county":
        return school.county_id == profile.region_id
    return school.pk == profile.school_id


def school_list_in_scope(*, user) -> QuerySet[School]:
    """Schools the administrator governs (none for other users, all for superusers)."""
    return School.objects.filter(school_scope_q(user)).select_related("county", "city")


def school_list(*, user) -> QuerySet[School]:
    """Schools any signed-in user may look up (names and places of schools are public)."""
    if not user.is_authenticated:
        return School.objects.none()
    return School.objects.select_related("county", "city").prefetch_related("stages")


def region_list(*, user) -> QuerySet[Region]:
    """Cities and counties, for every signed-in user."""
    if not user.is_authenticated:
        return Region.objects.none()
    return Region.objects.select_related("parent")


def school_stage_list(*, user) -> QuerySet[SchoolStage]:
    if not user.is_authenticated:
        return SchoolStage.objects.none()
    return SchoolStage.objects.all()


def subject_list(*, user) -> QuerySet[Subject]:
    if not user.is_authenticated:
        return Subject.objects.none()
    return Subject.objects.all()


def grade_list(*, user) -> QuerySet[Grade]:
    if not user.is_authenticated:
        return Grade.objects.none()
    return Grade.objects.all()


def region_in_scope(*, user, region: Region) -> bool:
    """Whether ``region`` (a city or county) lies within the administrator's scope."""
    if user.is_superuser:
        return True
    profile = getattr(user, "admin_profile", None)
    if profile is None or profile.level == "school":
        return False
    if profile.level == "city":
        return region.pk == profile.region_id or region.parent_id == profile.region_id
    return region.pk == profile.region_id


def region_scope_q(user, *, prefix: str = "") -> Q:
    """A Q over a Region relation (``prefix`` e.g. "county__") matching the cities and counties
    within the administrator's scope: a city administrator's city and its counties, a county
    administrator's county, nothing for school administrators and other users; all for
    superusers. The rule of ``region_in_scope`` for querysets."""
    if user.is_superuser:
        return Q()
    profile = getattr(user, "admin_profile", None)
    if profile is None or profile.level == "school":
        return Q(**{f"{prefix}pk__in": []})
    if profile.level == "city":
        return Q(**{f"{prefix}pk": profile.region_id}) | Q(**{f"{prefix}parent_id": profile.region_id})
    return Q(**{f"{prefix}pk": profile.region_id})

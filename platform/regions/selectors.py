"""Reads of places. ``school_list_in_scope`` is the one answer to "which schools does this
administrator govern"; every scoped list in the platform builds on it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from regions.models import Region, School


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


def school_list_in_scope(*, user) -> QuerySet[School]:
    """Schools the administrator governs (none for other users, all for superusers)."""
    return School.objects.filter(school_scope_q(user)).select_related("county", "city")


def school_list(*, user) -> QuerySet[School]:
    """Schools any signed-in user may look up (names and places of schools are public)."""
    return School.objects.select_related("county", "city").prefetch_related("stages")


def region_list(*, user) -> QuerySet[Region]:
    return Region.objects.select_related("parent")


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

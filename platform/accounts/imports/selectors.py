"""Which import jobs a user may see: their own, and those started by administrators whose scope
lies within theirs (a county administrator sees the jobs of the county's schools' administrators).
Superusers see all; nobody else sees any."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import ImportJob


def import_job_list_visible(*, user) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("created_by")
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    profile = getattr(user, "admin_profile", None)
    if profile is None:
        return qs.none()
    if profile.level == "city":
        in_scope = (Q(scope_region_id=profile.region_id) | Q(scope_region__parent_id=profile.region_id)
                    | Q(scope_school__city_id=profile.region_id))
    elif profile.level == "county":
        in_scope = Q(scope_region_id=profile.region_id) | Q(scope_school__county_id=profile.region_id)
    else:
        in_scope = Q(scope_level=ImportJob.ScopeLevel.SCHOOL, scope_school_id=profile.school_id)
    return qs.filter(in_scope | Q(created_by_id=user.pk))

"""Review models in the Django admin (registered from service_records/admin.py).

Disputes and flags are read-only here: resolving them writes the ledger, which only the
services do (the API), so the admin shows them with their history. Daily usage is read-only;
county enrolment figures (the adoption report's denominators) are edited here by city and
county administrators for their counties."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.admin import ScopedAdmin
from service_records.models import CountyEnrolment, DailyUsage, EventFlag, ServiceDispute
from service_records.review.selectors import adoption_county_list


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceDisputeAdmin(_ReadOnly, ScopedAdmin):
    scope_path = "teacher__teacher_profile__school"
    list_display = ["id", "teacher", "type", "status", "created_at", "resolved_at", "resolved_by"]
    list_filter = ["status", "type"]
    list_select_related = ["teacher", "resolved_by"]
    search_fields = ["teacher__teacher_profile__real_name", "description"]
    date_hierarchy = "created_at"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class EventFlagAdmin(_ReadOnly, ScopedAdmin):
    scope_path = "event__teacher__teacher_profile__school"
    list_display = ["id", "event", "status", "flagged_by", "created_at", "resolved_at"]
    list_filter = ["status"]
    list_select_related = ["event", "flagged_by"]
    date_hierarchy = "created_at"


class _CountyScoped:
    """Rows of a county: limited to the counties whose adoption figures the user may read."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(county__in=adoption_county_list(user=request.user))

    def has_module_permission(self, request):
        profile = getattr(request.user, "admin_profile", None)
        return request.user.is_superuser or (profile is not None and profile.level in ("city", "county"))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


class DailyUsageAdmin(_ReadOnly, _CountyScoped, admin.ModelAdmin):
    list_display = ["day", "county", "role", "visits", "active_users"]
    list_filter = ["role"]
    list_select_related = ["county"]
    date_hierarchy = "day"


class CountyEnrolmentAdmin(_CountyScoped, ScopedAdmin):
    scope_path = None
    list_display = ["county", "school_year", "students_enrolled", "teachers_employed"]
    list_select_related = ["county"]

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "county":
            kwargs["queryset"] = adoption_county_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not adoption_county_list(user=request.user).filter(pk=obj.county_id).exists():
            raise PermissionDenied(_("This county is outside your scope."))
        super().save_model(request, obj, form, change)


def register(site=admin.site) -> None:
    site.register(ServiceDispute, ServiceDisputeAdmin)
    site.register(EventFlag, EventFlagAdmin)
    site.register(DailyUsage, DailyUsageAdmin)
    site.register(CountyEnrolment, CountyEnrolmentAdmin)

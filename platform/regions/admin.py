"""Places in the Django admin, scoped to the administrator and audited (common.admin.ScopedAdmin).

- Regions (cities, counties): a city administrator sees their city and its counties, a county
  administrator their county, school administrators none. Only superusers add or change them:
  the region tree is the frame of every scope.
- Schools: each administrator sees the schools in scope. City and county administrators add and
  change them, within their scope (the county to choose is one of theirs); a school's code is
  the key of the onboarding imports and is fixed once set, except for superusers. School
  administrators read their school.
- School stages, subjects and grades are platform-wide reference data: every administrator
  reads them, superusers edit them (common.admin.ReferenceDataAdmin).
"""

from django.contrib import admin

from common.admin import ReferenceDataAdmin, ScopedAdmin
from regions.models import Grade, Region, School, SchoolStage, Subject
from regions.selectors import region_scope_q


def _is_regional_administrator(user) -> bool:
    profile = getattr(user, "admin_profile", None)
    return user.is_superuser or (profile is not None and profile.level in ("city", "county"))


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    scope_path = None  # scoped by get_scope_q: the regions in scope
    list_display = ["code", "name", "kind", "parent"]
    list_filter = ["kind"]
    list_select_related = ["parent"]
    search_fields = ["code", "name"]

    def get_scope_q(self, request):
        return None if request.user.is_superuser else region_scope_q(request.user)

    def has_module_permission(self, request):
        return request.user.is_active and _is_regional_administrator(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_regional_administrator(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(School)
class SchoolAdmin(ScopedAdmin):
    scope_path = ""  # the school itself
    list_display = ["code", "name", "county", "city"]
    list_filter = [("county", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["county", "city"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "county", "city", "stages"]
    filter_horizontal = ["stages"]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["city"]  # always the county's city (School.save)
        if obj is not None and not request.user.is_superuser:
            readonly.append("code")
        return readonly

    def has_add_permission(self, request):
        return _is_regional_administrator(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return _is_regional_administrator(request.user) and super().has_change_permission(request, obj)


@admin.register(SchoolStage)
class SchoolStageAdmin(ReferenceDataAdmin):
    list_display = ["code", "name", "order"]
    search_fields = ["code", "name"]


@admin.register(Subject)
class SubjectAdmin(ReferenceDataAdmin):
    list_display = ["code", "name", "order"]
    search_fields = ["code", "name"]


@admin.register(Grade)
class GradeAdmin(ReferenceDataAdmin):
    list_display = ["code", "name", "stage", "order"]
    list_filter = ["stage"]
    list_select_related = ["stage"]
    search_fields = ["code", "name"]

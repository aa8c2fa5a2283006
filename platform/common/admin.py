"""Admin classes shared by every app: scoped to the administrator's region, audited."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from regions.selectors import school_scope_q


class ScopedAdmin(SimpleHistoryAdmin):
    """A ModelAdmin whose rows are limited to the schools the administrator governs.

    ``scope_path`` is the lookup from the model to a School ("" for School itself,
    "school" for a profile, "host_school" for a studio). Superusers see everything; staff
    without an administrator profile see nothing. Changes are recorded by simple-history
    (who, when, before and after) and shown under each object's History.
    """

    scope_path: str | None = "school"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if self.scope_path is None or request.user.is_superuser:
            return qs
        prefix = f"{self.scope_path}__" if self.scope_path else ""
        return qs.filter(school_scope_q(request.user, prefix=prefix))

    def has_module_permission(self, request):
        return request.user.is_superuser or hasattr(request.user, "admin_profile")

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


__all__ = ["ScopedAdmin", "admin"]

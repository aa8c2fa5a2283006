"""Notifications in the Django admin: read-only, limited to the recipients the administrator
may look up (accounts.selectors.user_list_visible)."""

from django.contrib import admin
from django.db.models import Q

from common.admin import ScopedAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ScopedAdmin):
    scope_path = None
    list_display = ["title", "recipient", "kind", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "recipient__username"]
    list_select_related = ["recipient"]
    readonly_fields = ["recipient", "kind", "title", "body", "link", "dedupe_key", "created_at", "read_at"]

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        from accounts.selectors import user_list_visible

        return Q(recipient__in=user_list_visible(user=request.user).values("pk"))

    def has_add_permission(self, request):
        return False  # notifications are written by the platform (notifications.services.notify)

    def has_change_permission(self, request, obj=None):
        return False

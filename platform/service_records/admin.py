"""service_records in the Django admin: the ledger's models here, each other part of the app
registers its own (assessment, review, exports).

The ledger is append-only: events and chain heads are read-only for everybody (a correction is
a compensating event, recorded by ``service_event_correct`` through the review API). Event kinds
are platform-wide data: every administrator reads them, superusers add and edit them."""

from django.contrib import admin

from common.admin import ReferenceDataAdmin, ScopedAdmin
from service_records.assessment.admin import register as register_assessment
from service_records.exports.admin import register as register_exports
from service_records.models import LedgerHead, ServiceEvent, ServiceEventKind
from service_records.review.admin import register as register_review


class _ReadOnlyLedger:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceEventKindAdmin(ReferenceDataAdmin):
    list_display = ["code", "name", "unit", "is_active"]
    list_filter = ["unit", "is_active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        # Events and schemes name a kind by its code: it never changes once the kind exists.
        return ["code"] if obj is not None else []


class ServiceEventAdmin(_ReadOnlyLedger, ScopedAdmin):
    scope_path = "teacher__teacher_profile__school"
    list_display = ["id", "teacher", "sequence", "kind", "occurred_at", "quantity", "accepted", "rating",
                    "corrects", "recorded_at"]
    list_filter = ["kind"]
    list_select_related = ["teacher", "kind"]
    search_fields = ["idempotency_key", "teacher__username", "teacher__teacher_profile__real_name"]
    show_full_result_count = False  # the ledger holds millions of rows
    readonly_fields = ["teacher", "sequence", "kind", "source_type", "source_id", "occurred_at",
                       "quantity", "rating", "accepted", "review_outcome", "idempotency_key", "recorded_at",
                       "recorded_by", "corrects", "reason", "prev_hash", "hash"]
    fields = readonly_fields


class LedgerHeadAdmin(_ReadOnlyLedger, ScopedAdmin):
    scope_path = "teacher__teacher_profile__school"
    list_display = ["teacher", "sequence", "last_hash"]
    list_select_related = ["teacher"]
    search_fields = ["teacher__username", "teacher__teacher_profile__real_name"]
    show_full_result_count = False
    readonly_fields = ["teacher", "sequence", "last_hash"]
    fields = readonly_fields


def register(site=admin.site) -> None:
    site.register(ServiceEventKind, ServiceEventKindAdmin)
    site.register(ServiceEvent, ServiceEventAdmin)
    site.register(LedgerHead, LedgerHeadAdmin)


register()
register_assessment()
register_review()
register_exports()

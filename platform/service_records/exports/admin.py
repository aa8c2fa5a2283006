"""Service certificates in the Django admin (registered from service_records/admin.py):
read-only, limited to the teachers of the schools in the administrator's scope. Certificates
are issued through the API or the teacher's pages (``services.certificate_issue``), never
typed in here."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.admin import ScopedAdmin
from service_records.exports.selectors import certificate_code_display
from service_records.models import ExportJob, ServiceCertificate


class ServiceCertificateAdmin(ScopedAdmin):
    scope_path = "teacher__teacher_profile__school"
    list_display = ["display_code", "teacher", "period_label", "period_start", "period_end", "chain_sequence",
                    "issued_at", "issued_by"]
    list_select_related = ["teacher", "issued_by"]
    search_fields = ["code", "teacher__teacher_profile__real_name", "teacher__username"]
    date_hierarchy = "issued_at"
    readonly_fields = ["display_code", "teacher", "period_label", "period_start", "period_end", "result",
                       "chain_sequence", "chain_hash", "totals", "issued_at", "issued_by", "verify_link"]
    fields = readonly_fields

    @admin.display(description=_("verification code"), ordering="code")
    def display_code(self, obj):
        return certificate_code_display(obj.code)

    @admin.display(description=_("public verification"))
    def verify_link(self, obj):
        url = reverse("certificate-verify-page", kwargs={"code": certificate_code_display(obj.code)})
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ExportJobAdmin(ScopedAdmin):
    """Export jobs, read-only: an administrator sees their own (the files hold personal data of
    their whole scope), superusers every job. Files are downloaded through the API."""

    scope_path = None
    list_display = ["id", "kind", "format", "status", "requested_by", "size", "created_at", "finished_at"]
    list_filter = ["status", "format"]
    list_select_related = ["requested_by"]
    readonly_fields = ["kind", "format", "params", "status", "requested_by", "file", "size", "error",
                       "created_at", "started_at", "finished_at"]
    fields = readonly_fields

    def get_scope_q(self, request):
        return None if request.user.is_superuser else Q(requested_by=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def register(site=admin.site) -> None:
    site.register(ServiceCertificate, ServiceCertificateAdmin)
    site.register(ExportJob, ExportJobAdmin)

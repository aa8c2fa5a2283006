"""Studios in the Django admin, scoped to the administrator's region and audited.

Kinds are reference data edited by superusers. Studios' descriptive data and cycle can be
edited here (through ``studio_update``, so the same rules and permissions hold); rosters are
read-only here, because adding and ending memberships must pass the limits the services
check: use the API for those. Every change shows under the object's History."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.admin import ScopedAdmin
from common.errors import ServiceError
from studios.models import Membership, Studio, StudioKind
from studios.selectors import can_administer_studio, can_edit_studio
from studios.services import HOST_EDITABLE_FIELDS, studio_close, studio_update


@admin.register(StudioKind)
class StudioKindAdmin(ScopedAdmin):
    scope_path = None  # reference data: every administrator may read it
    list_display = ["code", "name", "cycle_years", "max_members", "min_members_from_other_schools",
                    "min_trainees", "max_trainees", "is_active", "order"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["teacher", "role", "joined_on", "left_on", "left_reason", "left_note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["left_on", "role", "joined_on"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("teacher")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Studio)
class StudioAdmin(ScopedAdmin):
    scope_path = "host_school"
    list_display = ["name", "kind", "host_school", "subject", "cycle_start", "cycle_end", "status"]
    list_filter = ["status", "kind", "host_school__county"]
    search_fields = ["name", "host_school__name"]
    list_select_related = ["kind", "host_school", "subject"]
    fields = ["name", "kind", "host_school", "subject", "stage", "description", "cycle_start",
              "cycle_end", "status", "closed_on", "created_at", "updated_at"]
    readonly_fields = ["kind", "host_school", "status", "closed_on", "created_at", "updated_at"]
    inlines = [MembershipInline]
    actions = ["close_studios"]

    def has_add_permission(self, request):
        return False  # a studio starts with its host: create it through the API (studio_create)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return obj.is_active and can_edit_studio(request.user, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not can_administer_studio(request.user, obj):
            readonly += [f for f in self.fields if f not in HOST_EDITABLE_FIELDS and f not in readonly]
        return readonly

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in form.changed_data if field in form.cleaned_data}
        studio_update(actor=request.user, studio=obj, data=data)

    def save_related(self, request, form, formsets, change):
        pass  # the roster is read-only here

    @admin.action(description=_("Close the selected studios (ends every current membership)"))
    def close_studios(self, request, queryset):
        closed = 0
        for studio in queryset.filter(status=Studio.Status.ACTIVE):
            try:
                studio_close(actor=request.user, studio=studio)
            except ServiceError as exc:
                self.message_user(request, f"{studio}: {exc.message}", messages.ERROR)
            else:
                closed += 1
        if closed:
            self.message_user(request, ngettext("%(count)d studio closed.", "%(count)d studios closed.",
                                                closed) % {"count": closed}, messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    scope_path = "studio__host_school"
    list_display = ["teacher", "studio", "role", "joined_on", "left_on", "left_reason"]
    list_filter = ["role", "left_reason", "studio__kind"]
    search_fields = ["teacher__real_name", "studio__name"]
    list_select_related = ["teacher", "studio"]
    readonly_fields = ["studio", "teacher", "role", "joined_on", "left_on", "left_reason", "left_note",
                       "created_at"]

    def has_add_permission(self, request):
        return False  # memberships change through the API, which checks the studio's limits

    def has_change_permission(self, request, obj=None):
        return False


# Activities, attendance, leave and statistics register their own admin pages.
from studios.activities import admin as _activities_admin  # noqa: E402, F401

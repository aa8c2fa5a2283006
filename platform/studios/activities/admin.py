"""Studio activities in the Django admin: read-only pages scoped to the administrator's region
(the paper trail changes only through the services, which the API calls), an action that lets
the office approve submitted reports through ``activity_review``, and a read-only statistics
page with each studio's figures for a year or for its cycle."""

from __future__ import annotations

import datetime

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.admin import ScopedAdmin
from common.errors import ServiceError
from studios.activities.models import (
    Activity,
    ActivityAttachment,
    ActivityReview,
    Attendance,
    LeaveRequest,
    StudioStatistics,
)
from studios.activities.selectors import studio_figures
from studios.activities.services import activity_review


class ReadOnlyScopedAdmin(ScopedAdmin):
    """Viewing only: these rows change through the services (state machine, limits, events)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttachmentInline(_ReadOnlyInline):
    model = ActivityAttachment
    fields = ["original_name", "size", "file", "uploaded_by", "uploaded_at"]


class ReviewInline(_ReadOnlyInline):
    model = ActivityReview
    fields = ["reviewer", "outcome", "comment", "created_at"]


class AttendanceInline(_ReadOnlyInline):
    model = Attendance
    fields = ["membership", "status"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership__teacher", "membership__studio")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyScopedAdmin):
    scope_path = "studio__host_school"
    list_display = ["title", "studio", "kind", "starts_at", "is_online", "state"]
    list_filter = ["state", "kind", "is_online", "studio__host_school__county"]
    search_fields = ["title", "studio__name"]
    list_select_related = ["studio"]
    date_hierarchy = "starts_at"
    inlines = [AttachmentInline, AttendanceInline, ReviewInline]
    actions = ["approve_reports"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["presenters"]

    @admin.action(description=_("Approve the selected submitted reports (records the presenters' service)"))
    def approve_reports(self, request, queryset):
        approved = 0
        for activity in queryset.filter(state=Activity.State.SUBMITTED).select_related("studio__host_school"):
            try:
                activity_review(actor=request.user, activity=activity, approve=True)
            except ServiceError as exc:
                self.message_user(request, f"{activity}: {exc.message}", messages.ERROR)
            else:
                approved += 1
        if approved:
            self.message_user(request, ngettext("%(count)d report approved.", "%(count)d reports approved.",
                                                approved) % {"count": approved}, messages.SUCCESS)


@admin.register(ActivityAttachment)
class ActivityAttachmentAdmin(ReadOnlyScopedAdmin):
    scope_path = "activity__studio__host_school"
    list_display = ["original_name", "activity", "size", "uploaded_by", "uploaded_at"]
    list_select_related = ["activity", "uploaded_by"]
    search_fields = ["original_name", "activity__title"]


@admin.register(ActivityReview)
class ActivityReviewAdmin(ReadOnlyScopedAdmin):
    scope_path = "activity__studio__host_school"
    list_display = ["activity", "reviewer", "outcome", "created_at"]
    list_filter = ["outcome"]
    list_select_related = ["activity", "reviewer"]
    search_fields = ["activity__title"]


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyScopedAdmin):
    scope_path = "activity__studio__host_school"
    list_display = ["membership", "activity", "status"]
    list_filter = ["status"]
    list_select_related = ["membership__teacher", "membership__studio", "activity"]
    search_fields = ["membership__teacher__real_name", "activity__title"]


@admin.register(LeaveRequest)
class LeaveRequestAdmin(ReadOnlyScopedAdmin):
    scope_path = "activity__studio__host_school"
    list_display = ["membership", "activity", "state", "requested_at", "decided_at"]
    list_filter = ["state"]
    list_select_related = ["membership__teacher", "membership__studio", "activity"]
    search_fields = ["membership__teacher__real_name", "activity__title"]


CYCLE = "cycle"


class YearFilter(admin.SimpleListFilter):
    """Which period the figures cover: a calendar year, or each studio's own cycle (it does not
    filter the studios)."""

    title = _("period")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        this_year = timezone.localdate().year
        return [(CYCLE, _("the studio's cycle")),
                *((str(year), str(year)) for year in range(this_year, this_year - 5, -1))]

    def queryset(self, request, queryset):
        return queryset


def _figure(key: str, label):
    def column(self, obj):
        return getattr(obj, "figures", {}).get(key, "")

    column.short_description = label
    return column


@admin.register(StudioStatistics)
class StudioStatisticsAdmin(ReadOnlyScopedAdmin):
    """Each studio's figures for a year (this year unless filtered) or for its cycle: grouped
    queries per page (per distinct cycle on the page, for cycles)."""

    scope_path = "host_school"
    list_display = ["name", "host_school", "status", "resources", "lectures", "live_lectures", "activities",
                    "members_service"]
    list_filter = [YearFilter, "status", "kind", "host_school__county"]
    list_select_related = ["host_school"]
    search_fields = ["name"]
    fields = ["name", "kind", "host_school", "cycle_start", "cycle_end", "status"]
    readonly_fields = fields

    resources = _figure("resources", _("resources"))
    lectures = _figure("lectures", _("lectures"))
    live_lectures = _figure("live_lectures", _("live lectures"))
    activities = _figure("activities", _("activities"))
    members_service = _figure("members_service", _("members' service"))

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        period = request.GET.get("year", "")
        studios = list(changelist.result_list)  # evaluated once: the page renders these objects
        if period == CYCLE:
            cycles: dict[tuple[datetime.date, datetime.date], list[int]] = {}
            for studio in studios:
                cycles.setdefault((studio.cycle_start, studio.cycle_end), []).append(studio.pk)
            figures = {}
            for (start, end), ids in cycles.items():
                figures.update(studio_figures(studio_ids=ids, start=start, end=end))
        else:
            year = int(period) if period.isdigit() and 2000 <= int(period) <= 2100 else None
            year = year or timezone.localdate().year
            figures = studio_figures(studio_ids=[s.pk for s in studios], start=datetime.date(year, 1, 1),
                                     end=datetime.date(year + 1, 1, 1))
        for studio in studios:
            studio.figures = figures[studio.pk]
        return changelist

"""Assessment in the Django admin (registered from service_records/admin.py).

Schemes are edited as drafts with their indicators inline; a published or retired scheme is
read-only (make a new version: the "new version" action). Publishing goes through
``scheme_publish``, so the admin checks exactly what the API checks. Runs and incentive
outcomes are read-only; incentive rules are edited here. Everything is limited to the regions
the administrator manages."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _

from common.admin import ScopedAdmin
from common.errors import ServiceError
from regions.models import Region
from service_records.assessment.selectors import can_manage_region, managed_region_q
from service_records.assessment.services import scheme_new_version, scheme_publish
from service_records.models import (
    AssessmentResult,
    AssessmentRun,
    AssessmentScheme,
    IncentiveOutcome,
    IncentiveRule,
    Indicator,
    IndicatorScore,
)


class RegionScopedAdmin(ScopedAdmin):
    """Rows that belong to a region: limited to the regions the administrator manages."""

    scope_path = None

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(managed_region_q(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region" and not request.user.is_superuser:
            kwargs["queryset"] = Region.objects.filter(_managed_regions_q(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not can_manage_region(request.user, obj.region):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


def _managed_regions_q(user):
    """Q over Region itself: the regions ``user`` manages."""
    profile = getattr(user, "admin_profile", None)
    if profile is None or profile.level == "school":
        return Q(pk__in=[])
    if profile.level == "city":
        return Q(pk=profile.region_id) | Q(parent_id=profile.region_id)
    return Q(pk=profile.region_id)


def _is_admin(user) -> bool:
    return user.is_superuser or hasattr(user, "admin_profile")


def _is_draft(obj) -> bool:
    return obj is None or obj.status == AssessmentScheme.Status.DRAFT


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0
    fields = ["parent", "level", "code", "name", "order", "max_points", "event_kinds", "credit_per_unit",
              "cap_per_period", "accepted_weight", "low_rating_below", "low_rating_weight",
              "required_minimum", "minimum_per", "consequence"]
    ordering = ["order", "code"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").prefetch_related("event_kinds")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            scheme_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            kwargs["queryset"] = Indicator.objects.filter(scheme_id=scheme_id) if scheme_id else \
                Indicator.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Permissions follow the scheme's (an administrator edits a draft of their region's), not
    # Django's per-model permissions, which administrators do not hold.
    def has_view_permission(self, request, obj=None):
        return _is_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return _is_draft(obj) and _is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and _is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and _is_admin(request.user)


class AssessmentSchemeAdmin(RegionScopedAdmin):
    list_display = ["code", "version", "name", "region", "period_label", "status", "published_at"]
    list_filter = ["status", "region"]
    search_fields = ["code", "name"]
    list_select_related = ["region"]
    inlines = [IndicatorInline]
    fields = ["region", "code", "name", "version", "status", "period_label", "period_start", "period_end",
              "tiers", "excellent_min", "qualified_min", "supersedes", "published_at", "published_by"]
    readonly_fields = ["version", "status", "supersedes", "published_at", "published_by"]
    filter_horizontal = ["tiers"]
    actions = ["publish", "make_new_version"]

    def has_change_permission(self, request, obj=None):
        # A published or retired scheme never changes: it is shown read-only.
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # the region and code name the scheme's versions
            return [*self.readonly_fields, "region", "code"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            versions = AssessmentScheme.objects.filter(region=obj.region, code=obj.code)
            obj.version = (versions.aggregate(v=Max("version"))["v"] or 0) + 1
            current = versions.filter(status=AssessmentScheme.Status.PUBLISHED).first()
            if current is not None and not AssessmentScheme.objects.filter(supersedes=current).exists():
                obj.supersedes = current
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Publish the selected drafts"))
    def publish(self, request, queryset):
        for scheme in queryset:
            try:
                scheme_publish(scheme=scheme, actor=request.user)
            except ServiceError as exc:
                problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
                self.message_user(request, f"{scheme}: {exc.message} {problems}", messages.ERROR)
            else:
                self.message_user(request, _("Published %(scheme)s.") % {"scheme": scheme}, messages.SUCCESS)

    @admin.action(description=_("Make a new version (draft) of the selected published schemes"))
    def make_new_version(self, request, queryset):
        for scheme in queryset:
            try:
                draft = scheme_new_version(scheme=scheme, actor=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{scheme}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Created draft %(scheme)s.") % {"scheme": draft},
                                  messages.SUCCESS)


class AssessmentRunAdmin(RegionScopedAdmin):
    list_display = ["id", "scheme", "region", "status", "teacher_count", "computed_at", "finalized_at"]
    list_filter = ["status"]
    list_select_related = ["scheme", "region"]
    readonly_fields = ["scheme", "region", "status", "ledger_digest", "computed_at", "computed_by",
                       "finalized_at", "finalized_by", "teacher_count"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class IncentiveRuleAdmin(RegionScopedAdmin):
    list_display = ["code", "name", "region", "role", "grades", "stipend", "awards_eligible",
                    "title_review_eligible", "valid_from", "valid_to"]
    list_filter = ["role", "region"]
    search_fields = ["code", "name"]
    list_select_related = ["region"]


class IncentiveOutcomeAdmin(ScopedAdmin):
    scope_path = "teacher__teacher_profile__school"
    list_display = ["teacher", "run", "rule", "studio_name", "grade", "amount", "awards_eligible",
                    "title_review_eligible"]
    list_filter = ["grade", "rule"]
    list_select_related = ["teacher", "run", "rule"]
    readonly_fields = ["run", "result", "rule", "teacher", "studio_name", "grade", "amount",
                       "awards_eligible", "title_review_eligible", "explanation"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AssessmentResultAdmin(_ReadOnly, ScopedAdmin):
    """A run's results, limited to the teachers of the schools in scope; written by runs only."""

    scope_path = "teacher__teacher_profile__school"
    list_display = ["teacher", "run", "points", "grade_by_points", "grade", "duties_met", "awards_eligible"]
    list_filter = ["grade", "duties_met"]
    list_select_related = ["teacher", "run", "run__scheme"]
    search_fields = ["teacher__username", "teacher__teacher_profile__real_name"]
    show_full_result_count = False
    readonly_fields = ["run", "teacher", "points", "grade_by_points", "grade", "duties_met", "missed_duties",
                       "awards_eligible"]
    fields = readonly_fields


class IndicatorScoreAdmin(_ReadOnly, ScopedAdmin):
    """The drill-down rows of the results (written by ``assessment_run_materialize``)."""

    scope_path = "result__teacher__teacher_profile__school"
    list_display = ["result", "indicator", "units", "points", "capped", "minimum_met"]
    list_filter = ["capped", "minimum_met"]
    list_select_related = ["result", "indicator"]
    show_full_result_count = False
    readonly_fields = ["result", "indicator", "units", "points", "capped", "minimum_met"]
    fields = readonly_fields


class IndicatorAdmin(_ReadOnly, ScopedAdmin):
    """Indicators are edited inline on their (draft) scheme; this page lists them across schemes."""

    list_display = ["code", "name", "level", "scheme", "credit_per_unit", "required_minimum", "minimum_per",
                    "consequence"]
    list_filter = ["level", "minimum_per", "consequence"]
    list_select_related = ["scheme"]
    search_fields = ["code", "name"]
    readonly_fields = ["scheme", "parent", "level", "code", "name", "order", "max_points", "event_kinds",
                       "credit_per_unit", "cap_per_period", "accepted_weight", "low_rating_below",
                       "low_rating_weight", "required_minimum", "minimum_per", "consequence"]
    fields = readonly_fields
    scope_path = None  # scoped by the scheme's region below

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(managed_region_q(request.user,
                                                                               field="scheme__region"))


def register(site=admin.site) -> None:
    site.register(AssessmentScheme, AssessmentSchemeAdmin)
    site.register(Indicator, IndicatorAdmin)
    site.register(AssessmentRun, AssessmentRunAdmin)
    site.register(AssessmentResult, AssessmentResultAdmin)
    site.register(IndicatorScore, IndicatorScoreAdmin)
    site.register(IncentiveRule, IncentiveRuleAdmin)
    site.register(IncentiveOutcome, IncentiveOutcomeAdmin)

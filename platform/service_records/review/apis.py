"""Review API: a teacher's own record (events, progress, disputes), administrators' review
(teachers in scope, drill-down, flags, resolving disputes and flags) and the county adoption
report. Every list is paginated and scoped by ``review.selectors``; every detail 404s what the
caller may not see; every write is checked again by the service."""

from __future__ import annotations

import datetime

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import TeacherProfile
from accounts.permissions import PasswordIsCurrent
from common.filters import MAX_ID
from common.serializers import StrictInputSerializer
from service_records.models import (
    AssessmentRun,
    AssessmentScheme,
    EventFlag,
    ServiceDispute,
    ServiceEvent,
    ServiceEventKind,
)
from service_records.review import selectors as sel
from service_records.review import services
from service_records.review.evidence import evidence_link

# --- permissions ----------------------------------------------------------------------------


class IsTeacher(BasePermission):
    message = _("Only teachers have a service record.")
    code = "not_a_teacher"

    def has_permission(self, request, view) -> bool:
        return sel.is_teacher(request.user)


class IsReviewer(BasePermission):
    message = _("Only administrators review service records.")
    code = "not_an_administrator"

    def has_permission(self, request, view) -> bool:
        return sel.is_reviewer(request.user)


class IsTeacherOrReviewer(BasePermission):
    message = _("Only teachers and administrators have access to service records.")
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        return sel.is_teacher(request.user) or sel.is_reviewer(request.user)


class CanReadAdoption(BasePermission):
    message = _("Only city and county administrators read the adoption report.")
    code = "not_a_regional_administrator"

    def has_permission(self, request, view) -> bool:
        return sel.can_read_adoption(request.user)


BASE = [IsAuthenticated, PasswordIsCurrent]


# --- shared output serializers --------------------------------------------------------------

class ReviewKindSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceEventKind
        fields = ["code", "name", "unit"]


class ReviewEvidenceSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="app_label.model of the evidence object")
    id = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="Where the evidence can be seen, when known.")


class ReviewTeacherBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user_id")
    real_name = serializers.CharField()
    school_id = serializers.IntegerField()
    school_name = serializers.CharField(source="school.name")


class ReviewEventBriefSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="kind.code")

    class Meta:
        model = ServiceEvent
        fields = ["id", "sequence", "kind", "occurred_at", "quantity"]


class ReviewUserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class ReviewEventSerializer(serializers.ModelSerializer):
    """An event of a record, with its evidence and what it corrects (for a correction)."""

    kind = ReviewKindSerializer()
    teacher = ReviewTeacherBriefSerializer(source="teacher.teacher_profile")
    net_quantity = serializers.SerializerMethodField(
        help_text="The quantity after the corrections recorded against this event.")
    evidence = serializers.SerializerMethodField()
    corrects = ReviewEventBriefSerializer(allow_null=True, help_text="The event this one corrects, if any.")
    correction_count = serializers.IntegerField(help_text="Corrections recorded against this event.")
    dispute_open = serializers.BooleanField()
    flag_open = serializers.SerializerMethodField(help_text="Shown to administrators only (else null).")

    class Meta:
        model = ServiceEvent
        fields = ["id", "sequence", "teacher", "kind", "occurred_at", "quantity", "net_quantity", "rating",
                  "accepted", "review_outcome", "recorded_at", "evidence", "corrects", "reason",
                  "correction_count", "dispute_open", "flag_open", "hash"]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2))
    def get_net_quantity(self, event):
        value = event.quantity + event.corrected_by
        return serializers.DecimalField(max_digits=12, decimal_places=2).to_representation(value)

    @extend_schema_field(ReviewEvidenceSerializer(allow_null=True))
    def get_evidence(self, event):
        source_type = event.source_type
        link = evidence_link(
            app_label=source_type.app_label if source_type else None,
            model=source_type.model if source_type else None,
            source_id=event.source_id, request=self.context.get("request"))
        return None if link is None else {"type": link.type, "id": link.id, "url": link.url}

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_flag_open(self, event):
        return event.flag_open if self.context.get("reviewer") else None


class ReviewDisputeSerializer(serializers.ModelSerializer):
    teacher = ReviewTeacherBriefSerializer(source="teacher.teacher_profile")
    event = ReviewEventBriefSerializer(allow_null=True)
    kind = serializers.CharField(source="kind.code", allow_null=True, default=None)
    resolved_by = ReviewUserBriefSerializer(allow_null=True)
    compensating_event = ReviewEventBriefSerializer(allow_null=True)

    class Meta:
        model = ServiceDispute
        fields = ["id", "type", "status", "teacher", "event", "kind", "occurred_at", "quantity",
                  "description", "evidence_url", "created_at", "resolved_at", "resolved_by",
                  "resolution_note", "compensating_event"]


class ReviewFlagSerializer(serializers.ModelSerializer):
    event = ReviewEventBriefSerializer()
    teacher = ReviewTeacherBriefSerializer(source="event.teacher.teacher_profile")
    flagged_by = ReviewUserBriefSerializer()
    resolved_by = ReviewUserBriefSerializer(allow_null=True)
    compensating_event = ReviewEventBriefSerializer(allow_null=True)

    class Meta:
        model = EventFlag
        fields = ["id", "status", "event", "teacher", "reason", "created_at", "flagged_by", "resolved_at",
                  "resolved_by", "resolution_note", "compensating_event"]


# --- query parameters -----------------------------------------------------------------------

class EventFilterSerializer(serializers.Serializer):
    kind = serializers.SlugRelatedField(slug_field="code", queryset=ServiceEventKind.objects.all(),
                                        required=False, help_text="Event kind code.")
    occurred_from = serializers.DateField(required=False, help_text="First local day (inclusive).")
    occurred_to = serializers.DateField(required=False, help_text="Last local day (inclusive).")
    period = serializers.PrimaryKeyRelatedField(
        queryset=AssessmentScheme.objects.all(), required=False,
        help_text="An assessment scheme id: limits to the days of its period.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.context["request"].user if "request" in self.context else None
        if user is not None:
            self.fields["period"].queryset = sel.scheme_list_for_filters(user=user)

    def validate(self, attrs):
        start, end = attrs.get("occurred_from"), attrs.get("occurred_to")
        if start and end and start > end:
            raise serializers.ValidationError({"occurred_to": [_("The last day comes before the first.")]})
        return attrs

    def window(self) -> sel.Window:
        data = self.validated_data
        return sel.Window.of(occurred_from=data.get("occurred_from"), occurred_to=data.get("occurred_to"),
                             scheme=data.get("period"))


def _params(serializer_class, request, **extra):
    params = serializer_class(data=request.query_params, context={"request": request, **extra})
    params.is_valid(raise_exception=True)
    return params


class DisputeStatusFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ServiceDispute.Status.choices, required=False)


class FlagStatusFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=EventFlag.Status.choices, required=False)


class ReviewerContextMixin:
    """Views that show events to administrators too: the serializer shows ``flag_open`` (a
    review matter) only when the caller reviews service records."""

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "reviewer": sel.is_reviewer(self.request.user)}


# --- a teacher's own record -----------------------------------------------------------------

class MyEventListApi(generics.ListAPIView):
    """My service record: my events, newest first, each with its evidence; corrections show
    the event they correct."""

    permission_classes = [*BASE, IsTeacher]
    serializer_class = ReviewEventSerializer
    filter_backends: list = []

    @extend_schema(parameters=[EventFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = _params(EventFilterSerializer, self.request)
        kind = params.validated_data.get("kind")
        return sel.event_list_own(user=self.request.user, kind=kind.code if kind else None,
                                  window=params.window())


class ProgressQuerySerializer(serializers.Serializer):
    period = serializers.PrimaryKeyRelatedField(
        queryset=AssessmentScheme.objects.all(), required=False,
        help_text="An assessment scheme id (default: the scheme assessing me today).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "request" in self.context:
            self.fields["period"].queryset = sel.scheme_list_for_filters(user=self.context["request"].user)


class ReviewSchemeBriefSerializer(serializers.ModelSerializer):
    region_name = serializers.CharField(source="region.name")

    class Meta:
        model = AssessmentScheme
        fields = ["id", "code", "name", "version", "period_label", "period_start", "period_end", "region",
                  "region_name"]


class ReviewProgressBucketSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="inclusive")
    units = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.ChoiceField(choices=["met", "missed", "open", "upcoming"])


class ReviewProgressIndicatorSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="indicator.pk")
    code = serializers.CharField(source="indicator.code")
    name = serializers.CharField(source="indicator.name")
    level = serializers.CharField(source="indicator.level")
    parent = serializers.IntegerField(source="indicator.parent_id", allow_null=True)
    leaf = serializers.BooleanField()
    units = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                     help_text="Weighted units of the leaf's kinds in the period.")
    points = serializers.DecimalField(max_digits=12, decimal_places=2)
    capped = serializers.BooleanField()
    required_minimum = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    minimum_per = serializers.CharField(allow_null=True)
    consequence = serializers.CharField(allow_null=True)
    minimum_met = serializers.BooleanField(allow_null=True, help_text="null while a bucket is still open")
    buckets = ReviewProgressBucketSerializer(many=True, help_text="A duty's buckets (month, term, ...).")


class MyProgressApi(APIView):
    """My credit per indicator and my progress toward the period's required minimums (duties),
    estimated from my record with the scheme's rules; the assessment run decides."""

    permission_classes = [*BASE, IsTeacher]

    class OutputSerializer(serializers.Serializer):
        scheme = ReviewSchemeBriefSerializer(allow_null=True,
                                             help_text="null when no published scheme assesses me")
        as_of = serializers.DateField()
        source = serializers.ChoiceField(choices=["estimate", "assessment"])
        points = serializers.DecimalField(max_digits=12, decimal_places=2)
        duties_met = serializers.BooleanField(allow_null=True,
                                              help_text="null while a duty's bucket is still open")
        indicators = ReviewProgressIndicatorSerializer(many=True)
        run = serializers.IntegerField(source="run.pk", allow_null=True, default=None,
                                       help_text="The final run the figures come from (source assessment).")
        grade = serializers.CharField(allow_null=True, help_text="The final grade (source assessment).")

    @extend_schema(parameters=[ProgressQuerySerializer], responses={200: OutputSerializer})
    def get(self, request):
        params = _params(ProgressQuerySerializer, request)
        progress = sel.teacher_progress(teacher=request.user.teacher_profile,
                                        scheme=params.validated_data.get("period"))
        return Response(self.OutputSerializer(progress).data)


class EventDetailApi(ReviewerContextMixin, generics.RetrieveAPIView):
    """One event: the owner's, or of a teacher in the administrator's scope (404 otherwise)."""

    permission_classes = [*BASE, IsTeacherOrReviewer]
    serializer_class = ReviewEventSerializer

    def get_queryset(self):
        return sel.event_list_visible(user=self.request.user)


# --- disputes -------------------------------------------------------------------------------

class DisputeListCreateApi(generics.ListAPIView):
    """GET: my disputes (a teacher), and those of teachers in scope (an administrator).
    POST: a teacher disputes one of their events (type wrong, ``event``) or reports a missing
    one (type missing, ``kind``, ``occurred_at``, ``quantity``)."""

    permission_classes = [*BASE, IsTeacherOrReviewer]
    serializer_class = ReviewDisputeSerializer
    filter_backends: list = []

    class InputSerializer(StrictInputSerializer):
        type = serializers.ChoiceField(choices=ServiceDispute.Type.choices)
        event = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                         help_text="For type wrong.")
        kind = serializers.SlugField(required=False, max_length=64, help_text="For type missing.")
        occurred_at = serializers.DateTimeField(required=False, help_text="For type missing.")
        quantity = serializers.DecimalField(max_digits=12, decimal_places=2, required=False,
                                            min_value=0, help_text="For type missing.")
        description = serializers.CharField(max_length=2000)
        evidence_url = serializers.URLField(required=False, allow_blank=True, max_length=200)

        def validate(self, attrs):
            if attrs["type"] == ServiceDispute.Type.WRONG and not attrs.get("event"):
                raise serializers.ValidationError({"event": [_("Name the event that is wrong.")]})
            return attrs

    @extend_schema(parameters=[DisputeStatusFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        status_ = _params(DisputeStatusFilterSerializer, self.request).validated_data.get("status")
        return sel.dispute_list_visible(user=self.request.user, status=status_)

    @extend_schema(request=InputSerializer, responses={201: ReviewDisputeSerializer})
    def post(self, request):
        if not sel.is_teacher(request.user):
            self.permission_denied(request, message=IsTeacher.message, code=IsTeacher.code)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        dispute = services.dispute_open(teacher=request.user, event_id=values.pop("event", None), **values)
        dispute = sel.dispute_list_visible(user=request.user).get(pk=dispute.pk)
        return Response(ReviewDisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)


class DisputeDetailApi(generics.RetrieveAPIView):
    permission_classes = [*BASE, IsTeacherOrReviewer]
    serializer_class = ReviewDisputeSerializer

    def get_queryset(self):
        return sel.dispute_list_visible(user=self.request.user)


class DisputeResolveApi(APIView):
    """An administrator whose scope holds the teacher's school accepts (a compensating or the
    missing event is recorded) or rejects (with a note) an open dispute."""

    permission_classes = [*BASE, IsReviewer]

    class InputSerializer(StrictInputSerializer):
        decision = serializers.ChoiceField(choices=[services.Decision.ACCEPT, services.Decision.REJECT])
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        quantity = serializers.DecimalField(
            max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=0,
            help_text="Accepting: what the event should show (wrong, default 0) or the quantity "
                      "to record (missing, default the teacher's).")

    @extend_schema(request=InputSerializer, responses={200: ReviewDisputeSerializer})
    def post(self, request, pk: int):
        dispute = get_object_or_404(sel.dispute_list_visible(user=request.user), pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.dispute_resolve(dispute_id=dispute.pk, actor=request.user, **data.validated_data)
        dispute = sel.dispute_list_visible(user=request.user).get(pk=pk)
        return Response(ReviewDisputeSerializer(dispute).data)


# --- flags ----------------------------------------------------------------------------------

class EventFlagCreateApi(APIView):
    """An administrator flags an event of a teacher in scope for review."""

    permission_classes = [*BASE, IsReviewer]

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=InputSerializer, responses={201: ReviewFlagSerializer})
    def post(self, request, pk: int):
        event = get_object_or_404(sel.event_list_in_scope(user=request.user), pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flag = services.flag_create(event=event, actor=request.user, reason=data.validated_data["reason"])
        flag = sel.flag_list_in_scope(user=request.user).get(pk=flag.pk)
        return Response(ReviewFlagSerializer(flag).data, status=status.HTTP_201_CREATED)


class FlagListApi(generics.ListAPIView):
    permission_classes = [*BASE, IsReviewer]
    serializer_class = ReviewFlagSerializer
    filter_backends: list = []

    @extend_schema(parameters=[FlagStatusFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        status_ = _params(FlagStatusFilterSerializer, self.request).validated_data.get("status")
        return sel.flag_list_in_scope(user=self.request.user, status=status_)


class FlagDetailApi(generics.RetrieveAPIView):
    permission_classes = [*BASE, IsReviewer]
    serializer_class = ReviewFlagSerializer

    def get_queryset(self):
        return sel.flag_list_in_scope(user=self.request.user)


class FlagResolveApi(APIView):
    """Clear a flag (the event stands) or correct the event (a compensating event)."""

    permission_classes = [*BASE, IsReviewer]

    class InputSerializer(StrictInputSerializer):
        decision = serializers.ChoiceField(choices=[services.Decision.CLEAR, services.Decision.CORRECT])
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        quantity = serializers.DecimalField(
            max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=0,
            help_text="Correcting: what the event should show (default 0: it did not happen).")

    @extend_schema(request=InputSerializer, responses={200: ReviewFlagSerializer})
    def post(self, request, pk: int):
        flag = get_object_or_404(sel.flag_list_in_scope(user=request.user), pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.flag_resolve(flag_id=flag.pk, actor=request.user, **data.validated_data)
        return Response(ReviewFlagSerializer(sel.flag_list_in_scope(user=request.user).get(pk=pk)).data)


# --- administrators' review -----------------------------------------------------------------

class ReviewTeacherFilterSerializer(EventFilterSerializer):
    kind = None
    tier = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    subject = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    studio = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                      help_text="Teachers holding a current role in this studio.")
    school = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    county = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    three_tier = serializers.BooleanField(required=False, allow_null=True, default=None)
    run = serializers.PrimaryKeyRelatedField(
        queryset=AssessmentRun.objects.all(), required=False,
        help_text="An assessment run id: shows duties_met from its results.")
    meets_duty = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="With run: only teachers who met (or missed) their duties.")
    name = serializers.CharField(required=False, max_length=64)
    ordering = serializers.ChoiceField(choices=["name", "events", "-events", "school"], required=False,
                                       default="name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "request" in self.context:
            self.fields["run"].queryset = sel.run_list_for_filters(user=self.context["request"].user)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("meets_duty") is not None and not attrs.get("run"):
            raise serializers.ValidationError({"run": [_("Choose the assessment run whose duties count.")]})
        return attrs

    def teacher_filters(self) -> sel.TeacherFilters:
        data = self.validated_data
        return sel.TeacherFilters(
            tier=data.get("tier"), subject=data.get("subject"), studio=data.get("studio"),
            school=data.get("school"), county=data.get("county"), three_tier=data.get("three_tier"),
            run=data.get("run"), meets_duty=data.get("meets_duty"), name=data.get("name", ""))


class ReviewKindUnitsSerializer(serializers.Serializer):
    kind = serializers.CharField(source="kind.code")
    name = serializers.CharField(source="kind.name")
    unit = serializers.CharField(source="kind.unit")
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2,
                                        help_text="Net of corrections.")
    events = serializers.IntegerField(help_text="Events recorded (corrections not counted).")


class ReviewTeacherSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id")
    school_name = serializers.CharField(source="school.name")
    county = serializers.IntegerField(source="school.county_id")
    county_name = serializers.CharField(source="school.county.name")
    tier_name = serializers.CharField(source="tier.name", allow_null=True, default=None)
    subject_ids = serializers.PrimaryKeyRelatedField(source="subjects", many=True, read_only=True)
    event_count = serializers.IntegerField()
    open_disputes = serializers.IntegerField()
    open_flags = serializers.IntegerField()
    duties_met = serializers.BooleanField(allow_null=True, help_text="From the run given; null without one.")
    units = serializers.SerializerMethodField()

    class Meta:
        model = TeacherProfile
        fields = ["id", "real_name", "staff_number", "school", "school_name", "county", "county_name", "tier",
                  "tier_name", "subject_ids", "event_count", "open_disputes", "open_flags", "duties_met",
                  "units"]

    @extend_schema_field(ReviewKindUnitsSerializer(many=True))
    def get_units(self, teacher):
        units = self.context.get("units", {}).get(teacher.user_id, [])
        return ReviewKindUnitsSerializer(units, many=True).data


class ReviewTeacherListApi(generics.ListAPIView):
    """Teachers of the schools in my scope with their totals in a date range or period:
    events, units per kind, open disputes and flags; with ``run``, whether they met their
    duties. Filters: tier, subject, studio, school, county, three_tier, meets_duty (with run)."""

    permission_classes = [*BASE, IsReviewer]
    serializer_class = ReviewTeacherSerializer
    filter_backends: list = []

    @extend_schema(parameters=[ReviewTeacherFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        params = _params(ReviewTeacherFilterSerializer, request)
        window = params.window()
        qs = sel.review_teacher_list(user=request.user, window=window, filters=params.teacher_filters(),
                                     ordering=params.validated_data["ordering"])
        page = self.paginate_queryset(qs.prefetch_related("subjects"))
        units = sel.review_units_by_kind(teacher_ids=[t.user_id for t in page], window=window)
        data = ReviewTeacherSerializer(page, many=True, context={"units": units}).data
        return self.get_paginated_response(data)


class ReviewTeacherEventListApi(ReviewerContextMixin, generics.ListAPIView):
    """Drill-down: a teacher's events with their evidence (404 for a teacher out of scope)."""

    permission_classes = [*BASE, IsReviewer]
    serializer_class = ReviewEventSerializer
    filter_backends: list = []

    @extend_schema(parameters=[EventFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        teacher_id = self.kwargs["teacher_id"]
        if not sel.teacher_in_scope(self.request.user, teacher_id):
            raise Http404
        params = _params(EventFilterSerializer, self.request)
        kind = params.validated_data.get("kind")
        return sel.event_list_of_teacher(user=self.request.user, teacher_id=teacher_id,
                                         kind=kind.code if kind else None, window=params.window())


# --- county adoption report -----------------------------------------------------------------

class AdoptionQuerySerializer(serializers.Serializer):
    week_from = serializers.DateField(required=False, help_text="A day of the first ISO week "
                                                                "(default: 7 weeks before week_to).")
    week_to = serializers.DateField(required=False, help_text="A day of the last ISO week (default: today).")
    county = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                      help_text="One county only.")

    def validate(self, attrs):
        last = sel.week_start(attrs.get("week_to") or timezone.localdate())
        first = sel.week_start(attrs.get("week_from") or last - datetime.timedelta(weeks=7))
        if first > last:
            raise serializers.ValidationError({"week_from": [_("The first week comes after the last.")]})
        if (last - first).days // 7 + 1 > sel.MAX_REPORT_WEEKS:
            raise serializers.ValidationError(
                {"week_from": [_("Ask for at most %(n)s weeks at a time.") % {"n": sel.MAX_REPORT_WEEKS}]})
        attrs["first_week"], attrs["last_week"] = first, last
        return attrs


class ReviewAdoptionWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="Monday of the ISO week")
    iso_week = serializers.CharField(help_text="e.g. 2026-W05")
    students_registered = serializers.IntegerField(help_text="Registered by the end of the week.")
    students_enrolled = serializers.IntegerField(allow_null=True)
    enrolment_school_year = serializers.IntegerField(allow_null=True,
                                                     help_text="The school year the enrolment figure is of.")
    registration_rate = serializers.DecimalField(max_digits=7, decimal_places=4, allow_null=True)
    visits = serializers.IntegerField()
    visits_by_role = serializers.DictField(child=serializers.IntegerField())
    active_users_peak = serializers.IntegerField(help_text="Active users on the busiest day of the week.")
    active_user_days = serializers.IntegerField(help_text="Daily active users summed over the week.")


class ReviewDutyShareSerializer(serializers.Serializer):
    run = serializers.IntegerField(source="run.pk", allow_null=True, default=None,
                                   help_text="The latest final run of the city's scheme.")
    teachers = serializers.IntegerField(help_text="Three-tier teachers of the county assessed in it.")
    meeting_duty = serializers.IntegerField()
    share = serializers.DecimalField(max_digits=7, decimal_places=4, allow_null=True)


class ReviewAdoptionCountySerializer(serializers.Serializer):
    county = serializers.IntegerField(source="county.pk")
    county_code = serializers.CharField(source="county.code")
    county_name = serializers.CharField(source="county.name")
    teachers_registered = serializers.IntegerField()
    teachers_employed = serializers.IntegerField(allow_null=True)
    teacher_registration_rate = serializers.DecimalField(max_digits=7, decimal_places=4, allow_null=True)
    three_tier_duty = ReviewDutyShareSerializer()
    weeks = ReviewAdoptionWeekSerializer(many=True)


class AdoptionReportApi(generics.ListAPIView):
    """County adoption (seed 000), per county per ISO week: registration rate, visits and
    active users; per county the share of three-tier teachers meeting their duty. A county
    administrator sees their county, a city administrator every county of the city."""

    permission_classes = [*BASE, CanReadAdoption]
    serializer_class = ReviewAdoptionCountySerializer
    filter_backends: list = []

    @extend_schema(parameters=[AdoptionQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        params = _params(AdoptionQuerySerializer, request).validated_data
        counties = sel.adoption_county_list(user=request.user).order_by("parent__code", "code")
        if params.get("county"):
            counties = counties.filter(pk=params["county"])
        page = self.paginate_queryset(counties)
        rows = sel.adoption_report(counties=list(page), first_week=params["first_week"],
                                   last_week=params["last_week"])
        return self.get_paginated_response(ReviewAdoptionCountySerializer(rows, many=True).data)

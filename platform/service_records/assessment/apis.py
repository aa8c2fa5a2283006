"""Assessment API: schemes (list, detail, import, export, publish, new version), runs
(compute, list, detail, results, finalize), incentives and the payout list of a final run."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFound, ServiceError
from common.filters import MAX_ID, IdFilter
from common.serializers import StrictInputSerializer
from regions.models import Region
from service_records.assessment import selectors
from service_records.assessment.schemes_io import SchemeDocumentSerializer, scheme_to_document
from service_records.assessment.services import (
    assessment_run_compute,
    assessment_run_finalize,
    incentive_outcomes_create,
    scheme_import,
    scheme_new_version,
    scheme_publish,
)
from service_records.models import (
    AssessmentResult,
    AssessmentRun,
    AssessmentScheme,
    IncentiveOutcome,
    IncentiveRule,
)
from service_records.models.assessments import Grade

# --- schemes ---------------------------------------------------------------------------------


class SchemeOutputSerializer(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.name")
    tiers = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = AssessmentScheme
        fields = ["id", "region", "region_code", "region_name", "code", "name", "version", "status",
                  "period_label", "period_start", "period_end", "excellent_min", "qualified_min", "tiers",
                  "supersedes", "published_at", "created_at"]


class SchemeDetailOutputSerializer(SchemeOutputSerializer):
    superseded_by = serializers.SerializerMethodField()
    can_manage = serializers.SerializerMethodField()
    indicators = serializers.SerializerMethodField()

    class Meta(SchemeOutputSerializer.Meta):
        fields = [*SchemeOutputSerializer.Meta.fields, "superseded_by", "can_manage", "indicators"]

    def get_superseded_by(self, scheme) -> int | None:
        return AssessmentScheme.objects.filter(supersedes=scheme).values_list("pk", flat=True).first()

    def get_can_manage(self, scheme) -> bool:
        return selectors.can_manage_region(self.context["request"].user, scheme.region)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_indicators(self, scheme) -> list[dict]:
        return scheme_to_document(scheme)["indicators"]


def _detail(request, scheme, *, status_code=status.HTTP_200_OK) -> Response:
    scheme = selectors.scheme_list_visible(user=request.user).get(pk=scheme.pk)
    return Response(SchemeDetailOutputSerializer(scheme, context={"request": request}).data,
                    status=status_code)


class SchemeFilter(filters.FilterSet):
    region = IdFilter(field_name="region_id")
    code = filters.CharFilter(field_name="code")
    status = filters.ChoiceFilter(field_name="status", choices=AssessmentScheme.Status.choices)

    class Meta:
        model = AssessmentScheme
        fields = []


class SchemeListApi(generics.ListAPIView):
    """Assessment schemes the caller may read: an administrator's own regions (all versions)
    and the published schemes above them; a teacher's county and city, published only."""

    serializer_class = SchemeOutputSerializer
    filterset_class = SchemeFilter
    ordering_fields = ["code", "version", "period_start", "id"]
    ordering = ["code", "-version"]

    def get_queryset(self):
        return selectors.scheme_list_visible(user=self.request.user)


class SchemeDetailApi(APIView):
    """A scheme with its indicator tree (in the export document's form)."""

    @extend_schema(responses={200: SchemeDetailOutputSerializer})
    def get(self, request, pk: int):
        scheme = selectors.scheme_get_visible(user=request.user, pk=pk)
        return Response(SchemeDetailOutputSerializer(scheme, context={"request": request}).data)


class SchemeImportApi(APIView):
    """Imports a scheme document (docs/assessment.md) as a draft: a new version, or the
    replacement of a draft's content. Administrators of the document's region only."""

    @extend_schema(request=SchemeDocumentSerializer,
                   responses={200: SchemeDetailOutputSerializer, 201: SchemeDetailOutputSerializer})
    def post(self, request):
        imported = scheme_import(data=request.data, actor=request.user)
        return _detail(request, imported.scheme,
                       status_code=status.HTTP_201_CREATED if imported.created else status.HTTP_200_OK)


class SchemeExportApi(APIView):
    """The scheme as a JSON document; importing it elsewhere gives the same scheme."""

    @extend_schema(responses={200: SchemeDocumentSerializer})
    def get(self, request, pk: int):
        scheme = selectors.scheme_get_visible(user=request.user, pk=pk)
        response = Response(scheme_to_document(scheme))
        response["Content-Disposition"] = f'attachment; filename="{scheme.code}-v{scheme.version}.json"'
        return response


class SchemePublishApi(APIView):
    """Publishes a draft (after checking it is complete); retires the version it replaces."""

    @extend_schema(request=None, responses={200: SchemeDetailOutputSerializer})
    def post(self, request, pk: int):
        scheme = selectors.scheme_get_visible(user=request.user, pk=pk)
        scheme = scheme_publish(scheme=scheme, actor=request.user)
        return _detail(request, scheme)


class SchemeNewVersionApi(APIView):
    """Editing a published scheme: a draft copy with the next version number."""

    @extend_schema(request=None, responses={201: SchemeDetailOutputSerializer})
    def post(self, request, pk: int):
        scheme = selectors.scheme_get_visible(user=request.user, pk=pk)
        draft = scheme_new_version(scheme=scheme, actor=request.user)
        return _detail(request, draft, status_code=status.HTTP_201_CREATED)


# --- runs ------------------------------------------------------------------------------------


class RunOutputSerializer(serializers.ModelSerializer):
    scheme_code = serializers.CharField(source="scheme.code")
    scheme_name = serializers.CharField(source="scheme.name")
    scheme_version = serializers.IntegerField(source="scheme.version")
    period_label = serializers.CharField(source="scheme.period_label")
    region_name = serializers.CharField(source="region.name")

    class Meta:
        model = AssessmentRun
        fields = ["id", "scheme", "scheme_code", "scheme_name", "scheme_version", "period_label", "region",
                  "region_name", "status", "ledger_digest", "teacher_count", "computed_at", "computed_by",
                  "finalized_at", "finalized_by"]


class GradeCountsSerializer(serializers.Serializer):
    excellent = serializers.IntegerField()
    qualified = serializers.IntegerField()
    unqualified = serializers.IntegerField()
    missed_duty = serializers.IntegerField()


class RunFilter(filters.FilterSet):
    scheme = IdFilter(field_name="scheme_id")
    region = IdFilter(field_name="region_id")
    status = filters.ChoiceFilter(field_name="status", choices=AssessmentRun.Status.choices)

    class Meta:
        model = AssessmentRun
        fields = []


class RunListApi(generics.ListAPIView):
    """Assessment runs of the regions in the administrator's scope (and above it)."""

    serializer_class = RunOutputSerializer
    filterset_class = RunFilter
    ordering_fields = ["computed_at", "id"]
    ordering = ["-computed_at", "-id"]

    def get_queryset(self):
        return selectors.run_list_visible(user=self.request.user)


class RunComputeApi(APIView):
    """Computes a run of a published scheme for its region (or one county of a city scheme)."""

    class InputSerializer(StrictInputSerializer):
        scheme = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        region = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True,
                                          help_text="Default: the scheme's region.")

    class OutputSerializer(RunOutputSerializer):
        grades = serializers.SerializerMethodField()

        class Meta(RunOutputSerializer.Meta):
            fields = [*RunOutputSerializer.Meta.fields, "grades"]

        @extend_schema_field(GradeCountsSerializer)
        def get_grades(self, run) -> dict:
            return selectors.run_grade_counts(user=self.context["request"].user, run=run)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visible = selectors.scheme_list_visible(user=request.user)
        scheme = visible.filter(pk=data.validated_data["scheme"]).first()
        if scheme is None:
            raise ServiceError(_("No such assessment scheme."), code="invalid",
                               fields={"scheme": [_("No such assessment scheme.")]})
        region = None
        if data.validated_data.get("region"):
            region = Region.objects.filter(pk=data.validated_data["region"]).first()
            if region is None:
                raise ServiceError(_("No such region."), code="invalid",
                                   fields={"region": [_("No such region.")]})
        run = assessment_run_compute(scheme=scheme, region=region, actor=request.user)
        run = selectors.run_get_visible(user=request.user, pk=run.pk)
        return Response(self.OutputSerializer(run, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    @extend_schema(responses={200: RunComputeApi.OutputSerializer})
    def get(self, request, pk: int):
        run = selectors.run_get_visible(user=request.user, pk=pk)
        return Response(RunComputeApi.OutputSerializer(run, context={"request": request}).data)


class RunFinalizeApi(APIView):
    """Finalizes a run: the period's snapshot with grades; the period is frozen afterwards and
    incentive outcomes are created from it."""

    @extend_schema(request=None, responses={200: RunComputeApi.OutputSerializer})
    def post(self, request, pk: int):
        run = selectors.run_get_visible(user=request.user, pk=pk)
        run = assessment_run_finalize(run=run, actor=request.user)
        run = selectors.run_get_visible(user=request.user, pk=run.pk)
        return Response(RunComputeApi.OutputSerializer(run, context={"request": request}).data)


class ResultOutputSerializer(serializers.ModelSerializer):
    teacher_name = serializers.CharField(source="teacher.teacher_profile.real_name")
    school = serializers.IntegerField(source="teacher.teacher_profile.school_id")
    school_name = serializers.CharField(source="teacher.teacher_profile.school.name")

    class Meta:
        model = AssessmentResult
        fields = ["id", "teacher", "teacher_name", "school", "school_name", "points", "grade_by_points",
                  "grade", "duties_met", "missed_duties", "awards_eligible"]


class ResultFilter(filters.FilterSet):
    grade = filters.ChoiceFilter(field_name="grade", choices=Grade.choices)
    duties_met = filters.BooleanFilter(field_name="duties_met")
    school = IdFilter(field_name="teacher__teacher_profile__school_id")
    county = IdFilter(field_name="teacher__teacher_profile__school__county_id")

    class Meta:
        model = AssessmentResult
        fields = []


class RunResultListApi(generics.ListAPIView):
    """The run's results of the teachers at schools in the caller's scope."""

    serializer_class = ResultOutputSerializer
    filterset_class = ResultFilter
    ordering_fields = ["points", "teacher_id"]
    ordering = ["-points", "teacher_id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AssessmentResult.objects.none()
        run = selectors.run_get_visible(user=self.request.user, pk=self.kwargs["pk"])
        return selectors.result_list_visible(user=self.request.user, run=run)


class ScoreOutputSerializer(serializers.Serializer):
    indicator = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True)
    leaf = serializers.BooleanField()
    units = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    points = serializers.DecimalField(max_digits=12, decimal_places=2)
    capped = serializers.BooleanField()
    required_minimum = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    minimum_met = serializers.BooleanField(allow_null=True)


class RunResultDetailApi(APIView):
    """One teacher's result with the drill-down per indicator (leaf units and points, each
    node's points after its cap, duties met)."""

    class OutputSerializer(ResultOutputSerializer):
        scores = serializers.SerializerMethodField()

        class Meta(ResultOutputSerializer.Meta):
            fields = [*ResultOutputSerializer.Meta.fields, "scores"]

        @extend_schema_field(ScoreOutputSerializer(many=True))
        def get_scores(self, result) -> list[dict]:
            return ScoreOutputSerializer(selectors.result_scores(result), many=True).data

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, pk: int, teacher_id: int):
        run = selectors.run_get_visible(user=request.user, pk=pk)
        results = selectors.result_list_visible(user=request.user, run=run)
        result = results.filter(teacher_id=teacher_id).first()
        if result is None:
            raise NotFound(_("No result for this teacher in this run."))
        return Response(self.OutputSerializer(result).data)


# --- incentives ------------------------------------------------------------------------------


class IncentiveRuleOutputSerializer(serializers.ModelSerializer):
    region_name = serializers.CharField(source="region.name")

    class Meta:
        model = IncentiveRule
        fields = ["id", "region", "region_name", "code", "name", "role", "grades", "stipend",
                  "awards_eligible", "title_review_eligible", "valid_from", "valid_to"]


class IncentiveRuleListApi(generics.ListAPIView):
    """Incentive rules of the administrator's regions and the regions above them."""

    serializer_class = IncentiveRuleOutputSerializer
    ordering_fields = ["code", "valid_from"]
    ordering = ["region_id", "code", "valid_from"]

    def get_queryset(self):
        return selectors.incentive_rule_list_visible(user=self.request.user)


class RunIncentivesApi(APIView):
    """Applies the incentive rules to a final run again: creates the outcomes of rules added
    since it was finalized (existing outcomes never change)."""

    @extend_schema(request=None, responses={200: inline_serializer(
        "RunIncentivesOutput", {"created": serializers.IntegerField()})})
    def post(self, request, pk: int):
        run = selectors.run_get_visible(user=request.user, pk=pk)
        created = incentive_outcomes_create(run=run, actor=request.user)
        return Response({"created": created})


class PayoutOutputSerializer(serializers.ModelSerializer):
    teacher_name = serializers.CharField(source="teacher.teacher_profile.real_name")
    staff_number = serializers.CharField(source="teacher.teacher_profile.staff_number")
    school_name = serializers.CharField(source="teacher.teacher_profile.school.name")
    county_name = serializers.CharField(source="teacher.teacher_profile.school.county.name")
    rule_code = serializers.CharField(source="rule.code")
    role = serializers.CharField(source="rule.role")

    class Meta:
        model = IncentiveOutcome
        fields = ["id", "teacher", "teacher_name", "staff_number", "school_name", "county_name", "rule",
                  "rule_code", "role", "studio_name", "grade", "amount", "awards_eligible",
                  "title_review_eligible", "result", "explanation"]


class RunPayoutListApi(generics.ListAPIView):
    """The payout list of a final run for the finance office: every stipend with the result
    and rule behind it (``all=true`` adds the outcomes without money: eligibility only)."""

    serializer_class = PayoutOutputSerializer
    ordering = None

    @extend_schema(parameters=[OpenApiParameter("all", bool, description="Include outcomes of 0 CNY.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IncentiveOutcome.objects.none()
        run = selectors.run_get_visible(user=self.request.user, pk=self.kwargs["pk"])
        return selectors.payout_list_visible(user=self.request.user, run=run,
                                             include_zero=self.request.query_params.get("all") == "true")


class RunPayoutSummaryApi(APIView):
    """Totals of the payout list (in the caller's scope), overall and per rule."""

    class OutputSerializer(serializers.Serializer):
        class RuleTotalSerializer(serializers.Serializer):
            rule__code = serializers.CharField()
            rule__name = serializers.CharField()
            teachers = serializers.IntegerField()
            amount = serializers.DecimalField(max_digits=14, decimal_places=2)

        amount = serializers.DecimalField(max_digits=14, decimal_places=2)
        teachers = serializers.IntegerField()
        by_rule = RuleTotalSerializer(many=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, pk: int):
        run = selectors.run_get_visible(user=request.user, pk=pk)
        return Response(self.OutputSerializer(selectors.payout_totals(user=request.user, run=run)).data)

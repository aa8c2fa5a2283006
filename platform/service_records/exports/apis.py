"""Exports API: assessment results, evidence and payout lists as streamed CSV / XLSX files;
service certificates (issue, list, detail, PDF, public verification); the dashboard's figures."""

from __future__ import annotations

import datetime
import re
from pathlib import PurePath

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts.permissions import PasswordIsCurrent
from common.downloads import private_download
from common.errors import ErrorResponseSerializer, NotFound
from common.filters import MAX_ID
from common.serializers import StrictInputSerializer
from service_records.assessment.selectors import scheme_get_visible
from service_records.assessment.services import assessment_run_materialize
from service_records.exports import selectors
from service_records.exports.pdf import certificate_pdf
from service_records.exports.services import certificate_issue, export_job_create, export_job_open
from service_records.exports.streaming import FORMATS, MEDIA_TYPES, table_response
from service_records.models import ExportJob, ServiceCertificate

FORMAT_PARAMETER = OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(FORMATS),
                                    description="File format: csv (UTF-8 with BOM) or xlsx.")
FILE_RESPONSES = {(200, MEDIA_TYPES[fmt].split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY)
                  for fmt in FORMATS}


def _day_in_range(value: datetime.date) -> datetime.date:
    if not selectors.EARLIEST_DAY <= value <= selectors.LATEST_DAY:
        raise serializers.ValidationError(_("Must lie between %(first)s and %(last)s.")
                                          % {"first": selectors.EARLIEST_DAY, "last": selectors.LATEST_DAY})
    return value


class DayField(serializers.DateField):
    """A local day within the years the platform keeps records for."""

    def to_internal_value(self, value):
        return _day_in_range(super().to_internal_value(value))


class FileApi(APIView):
    """Answers with a file; refusals and invalid input answer in the JSON error shape, whatever
    the Accept header asked for (a download link sends text/html or */*)."""

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type


# --- exports --------------------------------------------------------------------------------


class EvidenceParamsSerializer(serializers.Serializer):
    """What an evidence export covers: local days and optional filters."""

    occurred_from = DayField(help_text="First local day (inclusive).")
    occurred_to = DayField(help_text="Last local day (inclusive).")
    county = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    school = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    tier = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    kind = serializers.SlugField(required=False, max_length=64)

    def validate(self, attrs):
        if attrs["occurred_to"] < attrs["occurred_from"]:
            raise serializers.ValidationError({"occurred_to": _("Must not be before occurred_from.")})
        return attrs


class EvidenceExportApi(FileApi):
    """Every service event of the teachers at schools in the administrator's scope that occurred
    on the given local days, as CSV or XLSX, streamed (a whole city in one file). Teachers and
    students are refused. A download longer than the server's request timeout (a whole city
    over a year): use an export job (``exports/jobs/``) instead."""

    class InputSerializer(EvidenceParamsSerializer):
        pass

    @extend_schema(parameters=[FORMAT_PARAMETER, InputSerializer], responses=FILE_RESPONSES,
                   operation_id="exports_evidence")
    def get(self, request, fmt: str):
        selectors.access_export(request.user)
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        table = selectors.evidence_table(
            user=request.user, start=params["occurred_from"], end=params["occurred_to"],
            county=params.get("county"), school=params.get("school"), kind=params.get("kind"),
            tier=params.get("tier"))
        return table_response(request, table, fmt)


class ResultExportApi(FileApi):
    """A run's results (teacher, school, county, tier, points, points per A-level indicator,
    grade, duties met, award eligibility) of the teachers at schools in scope, as CSV or XLSX."""

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=FILE_RESPONSES,
                   operation_id="exports_run_results")
    def get(self, request, pk: int, fmt: str):
        run = selectors.export_run_get(user=request.user, pk=pk)
        # The points per indicator come from the run's drill-down rows, which a computed run
        # gets after commit from a task; write them now if they are not there yet (idempotent,
        # the same numbers: derived from the ledger as recorded before the run's snapshot).
        assessment_run_materialize(run=run)
        return table_response(request, selectors.result_table(user=request.user, run=run), fmt)


class PayoutExportApi(FileApi):
    """The payout list of a final run for the finance office (schools in scope), as CSV or XLSX."""

    @extend_schema(parameters=[FORMAT_PARAMETER], responses=FILE_RESPONSES,
                   operation_id="exports_run_payouts")
    def get(self, request, pk: int, fmt: str):
        run = selectors.export_run_get(user=request.user, pk=pk)
        return table_response(request, selectors.payout_table(user=request.user, run=run), fmt)


# --- export jobs ----------------------------------------------------------------------------


class IsExporter(BasePermission):
    message = _lazy("Only administrators export service records.")
    code = "export_forbidden"

    def has_permission(self, request, view) -> bool:
        return selectors.can_export(request.user)


class ExportJobSerializer(serializers.ModelSerializer):
    file_format = serializers.ChoiceField(source="format", choices=ExportJob.Format.choices, read_only=True)
    download_url = serializers.SerializerMethodField(help_text="Set once the file is ready.")

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "file_format", "params", "status", "size", "error", "created_at",
                  "started_at", "finished_at", "download_url"]

    def get_download_url(self, job) -> str | None:
        if job.status != ExportJob.Status.SUCCEEDED or not job.file:
            return None
        url = reverse("export-job-download", kwargs={"pk": job.pk})
        return self.context["request"].build_absolute_uri(url)


class ExportJobListCreateApi(generics.ListAPIView):
    """GET: my export jobs, newest first. POST: an evidence export built in the background
    (the parameters of ``exports/evidence.<fmt>``, and ``file_format``); answers 202 with the job,
    whose ``download_url`` is set when the file is ready. For a whole city over a year, whose
    streamed download would outlast the server's request timeout."""

    permission_classes = [IsAuthenticated, PasswordIsCurrent, IsExporter]
    serializer_class = ExportJobSerializer
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "id"]

    class InputSerializer(StrictInputSerializer, EvidenceParamsSerializer):
        file_format = serializers.ChoiceField(choices=ExportJob.Format.choices)

    def get_queryset(self):
        return selectors.export_job_list_visible(user=self.request.user)

    @extend_schema(request=InputSerializer, responses={
        202: ExportJobSerializer,
        409: OpenApiResponse(ErrorResponseSerializer, description="Three exports of yours are waiting or "
                                                                  "running already (too_many_exports)."),
    })
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        job = export_job_create(actor=request.user, fmt=params.pop("file_format"), params=params)
        return Response(ExportJobSerializer(job, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class ExportJobDetailApi(generics.RetrieveAPIView):
    """One of my export jobs (404 for anybody else's)."""

    permission_classes = [IsAuthenticated, PasswordIsCurrent, IsExporter]
    serializer_class = ExportJobSerializer

    def get_queryset(self):
        return selectors.export_job_list_visible(user=self.request.user)


class ExportJobDownloadApi(FileApi):
    """The file of one of my finished export jobs (409 while it is being built, 410 once
    deleted: files are kept three days)."""

    @extend_schema(operation_id="exports_jobs_download", responses={
        **FILE_RESPONSES,
        409: OpenApiResponse(ErrorResponseSerializer, description="Not ready yet (export_not_ready) or "
                                                                  "failed (export_failed)."),
        410: OpenApiResponse(ErrorResponseSerializer, description="The file was deleted (export_expired)."),
    })
    def get(self, request, pk: int):
        job = get_object_or_404(selectors.export_job_list_visible(user=request.user), pk=pk)
        source = export_job_open(actor=request.user, job=job)
        return private_download(source, filename=PurePath(job.file.name).name,
                                content_type=MEDIA_TYPES[job.format])


# --- certificates ---------------------------------------------------------------------------


def _links(request, code: str) -> dict:
    return {
        "page_url": request.build_absolute_uri(reverse("certificate-page", kwargs={"code": code})),
        "pdf_url": request.build_absolute_uri(reverse("certificate-pdf", kwargs={"code": code})),
        "verify_url": request.build_absolute_uri(reverse("certificate-verify-page", kwargs={"code": code})),
    }


class CertificateSummarySerializer(serializers.ModelSerializer):
    code = serializers.SerializerMethodField()
    teacher_name = serializers.CharField(source="teacher.teacher_profile.real_name", default="")
    school_name = serializers.CharField(source="teacher.teacher_profile.school.name", default="")
    page_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    class Meta:
        model = ServiceCertificate
        fields = ["code", "teacher", "teacher_name", "school_name", "period_label", "period_start",
                  "period_end", "chain_sequence", "issued_at", "page_url", "pdf_url", "verify_url"]

    def get_code(self, certificate) -> str:
        return selectors.certificate_code_display(certificate.code)

    def _link(self, certificate, name) -> str:
        return _links(self.context["request"], selectors.certificate_code_display(certificate.code))[name]

    def get_page_url(self, certificate) -> str:
        return self._link(certificate, "page_url")

    def get_pdf_url(self, certificate) -> str:
        return self._link(certificate, "pdf_url")

    def get_verify_url(self, certificate) -> str:
        return self._link(certificate, "verify_url")


class TotalSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    events = serializers.IntegerField()


class CertificateDocumentSerializer(serializers.Serializer):
    """What a certificate states (also what the public verification shows)."""

    code = serializers.CharField()
    teacher_name = serializers.CharField()
    school_name = serializers.CharField()
    county_name = serializers.CharField()
    period_label = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    totals = TotalSerializer(many=True)
    grade = serializers.CharField(allow_null=True)
    scheme_name = serializers.CharField(allow_null=True)
    issued_at = serializers.DateTimeField()
    chain_sequence = serializers.IntegerField()
    chain_hash = serializers.CharField()


class CertificateDetailOutputSerializer(CertificateDocumentSerializer):
    teacher = serializers.IntegerField(source="certificate.teacher_id")
    page_url = serializers.CharField()
    pdf_url = serializers.CharField()
    verify_url = serializers.CharField()


def _detail(request, certificate, *, status_code=status.HTTP_200_OK) -> Response:
    document = selectors.certificate_document(certificate)
    data = CertificateDetailOutputSerializer({**vars(document), **_links(request, document.code)}).data
    return Response(data, status=status_code)


class CertificateListApi(generics.ListAPIView):
    """Service certificates the caller may read: their own; an administrator's, also those of
    teachers at schools in scope. Newest first."""

    serializer_class = CertificateSummarySerializer
    ordering_fields = ["issued_at", "period_start"]
    ordering = ["-issued_at", "-id"]

    class QuerySerializer(serializers.Serializer):
        teacher = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                           help_text="Only this teacher's (user id).")

    def get_queryset(self):
        qs = selectors.certificate_list_visible(user=self.request.user)
        params = self.QuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        teacher = params.validated_data.get("teacher")
        return qs if teacher is None else qs.filter(teacher_id=teacher)

    @extend_schema(parameters=[QuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CertificateIssueApi(APIView):
    """Issues a service certificate for a period: of the caller (a teacher), or of a teacher at
    a school in the administrator's scope (``teacher``). The period is a scheme's (``scheme``)
    or given by ``period_start`` / ``period_end`` (local days, inclusive)."""

    class InputSerializer(StrictInputSerializer):
        teacher = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                           help_text="Teacher's user id; default: the caller.")
        scheme = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                          help_text="Take the period of this assessment scheme.")
        period_start = DayField(required=False)
        period_end = DayField(required=False)
        period_label = serializers.CharField(required=False, allow_blank=True, max_length=32)

        def validate(self, attrs):
            has_dates = "period_start" in attrs or "period_end" in attrs
            if "scheme" in attrs and has_dates:
                raise serializers.ValidationError({"scheme": [_("Give a scheme or a period, not both.")]})
            if "scheme" not in attrs:
                missing = {name: [_("This field is required (or give a scheme).")]
                           for name in ("period_start", "period_end") if name not in attrs}
                if missing:
                    raise serializers.ValidationError(missing)
            return attrs

    @extend_schema(request=InputSerializer, responses={201: CertificateDetailOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        label = params.get("period_label", "")
        if "scheme" in params:
            scheme = scheme_get_visible(user=request.user, pk=params["scheme"])
            start, end, label = scheme.period_start, scheme.period_end, label or scheme.period_label
        else:
            start, end = params["period_start"], params["period_end"]
        certificate = certificate_issue(actor=request.user, teacher_id=params.get("teacher", request.user.pk),
                                        period_start=start, period_end=end, period_label=label)
        return _detail(request, certificate, status_code=status.HTTP_201_CREATED)


class CertificateDetailApi(APIView):
    """A certificate the caller may read (the teacher's own, or in the administrator's scope)."""

    @extend_schema(responses={200: CertificateDetailOutputSerializer})
    def get(self, request, code: str):
        return _detail(request, selectors.certificate_get_visible(user=request.user, code=code))


class CertificatePdfApi(FileApi):
    """The certificate as a PDF (A4), with its verification code and address."""

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, code: str):
        certificate = selectors.certificate_get_visible(user=request.user, code=code)
        document = selectors.certificate_document(certificate)
        pdf = certificate_pdf(document, verify_url=_links(request, document.code)["verify_url"])
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            False, f"service-certificate-{document.code}.pdf")
        response["Cache-Control"] = "private, no-store"
        return response


class VerifyRateThrottle(AnonRateThrottle):
    """The anonymous rate, per client address, for every caller of the verification (page or
    API, signed in or not), counted apart from other anonymous requests: guessing codes stays
    slow."""

    def get_cache_key(self, request, view):
        return f"throttle_certificate_verify_{self.get_ident(request)}"


class CertificateVerifyApi(APIView):
    """Public (no sign-in): whether a certificate is genuine, checked against the service
    ledger, with what it states (teacher's name, school, period, totals). Throttled per client
    address (the anonymous rate)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [VerifyRateThrottle]

    class OutputSerializer(serializers.Serializer):
        genuine = serializers.BooleanField()
        problems = serializers.ListField(child=serializers.CharField())
        later_entries = serializers.IntegerField(
            help_text="Events of the period recorded after issue (not part of the certificate).")
        certificate = CertificateDocumentSerializer(source="document")

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, code: str):
        verification = selectors.certificate_verify(code=code)
        if verification is None:
            raise NotFound(_("No certificate has this verification code."))
        return Response(self.OutputSerializer(verification).data)


# --- dashboard ------------------------------------------------------------------------------

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class MonthField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not _MONTH.match(value):
            raise serializers.ValidationError(_("A month as YYYY-MM."))
        year, month = (int(part) for part in value.split("-"))
        if not selectors.EARLIEST_DAY.year <= year <= selectors.LATEST_DAY.year:
            raise serializers.ValidationError(_("Must lie between %(first)s and %(last)s.") % {
                "first": f"{selectors.EARLIEST_DAY:%Y-%m}", "last": f"{selectors.LATEST_DAY:%Y-%m}"})
        return datetime.date(year, month, 1)


class DashboardFiguresApi(APIView):
    """The dashboard's figures for the schools in the administrator's scope: per county, per
    month and per teacher tier, events and hours of service, teachers with service, and (from
    the latest assessment run) teachers meeting their duties; visits for city and county
    administrators. Default: the last twelve months."""

    class InputSerializer(serializers.Serializer):
        first_month = MonthField(required=False, help_text="YYYY-MM")
        last_month = MonthField(required=False, help_text="YYYY-MM")

        def validate(self, attrs):
            default_first, default_last = selectors.dashboard_default_months()
            last = attrs.get("last_month", default_last)
            first = attrs.get("first_month", selectors.month_add(last, -11) if "last_month" in attrs
                              else default_first)
            if first > last:
                raise serializers.ValidationError({"first_month": [_("Must not be after last_month.")]})
            span = (last.year - first.year) * 12 + last.month - first.month + 1
            if span > selectors.MAX_DASHBOARD_MONTHS:
                raise serializers.ValidationError({"first_month": [
                    _("At most %(n)s months at once.") % {"n": selectors.MAX_DASHBOARD_MONTHS}]})
            return {"first_month": first, "last_month": last}

    class OutputSerializer(serializers.Serializer):
        class RunSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            scheme_name = serializers.CharField()
            period_label = serializers.CharField()
            status = serializers.CharField()

        class CountySerializer(serializers.Serializer):
            county = serializers.IntegerField()
            name = serializers.CharField()
            teachers = serializers.IntegerField()
            events = serializers.IntegerField()
            active_teachers = serializers.IntegerField()
            service_hours = serializers.DecimalField(max_digits=14, decimal_places=1)
            assessed = serializers.IntegerField()
            meeting_duty = serializers.IntegerField()
            visits = serializers.IntegerField(allow_null=True)

        class MonthSerializer(serializers.Serializer):
            month = serializers.CharField()
            events = serializers.IntegerField()
            active_teachers = serializers.IntegerField()
            service_hours = serializers.DecimalField(max_digits=14, decimal_places=1)
            visits = serializers.IntegerField(allow_null=True)

        class TierSerializer(serializers.Serializer):
            tier = serializers.IntegerField(allow_null=True)
            name = serializers.CharField()
            teachers = serializers.IntegerField()
            events = serializers.IntegerField()
            active_teachers = serializers.IntegerField()
            service_hours = serializers.DecimalField(max_digits=14, decimal_places=1)
            assessed = serializers.IntegerField()
            meeting_duty = serializers.IntegerField()

        first_month = serializers.CharField()
        last_month = serializers.CharField()
        run = RunSerializer(allow_null=True)
        visits_available = serializers.BooleanField()
        by_county = CountySerializer(many=True)
        by_month = MonthSerializer(many=True)
        by_tier = TierSerializer(many=True)

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer})
    def get(self, request):
        selectors.access_dashboard(request.user)
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        figures = selectors.dashboard_figures(user=request.user, **data.validated_data)
        return Response(self.OutputSerializer(figures).data)

"""Onboarding import API: upload a sheet (a job runs it), follow the job, download the initial
passwords once, and get a blank template per kind. Administrators only."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from accounts.imports.columns import KINDS
from accounts.imports.selectors import import_job_list_visible
from accounts.imports.services import import_credentials_take, import_job_create
from accounts.imports.templates import CSV_TYPE, XLSX_TYPE, template_csv, template_xlsx
from accounts.models import ImportJob
from accounts.permissions import PasswordIsCurrent
from accounts.selectors import user_is_admin
from common.errors import ErrorResponseSerializer, NotFound


class IsAdministrator(BasePermission):
    message = _("Only administrators may import schools, teachers and students.")

    def has_permission(self, request, view) -> bool:
        return user_is_admin(request.user)


_PERMISSIONS = [IsAdministrator, PasswordIsCurrent]
_Error = ErrorResponseSerializer


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="Row number as Excel shows it (header = 1).")
    column = serializers.CharField(allow_null=True, help_text="Column header as written in the file.")
    message = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    credentials_available = serializers.SerializerMethodField(
        help_text="True for the job's creator while the initial passwords wait to be downloaded.")

    class Meta:
        model = ImportJob
        fields = ["id", "kind", "status", "dry_run", "original_name", "created_by", "created_at",
                  "started_at", "finished_at", "rows_total", "created_count", "updated_count",
                  "unchanged_count", "error_count", "credentials_count", "credentials_available"]

    def get_credentials_available(self, job) -> bool:
        request = self.context.get("request")
        return bool(job.credentials_file and job.credentials_downloaded_at is None and request
                    and job.created_by_id == request.user.pk)


class ImportJobDetailSerializer(ImportJobSerializer):
    errors = ImportErrorSerializer(many=True, read_only=True,
                                   help_text="The first 1,000 errors; error_count counts them all.")

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "errors"]


class ImportJobFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ImportJob.Kind.choices)
    status = filters.ChoiceFilter(choices=ImportJob.Status.choices)

    class Meta:
        model = ImportJob
        fields = []


class ImportJobListCreateApi(generics.ListAPIView):
    """GET: the import jobs in the caller's scope, newest first.
    POST: upload a sheet (multipart: kind, file, dry_run) and start an import job. Rows are
    validated and written all or nothing; the job reports errors by row and column."""

    permission_classes = _PERMISSIONS
    serializer_class = ImportJobSerializer
    filterset_class = ImportJobFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "import"

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
        file = serializers.FileField(max_length=255, allow_empty_file=False,
                                     help_text=".xlsx or .csv (UTF-8 or GB18030/GBK)")
        dry_run = serializers.BooleanField(default=False, help_text="Validate and count only.")

    def get_throttles(self):
        if self.request.method == "POST":
            return [UserRateThrottle(), ScopedRateThrottle()]
        return super().get_throttles()

    def get_queryset(self):
        return import_job_list_visible(user=self.request.user)

    @extend_schema(request={"multipart/form-data": InputSerializer},
                   responses={201: ImportJobDetailSerializer,
                              413: OpenApiResponse(ErrorResponseSerializer,
                                                   description="Larger than IMPORT_MAX_UPLOAD_BYTES.")})
    def post(self, request):
        try:
            payload = request.data
        except (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig) as exc:
            # Django raises these as "suspicious"; for a client they are a malformed request.
            raise ParseError(_("The request has too many fields or is too large.")) from exc
        data = self.InputSerializer(data=payload)
        data.is_valid(raise_exception=True)
        job = import_job_create(actor=request.user, kind=data.validated_data["kind"],
                                upload=data.validated_data["file"], dry_run=data.validated_data["dry_run"])
        job.refresh_from_db()  # with eager Celery the job has run already
        return Response(ImportJobDetailSerializer(job, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class ImportJobDetailApi(generics.RetrieveAPIView):
    """One import job: status, counts and the errors by row and column."""

    permission_classes = _PERMISSIONS
    serializer_class = ImportJobDetailSerializer

    def get_queryset(self):
        return import_job_list_visible(user=self.request.user)


class ImportCredentialsApi(APIView):
    """The initial passwords of the accounts a job created, as CSV (UTF-8 with BOM), for the
    administrator who started the job, once: then the file is deleted (410 afterwards)."""

    permission_classes = _PERMISSIONS

    @extend_schema(responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
        403: OpenApiResponse(_Error, description="Not the administrator who started the job."),
        404: OpenApiResponse(_Error, description="No such job in your scope, or no new accounts."),
        410: OpenApiResponse(_Error, description="Downloaded already (or purged)."),
    })
    def get(self, request, pk: int):
        job = get_object_or_404(import_job_list_visible(user=request.user), pk=pk)
        chunks = import_credentials_take(actor=request.user, job=job)
        response = StreamingHttpResponse(chunks, content_type=CSV_TYPE)
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-passwords.csv"'
        response["Cache-Control"] = "no-store"
        return response


class ImportTemplateApi(APIView):
    """A blank sheet for a kind (schools, teachers, students) with the accepted headers; the
    workbook has a second sheet describing each column."""

    permission_classes = _PERMISSIONS

    @extend_schema(
        parameters=[OpenApiParameter("file_type", str, enum=["xlsx", "csv"], default="xlsx")],
        responses={(200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY),
                   (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request, kind: str):
        if kind not in KINDS:
            raise NotFound(_("No template for '%(kind)s'; choose schools, teachers or students.")
                           % {"kind": kind[:40]})
        file_type = request.query_params.get("file_type", "xlsx")
        if file_type not in ("xlsx", "csv"):
            raise serializers.ValidationError({"file_type": [_("Choose xlsx or csv.")]})
        if file_type == "csv":
            response = HttpResponse(template_csv(kind), content_type=CSV_TYPE)
        else:
            response = HttpResponse(template_xlsx(kind), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{kind}-template.{file_type}"'
        return response

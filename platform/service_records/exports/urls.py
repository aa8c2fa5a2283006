"""API routes of exports, certificates and the dashboard's figures (under /api/v1/)."""

from django.urls import path, register_converter

from service_records.exports import apis


class FileFormatConverter:
    regex = "csv|xlsx"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FileFormatConverter, "file_format")

urlpatterns = [
    path("exports/evidence.<file_format:fmt>", apis.EvidenceExportApi.as_view(), name="export-evidence"),
    path("exports/runs/<int:pk>/results.<file_format:fmt>", apis.ResultExportApi.as_view(),
         name="export-results"),
    path("exports/runs/<int:pk>/payouts.<file_format:fmt>", apis.PayoutExportApi.as_view(),
         name="export-payouts"),
    path("exports/jobs/", apis.ExportJobListCreateApi.as_view(), name="export-job-list"),
    path("exports/jobs/<int:pk>/", apis.ExportJobDetailApi.as_view(), name="export-job-detail"),
    path("exports/jobs/<int:pk>/download/", apis.ExportJobDownloadApi.as_view(), name="export-job-download"),
    path("certificates/", apis.CertificateListApi.as_view(), name="certificate-list"),
    path("certificates/issue/", apis.CertificateIssueApi.as_view(), name="certificate-issue"),
    path("certificates/verify/<str:code>/", apis.CertificateVerifyApi.as_view(), name="certificate-verify"),
    path("certificates/<str:code>/", apis.CertificateDetailApi.as_view(), name="certificate-detail"),
    path("certificates/<str:code>/pdf/", apis.CertificatePdfApi.as_view(), name="certificate-pdf"),
    path("dashboard/figures/", apis.DashboardFiguresApi.as_view(), name="dashboard-figures"),
]

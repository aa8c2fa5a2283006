"""The service_records API: each part of the app (ledger, assessment, review, exports) brings
its own urls module."""

from django.urls import include, path

urlpatterns = [
    path("", include("service_records.assessment.urls")),
    path("", include("service_records.review.urls")),
    path("", include("service_records.exports.urls")),
]

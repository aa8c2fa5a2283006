from django.urls import path

from common import apis

urlpatterns = [
    path("audit/", apis.AuditEntryListApi.as_view(), name="audit-list"),
]

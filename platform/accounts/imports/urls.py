from django.urls import path

from accounts.imports import apis

urlpatterns = [
    path("imports/", apis.ImportJobListCreateApi.as_view(), name="import-list"),
    path("imports/templates/<str:kind>/", apis.ImportTemplateApi.as_view(), name="import-template"),
    path("imports/<int:pk>/", apis.ImportJobDetailApi.as_view(), name="import-detail"),
    path("imports/<int:pk>/credentials/", apis.ImportCredentialsApi.as_view(), name="import-credentials"),
]

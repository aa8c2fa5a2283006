from django.urls import path

from service_records.assessment import apis

urlpatterns = [
    path("assessment/schemes/", apis.SchemeListApi.as_view(), name="assessment-scheme-list"),
    path("assessment/schemes/import/", apis.SchemeImportApi.as_view(), name="assessment-scheme-import"),
    path("assessment/schemes/<int:pk>/", apis.SchemeDetailApi.as_view(), name="assessment-scheme-detail"),
    path("assessment/schemes/<int:pk>/export/", apis.SchemeExportApi.as_view(),
         name="assessment-scheme-export"),
    path("assessment/schemes/<int:pk>/publish/", apis.SchemePublishApi.as_view(),
         name="assessment-scheme-publish"),
    path("assessment/schemes/<int:pk>/new-version/", apis.SchemeNewVersionApi.as_view(),
         name="assessment-scheme-new-version"),
    path("assessment/runs/", apis.RunListApi.as_view(), name="assessment-run-list"),
    path("assessment/runs/compute/", apis.RunComputeApi.as_view(), name="assessment-run-compute"),
    path("assessment/runs/<int:pk>/", apis.RunDetailApi.as_view(), name="assessment-run-detail"),
    path("assessment/runs/<int:pk>/finalize/", apis.RunFinalizeApi.as_view(), name="assessment-run-finalize"),
    path("assessment/runs/<int:pk>/results/", apis.RunResultListApi.as_view(), name="assessment-result-list"),
    path("assessment/runs/<int:pk>/results/<int:teacher_id>/", apis.RunResultDetailApi.as_view(),
         name="assessment-result-detail"),
    path("assessment/runs/<int:pk>/incentives/", apis.RunIncentivesApi.as_view(),
         name="assessment-run-incentives"),
    path("assessment/runs/<int:pk>/payouts/", apis.RunPayoutListApi.as_view(), name="assessment-payout-list"),
    path("assessment/runs/<int:pk>/payouts/summary/", apis.RunPayoutSummaryApi.as_view(),
         name="assessment-payout-summary"),
    path("assessment/incentive-rules/", apis.IncentiveRuleListApi.as_view(),
         name="assessment-incentive-rule-list"),
]

from django.urls import path

from studios.activities import apis

urlpatterns = [
    path("activities/", apis.ActivityListCreateApi.as_view(), name="activity-list"),
    path("activities/<int:pk>/", apis.ActivityDetailApi.as_view(), name="activity-detail"),
    path("activities/<int:pk>/notice/", apis.ActivityNoticePublishApi.as_view(), name="activity-notice"),
    path("activities/<int:pk>/cancel/", apis.ActivityCancelApi.as_view(), name="activity-cancel"),
    path("activities/<int:pk>/report/", apis.ActivityReportSubmitApi.as_view(), name="activity-report"),
    path("activities/<int:pk>/review/", apis.ActivityReviewApi.as_view(), name="activity-review"),
    path("activities/<int:pk>/attachments/", apis.AttachmentListCreateApi.as_view(),
         name="activity-attachment-list"),
    path("activities/<int:pk>/attachments/<int:attachment_id>/", apis.AttachmentDetailApi.as_view(),
         name="activity-attachment-detail"),
    path("activities/<int:pk>/attendance/", apis.AttendanceListApi.as_view(), name="activity-attendance"),
    path("activities/<int:pk>/leave-requests/", apis.LeaveRequestListCreateApi.as_view(),
         name="activity-leave-list"),
    path("activities/<int:pk>/leave-requests/<int:leave_id>/decide/", apis.LeaveRequestDecideApi.as_view(),
         name="activity-leave-decide"),
    path("studios/<int:pk>/duties/", apis.StudioDutiesApi.as_view(), name="studio-duties"),
    path("studios/<int:pk>/statistics/", apis.StudioStatisticsApi.as_view(), name="studio-statistics"),
    path("studio-statistics/", apis.StudioStatisticsListApi.as_view(), name="studio-statistics-list"),
]

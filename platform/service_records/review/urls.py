from django.urls import path

from service_records.review import apis

urlpatterns = [
    path("service-records/me/events/", apis.MyEventListApi.as_view(), name="service-review-my-events"),
    path("service-records/me/progress/", apis.MyProgressApi.as_view(), name="service-review-my-progress"),
    path("service-records/events/<int:pk>/", apis.EventDetailApi.as_view(),
         name="service-review-event-detail"),
    path("service-records/events/<int:pk>/flags/", apis.EventFlagCreateApi.as_view(),
         name="service-review-event-flag"),
    path("service-records/disputes/", apis.DisputeListCreateApi.as_view(), name="service-review-disputes"),
    path("service-records/disputes/<int:pk>/", apis.DisputeDetailApi.as_view(),
         name="service-review-dispute-detail"),
    path("service-records/disputes/<int:pk>/resolve/", apis.DisputeResolveApi.as_view(),
         name="service-review-dispute-resolve"),
    path("service-records/flags/", apis.FlagListApi.as_view(), name="service-review-flags"),
    path("service-records/flags/<int:pk>/", apis.FlagDetailApi.as_view(), name="service-review-flag-detail"),
    path("service-records/flags/<int:pk>/resolve/", apis.FlagResolveApi.as_view(),
         name="service-review-flag-resolve"),
    path("service-records/review/teachers/", apis.ReviewTeacherListApi.as_view(),
         name="service-review-teachers"),
    path("service-records/review/teachers/<int:teacher_id>/events/", apis.ReviewTeacherEventListApi.as_view(),
         name="service-review-teacher-events"),
    path("service-records/adoption/", apis.AdoptionReportApi.as_view(), name="service-review-adoption"),
]

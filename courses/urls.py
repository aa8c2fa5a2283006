from django.urls import path

from courses import apis

urlpatterns = [
    path("courses/", apis.CourseListCreateApi.as_view(), name="course-list"),
    path("courses/<int:pk>/", apis.CourseDetailApi.as_view(), name="course-detail"),
    path("courses/<int:pk>/publish/", apis.CoursePublishApi.as_view(), name="course-publish"),
    path("courses/<int:pk>/archive/", apis.CourseArchiveApi.as_view(), name="course-archive"),
    path("courses/<int:pk>/cover/", apis.CourseCoverApi.as_view(), name="course-cover"),
    path("courses/<int:pk>/enrolment/", apis.CourseEnrolmentApi.as_view(), name="course-enrolment"),
    path("courses/<int:pk>/enrolments/", apis.CourseRosterApi.as_view(), name="course-roster"),
    path("courses/<int:pk>/lectures/", apis.CourseLectureListCreateApi.as_view(), name="course-lecture-list"),
    path("lectures/", apis.LectureListApi.as_view(), name="lecture-list"),
    path("lectures/<int:pk>/", apis.LectureDetailApi.as_view(), name="lecture-detail"),
    path("lectures/<int:pk>/staff/", apis.LectureStaffListCreateApi.as_view(), name="lecture-staff-list"),
    path("lectures/<int:pk>/staff/<int:staff_id>/", apis.LectureStaffDetailApi.as_view(),
         name="lecture-staff-detail"),
    path("lectures/<int:pk>/schedule/", apis.LectureScheduleApi.as_view(), name="lecture-schedule"),
    path("lectures/<int:pk>/go-live/", apis.LectureGoLiveApi.as_view(), name="lecture-go-live"),
    path("lectures/<int:pk>/end/", apis.LectureEndApi.as_view(), name="lecture-end"),
    path("lectures/<int:pk>/replay/", apis.LectureReplayApi.as_view(), name="lecture-replay"),
    path("lectures/<int:pk>/cancel/", apis.LectureCancelApi.as_view(), name="lecture-cancel"),
    path("resources/", apis.ResourceListCreateApi.as_view(), name="resource-list"),
    path("resources/<int:pk>/", apis.ResourceDetailApi.as_view(), name="resource-detail"),
    path("resources/<int:pk>/download/", apis.ResourceDownloadApi.as_view(), name="resource-download"),
    path("resources/<int:pk>/approve/", apis.ResourceApproveApi.as_view(), name="resource-approve"),
    path("resources/<int:pk>/return/", apis.ResourceReturnApi.as_view(), name="resource-return"),
    path("calendar/ics-token/", apis.CalendarFeedApi.as_view(), name="calendar-feed-token"),
]

from django.urls import path

from live import apis

urlpatterns = [
    path("lectures/<int:pk>/replay/messages/", apis.LectureReplayMessagesApi.as_view(),
         name="lecture-replay-messages"),
    path("lectures/<int:pk>/bans/", apis.LectureBanListApi.as_view(), name="lecture-ban-list"),
    path("lectures/<int:pk>/bans/<int:ban_id>/lift/", apis.LectureBanLiftApi.as_view(),
         name="lecture-ban-lift"),
    path("lectures/<int:pk>/attendance/", apis.LectureAttendanceListApi.as_view(),
         name="lecture-attendance-list"),
]

from django.urls import path

from regions import apis

urlpatterns = [
    path("regions/", apis.RegionListApi.as_view(), name="region-list"),
    path("schools/", apis.SchoolListApi.as_view(), name="school-list"),
    path("schools/<int:pk>/", apis.SchoolDetailApi.as_view(), name="school-detail"),
    path("stages/", apis.SchoolStageListApi.as_view(), name="stage-list"),
    path("subjects/", apis.SubjectListApi.as_view(), name="subject-list"),
    path("grades/", apis.GradeListApi.as_view(), name="grade-list"),
    path("teacher-tiers/", apis.TeacherTierListApi.as_view(), name="teacher-tier-list"),
]

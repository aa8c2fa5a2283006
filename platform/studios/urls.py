from django.urls import include, path

from studios import apis

urlpatterns = [
    path("studio-kinds/", apis.StudioKindListApi.as_view(), name="studio-kind-list"),
    path("studios/", apis.StudioListCreateApi.as_view(), name="studio-list"),
    path("studios/<int:pk>/", apis.StudioDetailApi.as_view(), name="studio-detail"),
    path("studios/<int:pk>/close/", apis.StudioCloseApi.as_view(), name="studio-close"),
    path("studios/<int:pk>/host/", apis.StudioHostChangeApi.as_view(), name="studio-host-change"),
    path("studios/<int:pk>/members/", apis.MembershipListCreateApi.as_view(), name="studio-member-list"),
    path("studios/<int:pk>/members/<int:membership_id>/end/", apis.MembershipEndApi.as_view(),
         name="studio-member-end"),
    path("", include("studios.activities.urls")),
]

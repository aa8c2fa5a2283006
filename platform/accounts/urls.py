from django.urls import path

from accounts import apis

urlpatterns = [
    path("auth/csrf/", apis.CsrfApi.as_view(), name="auth-csrf"),
    path("auth/token/", apis.TokenLoginApi.as_view(), name="auth-token"),
    path("auth/token/logout/", apis.TokenLogoutApi.as_view(), name="auth-token-logout"),
    path("auth/token/logout-all/", apis.TokenLogoutAllApi.as_view(), name="auth-token-logout-all"),
    path("auth/session/", apis.SessionLoginApi.as_view(), name="auth-session"),
    path("auth/session/logout/", apis.SessionLogoutApi.as_view(), name="auth-session-logout"),
    path("auth/password/", apis.PasswordChangeApi.as_view(), name="auth-password"),
    path("auth/ws-ticket/", apis.WebsocketTicketApi.as_view(), name="auth-ws-ticket"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("teachers/", apis.TeacherListApi.as_view(), name="teacher-list"),
    path("teachers/<int:user_id>/", apis.TeacherDetailApi.as_view(), name="teacher-detail"),
    path("students/", apis.StudentListApi.as_view(), name="student-list"),
    path("students/<int:user_id>/", apis.StudentDetailApi.as_view(), name="student-detail"),
    path("users/<int:user_id>/password-reset/", apis.PasswordResetApi.as_view(),
         name="user-password-reset"),
]

"""Browser pages of the exports part, at the site's root (config.urls includes this module):
the dashboard, a certificate, and the public verification of certificate codes."""

from django.urls import path

from service_records.exports import views

urlpatterns = [
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("certificates/<str:code>/", views.certificate_page, name="certificate-page"),
    path("verify/", views.verify_form, name="certificate-verify-form"),
    path("verify/<str:code>/", views.verify_page, name="certificate-verify-page"),
]

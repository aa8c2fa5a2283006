from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import PasswordChangeView
from common.health import healthz, readyz

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("accounts.imports.urls")),
    path("", include("regions.urls")),
    path("", include("studios.urls")),
    path("", include("courses.urls")),
    path("", include("live.urls")),
    path("", include("notifications.urls")),
    path("", include("service_records.urls")),
    path("", include("common.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before Django's auth URLs: the same path and name, so both reverse() and the URL reach
    # the view that clears must_change_password.
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("service_records.exports.page_urls")),
    path("", include("courses.feed_urls")),  # the public calendar feed (/calendar/<token>.ics)
    path("", include("live.page_urls")),
]
# Not under i18n_patterns: with prefix_default_language=False, LocaleMiddleware would ignore
# Accept-Language on every unprefixed URL (the API included). The language comes from the
# language cookie (/i18n/setlang/) or Accept-Language, Chinese by default.
urlpatterns += [path("admin/", admin.site.urls)]

# Under /api/ these answer in the JSON error shape; elsewhere they are Django's own pages.
handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"

admin.site.site_header = "学问通 Xuewen"
admin.site.site_title = "Xuewen"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

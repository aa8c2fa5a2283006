"""Browser pages of the live rooms, at the site's root (config.urls includes this module)."""

from django.urls import path

from live import views

urlpatterns = [
    path("live/<int:lecture_id>/", views.room_page, name="live-room-page"),
]

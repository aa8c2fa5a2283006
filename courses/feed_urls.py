"""The public calendar feed (token in the address), outside /api/."""

from django.urls import path

from courses.views import calendar_feed

urlpatterns = [
    path("calendar/<str:token>.ics", calendar_feed, name="calendar-feed"),
]

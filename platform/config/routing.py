"""Websocket routes of every app, gathered in one list for config.asgi."""

from django.urls import path

from accounts.consumers import WhoAmIConsumer
from live.asgi_app import live_room_app

websocket_urlpatterns = [
    path("ws/whoami/", WhoAmIConsumer.as_asgi()),
    # A lean ASGI app, not a consumer: no channel layer per connection (docs/live-transport.md).
    path("ws/live/<int:lecture_id>/", live_room_app),
]

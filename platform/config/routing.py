"""Websocket routes of every app, gathered in one list for config.asgi."""

from django.urls import path

from accounts.consumers import WhoAmIConsumer

websocket_urlpatterns = [
    path("ws/whoami/", WhoAmIConsumer.as_asgi()),
]

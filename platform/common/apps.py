from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting pieces: the error shape, pagination, request ids, health checks."""

    name = "common"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    """Live rooms over websockets: chat, questions, quizzes, presence, attendance."""

    name = "live"
    verbose_name = _("Live rooms")

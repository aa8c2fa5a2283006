from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudiosConfig(AppConfig):
    """Famous-teacher studios (名师工作室): kinds, cycles, memberships."""

    name = "studios"
    verbose_name = _("Studios")

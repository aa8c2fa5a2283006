from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QaConfig(AppConfig):
    """The teacher answer desk (答疑)."""

    name = "qa"
    verbose_name = _("Answer desk")

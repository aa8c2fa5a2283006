from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """In-app notifications: lecture reminders, report reviews, traineeship changes, ..."""

    name = "notifications"
    verbose_name = _("Notifications")

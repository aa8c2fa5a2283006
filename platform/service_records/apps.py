from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceRecordsConfig(AppConfig):
    """Teachers' online service as evidence, assessment schemes and their results."""

    name = "service_records"
    verbose_name = _("Service records")

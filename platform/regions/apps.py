from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegionsConfig(AppConfig):
    """Places and school structure: cities, counties, schools, stages, subjects, grades."""

    name = "regions"
    verbose_name = _("Regions and schools")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    """Search backends (database, Elasticsearch) behind one interface."""

    name = "search"
    verbose_name = _("Search")

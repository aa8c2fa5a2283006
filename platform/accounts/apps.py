from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """People: users, their roles (student, teacher, administrator) and authentication."""

    name = "accounts"
    verbose_name = _("Accounts")

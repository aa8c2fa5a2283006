"""Helpers for tests of the Django admin: a signed-in browser client and page checks."""

from django.test import Client

from accounts.models import User
from tests.factories import UserFactory


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refused(response) -> bool:
    """The admin's answers for an object the user may not see or touch: a redirect to the admin
    index ("does not exist"), 404 or 403; never a page showing it, never a 500."""
    if response.status_code == 302:
        return response["Location"] == "/admin/"
    return response.status_code in (403, 404)


def staff_without_profile() -> User:
    return UserFactory(username="staff_no_profile", is_staff=True)


def superuser() -> User:
    return UserFactory(username="root", is_staff=True, is_superuser=True)

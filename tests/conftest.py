import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient

from tests import factories


def _clear_cache() -> None:
    """Forget throttle counters and tickets between tests, only this worker's keys."""
    if django_settings.REDIS_URL:
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=f"{django_settings.CACHE_KEY_PREFIX}:*", count=1000):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _isolated_cache():
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def _default_event_kinds(request):
    """A transactional test flushes the database, data migrations' rows included; put the
    default service event kinds back for every test that uses the database."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if marker is None and not {"db", "transactional_db"} & set(names):
        return
    transactional = "transactional_db" in names or "live_server" in names or bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    request.getfixturevalue("transactional_db" if transactional else "db")
    from service_records.kinds import ensure_default_kinds

    ensure_default_kinds()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads (covers, resources, report attachments, demo files) go to a temporary folder,
    never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient authenticated as that user (force_authenticate)."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture
def world(db):
    """Two counties of one city, a school in each, and one person of each role in each."""
    return factories.build_world()

"""/healthz and /readyz as a load balancer sees them."""

import threading
import time

import pytest

from common import health
from config.celery import app as celery_app

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture
def hanging_check(monkeypatch):
    """Replaces the database check with one that hangs until the test ends."""
    release = threading.Event()
    monkeypatch.setattr(health, "_check_database", lambda: release.wait(30))
    yield
    release.set()


def test_healthz_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_200_when_every_configured_dependency_answers(client, settings):
    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert all(result == "ok" for result in body["checks"].values())
    # What is configured is checked, and nothing else.
    assert ("redis" in body["checks"]) == bool(settings.REDIS_URL)
    assert ("broker" in body["checks"]) == (not settings.CELERY_TASK_ALWAYS_EAGER)


@pytest.mark.django_db
def test_readyz_is_503_naming_a_failing_database(client, monkeypatch):
    def broken():
        raise ConnectionError("could not connect to server")

    monkeypatch.setattr(health, "_check_database", broken)
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "error"
    assert body["failing"] == ["database"]
    assert "could not connect" not in response.content.decode()  # no internals to the outside


@pytest.mark.django_db
def test_readyz_is_503_naming_an_unreachable_redis(client, settings):
    settings.REDIS_URL = UNREACHABLE_REDIS

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "error"
    assert "redis" in response.json()["failing"]
    assert "database" not in response.json()["failing"]


@pytest.mark.django_db
def test_readyz_is_503_naming_an_unreachable_channel_layer(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [UNREACHABLE_REDIS]},
        }
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"] == "error"


@pytest.mark.django_db
def test_readyz_is_503_naming_an_unreachable_broker(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(celery_app.conf, "broker_url", UNREACHABLE_REDIS)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"


@pytest.mark.django_db
@pytest.mark.usefixtures("hanging_check")
def test_readyz_answers_in_bounded_time_when_a_dependency_hangs(client, settings):
    settings.READINESS_TIMEOUT_SECONDS = 0.3

    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "timeout"
    # The hanging check would hold the worker for 30 s; the probe gives up after its bound.
    assert elapsed < 10


def test_readyz_only_answers_get(client):
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz").status_code == 405


def test_channel_layer_hosts_are_read_from_each_config_form(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://a:6379/0", ("b", 6380), {"address": "redis://c:6379/1"}]},
        }
    }
    assert health._channel_layer_hosts() == ["redis://a:6379/0", "redis://b:6380/0", "redis://c:6379/1"]

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert health._channel_layer_hosts() == []
    assert "channel_layer" not in health.readiness_checks_configured()

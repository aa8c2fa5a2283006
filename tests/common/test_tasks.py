"""The Celery app is wired: the worker finds common.ping, and without a broker tasks run eagerly."""

import os
import subprocess
import sys
from pathlib import Path

from common.request_id import request_id_var
from common.tasks import ping
from config.celery import _bind_request_id, _send_request_id, _unbind_request_id
from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]

_DELAY_PING = """
from config.celery import app
from common.tasks import ping
print(app.conf.task_always_eager, app.conf.broker_url, ping.delay().get(timeout=5))
"""


def test_without_redis_a_delayed_task_runs_eagerly_in_the_caller(tmp_path):
    """The embedded default: no REDIS_URL, no worker, and .delay() still runs the task."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "XUEWEN_ENV_FILE"}}
    env.update(XUEWEN_ENV="test", XUEWEN_DATA_DIR=str(tmp_path),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]))
    result = subprocess.run([sys.executable, "-c", _DELAY_PING], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "memory://", "pong"]


def test_ping_runs_in_process():
    assert ping.apply().get() == "pong"


def test_the_worker_discovers_the_task():
    celery_app.loader.import_default_modules()
    assert "common.ping" in celery_app.tasks


def test_a_task_carries_the_request_id_of_the_request_that_sent_it():
    headers = {}
    token = request_id_var.set("req-9")
    try:
        _send_request_id(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {"xuewen_request_id": "req-9"}

    class Request:
        xuewen_request_id = "req-9"

    class Task:
        request = Request()

    _bind_request_id(task_id="t-1", task=Task())  # in a worker, between tasks the id is unset
    try:
        assert request_id_var.get() == "req-9"
    finally:
        _unbind_request_id(task_id="t-1")
    assert request_id_var.get() == "-"


def test_a_task_sent_from_outside_a_request_logs_under_its_task_id():
    class Task:
        request = object()

    _bind_request_id(task_id="5f0c-task", task=Task())
    try:
        assert request_id_var.get() == "5f0c-task"
    finally:
        _unbind_request_id(task_id="5f0c-task")

"""Structured logs: one JSON line per request, carrying the request id the client sees."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from common.logging import RequestIdFilter
from common.request_id import new_request_id, request_id_var

ROOT = Path(__file__).resolve().parents[2]
HEX_ID = re.compile(r"^[0-9a-f]{32}$")

_SERVE_ONE_REQUEST = """
import django
django.setup()
from django.test import Client
response = Client().get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a.1")
print(response["X-Request-ID"])
"""


def test_a_request_logs_one_json_line_with_its_request_id():
    """The logging configuration as production loads it (LOG_FORMAT=json), in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k not in {"LOG_LEVEL", "LOG_FORMAT"}}
    env.update(
        XUEWEN_ENV="test", LOG_FORMAT="json", DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
    )
    result = subprocess.run([sys.executable, "-c", _SERVE_ONE_REQUEST], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "edge-7f3a.1"  # echoed to the client

    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("logger") == "xuewen.request"]
    assert len(request_lines) == 1, result.stderr
    line = request_lines[0]
    assert line["request_id"] == "edge-7f3a.1"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["level"] == "INFO"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$", line["time"])


def test_a_well_formed_request_id_is_kept_and_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123_DEF.9")
    assert response["X-Request-ID"] == "abc-123_DEF.9"


@pytest.mark.parametrize(
    "incoming",
    ["", "has space", "x" * 65, "semi;colon", "new\nline", "引号"],
    ids=["empty", "space", "too-long", "semicolon", "newline", "non-ascii"],
)
def test_a_malformed_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert HEX_ID.match(response["X-Request-ID"])


def test_without_a_request_id_each_request_gets_its_own(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert HEX_ID.match(first) and HEX_ID.match(second) and first != second


def test_the_request_line_carries_method_path_status_and_duration(client, caplog):
    caplog.set_level(logging.INFO, logger="xuewen.request")
    response = client.get("/api/v1/me/?secret=1", HTTP_X_REQUEST_ID="req-1")

    (record,) = [r for r in caplog.records if r.name == "xuewen.request"]
    assert (record.method, record.path, record.status) == ("GET", "/api/v1/me/", response.status_code)
    assert record.duration_ms >= 0
    assert "secret" not in record.getMessage()  # the query string is never logged


def test_every_log_line_during_a_request_carries_its_id():
    record = logging.LogRecord("any", logging.INFO, __file__, 1, "message", None, None)
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    assert record.request_id == "req-42"

    outside = logging.LogRecord("any", logging.INFO, __file__, 1, "message", None, None)
    RequestIdFilter().filter(outside)
    assert outside.request_id == "-"


def test_new_request_id_keeps_only_safe_ids():
    assert new_request_id("trace.1-A_b") == "trace.1-A_b"
    assert HEX_ID.match(new_request_id(None))
    assert HEX_ID.match(new_request_id("a b"))

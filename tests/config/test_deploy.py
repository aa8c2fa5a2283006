"""deploy/: the nginx, systemd and gunicorn files are valid and agree with the settings."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX_SITE = (DEPLOY / "nginx" / "xuewen.conf").read_text()
UNITS = DEPLOY / "systemd"


def _env_example_default(name: str) -> str:
    match = re.search(rf"^{name}=(.*)$", (DEPLOY / "env.example").read_text(), flags=re.MULTILINE)
    assert match, name
    return match.group(1)


def _location(prefix: str) -> str:
    """The body of the last nginx location block starting ``location <prefix>`` (the HTTPS
    server comes after the plain HTTP one)."""
    start = NGINX_SITE.rindex(f"location {prefix}")
    return NGINX_SITE[start:NGINX_SITE.index("\n    }", start)]


def _size_in_bytes(nginx_size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", nginx_size).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"),
                    reason="nginx or openssl not installed (apt-get install nginx-light)")
def test_nginx_accepts_the_configuration(tmp_path):
    """`nginx -t` on deploy/nginx/, with paths moved into a scratch folder and a throwaway
    certificate in place of the real one."""
    conf_d, logs = tmp_path / "conf.d", tmp_path / "logs"
    conf_d.mkdir()
    logs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=xuewen.example.cn", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)

    def place(text: str) -> str:
        return (text.replace("/etc/nginx/conf.d/", f"{conf_d}/")
                .replace("/var/log/nginx/", f"{logs}/")
                .replace("/run/nginx.pid", f"{tmp_path}/nginx.pid")
                .replace("/etc/ssl/xuewen/fullchain.pem", f"{tmp_path}/cert.pem")
                .replace("/etc/ssl/xuewen/privkey.pem", f"{tmp_path}/key.pem"))

    (tmp_path / "nginx.conf").write_text(place((DEPLOY / "nginx" / "nginx.conf").read_text()))
    (conf_d / "xuewen.conf").write_text(place(NGINX_SITE))
    shutil.copy(DEPLOY / "nginx" / "xuewen-proxy.inc", conf_d)

    result = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    # nginx >= 1.25 prefers `http2 on;` to `listen ... http2` but still accepts it; Debian 12
    # ships 1.22, which knows only the latter.
    warnings = [line for line in result.stderr.splitlines()
                if "[warn]" in line and "http2" not in line]
    assert not warnings, result.stderr


def test_nginx_upload_limit_matches_the_import_limit():
    limit = re.search(r"client_max_body_size\s+(\w+);", NGINX_SITE).group(1)
    from django.conf import settings

    assert _size_in_bytes(limit) == int(_env_example_default("IMPORT_MAX_UPLOAD_BYTES"))
    if "IMPORT_MAX_UPLOAD_BYTES" not in os.environ:
        assert _size_in_bytes(limit) == settings.IMPORT_MAX_UPLOAD_BYTES


def test_nginx_routes_websockets_to_several_asgi_processes_and_http_to_gunicorn():
    ws = _location("/ws/")
    assert "proxy_pass http://xuewen_ws;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    assert int(re.search(r"proxy_read_timeout (\d+)s;", ws).group(1)) >= 3600
    assert "proxy_pass http://xuewen_http;" in _location("/ ")

    ws_upstream = NGINX_SITE[NGINX_SITE.index("upstream xuewen_ws"):]
    ws_upstream = ws_upstream[:ws_upstream.index("}")]
    ports = re.findall(r"server 127\.0\.0\.1:(\d+)", ws_upstream)
    assert len(ports) >= 2
    # ... and the target starts one Daphne per upstream port.
    target = (UNITS / "xuewen.target").read_text()
    assert all(f"xuewen-ws@{port}.service" in target for port in ports)


def test_nginx_never_serves_uploaded_personal_data():
    # Uploads that only the application hands out (after its permission checks).
    private = _location("~ ^/media/(imports|resources|activities|exports)/")
    assert "return 404;" in private
    assert "alias /srv/xuewen/media/;" in _location("/media/")


def test_nginx_passes_one_well_formed_request_id():
    assert "proxy_set_header X-Request-ID $xuewen_request_id;" in (
        DEPLOY / "nginx" / "xuewen-proxy.inc").read_text()
    pattern = re.search(r'"~\^\[A-Za-z0-9\._-\]\{1,64\}\$"', NGINX_SITE)
    assert pattern, "nginx must keep exactly the ids Django keeps (common.request_id)"
    from common.request_id import _SAFE

    assert _SAFE.pattern == r"^[A-Za-z0-9._-]{1,64}$"
    start = NGINX_SITE.index("log_format")
    log_format = NGINX_SITE[start:NGINX_SITE.index("';\n", start)]
    # $uri, not $request / $request_uri / $args: websocket tickets must stay out of the logs.
    assert "$uri" in log_format
    assert not re.search(r"\$(request|request_uri|args|query_string)\b", log_format)


def test_units_run_the_right_entry_points():
    web = (UNITS / "xuewen-web.service").read_text()
    ws = (UNITS / "xuewen-ws@.service").read_text()
    assert "gunicorn -c /srv/xuewen/app/deploy/gunicorn.conf.py" in web
    # Live nodes run uvicorn (docs/live-transport.md) with a listen backlog for connect storms.
    assert "/.venv/bin/uvicorn config.asgi:application" in ws
    assert "--port %i --backlog 4096" in ws
    assert "config.asgi:application" in ws
    assert "celery -A config worker" in (UNITS / "xuewen-celery-worker.service").read_text()
    assert "celery -A config beat" in (UNITS / "xuewen-celery-beat.service").read_text()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_accepts_the_units(tmp_path):
    """`systemd-analyze verify`, with the install path pointed at this checkout so that the
    executables it checks exist."""
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/xuewen/app", str(ROOT)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings to systemd; here they fail.
    problems = [line for line in result.stderr.splitlines() if str(tmp_path) in line]
    assert not problems, "\n".join(problems)


def test_gunicorn_loads_the_configuration_and_the_application():
    env = dict(os.environ, XUEWEN_ENV="test")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "--check-config",
         "-c", str(DEPLOY / "gunicorn.conf.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

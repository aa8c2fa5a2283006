"""Headless Chromium for browser tests (Debian's /usr/bin/chromium driven by Playwright).

Tests using the ``browser`` fixture are skipped where Chromium is not installed;
.ci/run installs it. ``playwright install`` cannot download browsers on these machines.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("XUEWEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser(monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    # Playwright's sync API refuses to start inside a running event loop; Django's async
    # safety check would trip on its thread, which only ever talks to the browser.
    # (monkeypatch: the variable must not leak into later tests; check --deploy rejects it)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()

"""The dashboard and the certificate verification in a real browser (headless Chromium): the
charts are drawn from the figures API with no network beyond the site, scoped to the signed-in
county administrator; a certificate code checks out as genuine on the public page."""

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from service_records.assessment.services import assessment_run_compute
from service_records.exports.selectors import certificate_code_display
from service_records.exports.services import certificate_issue
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import build_world
from tests.service_records.assessment_support import duty, leaf, node, published_scheme, record

# (The default event kinds come back after each flush: tests/conftest.py _default_event_kinds.)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BARS = """selector => Array.from(document.querySelectorAll(selector)).map(
    bar => [bar.dataset.category, Number(bar.getAttribute('height')), Number(bar.dataset.value)])"""


def _seed():
    world = build_world()
    now = timezone.now()
    for days in (3, 4, 40):
        record(world.teacher_a, "answer_given", now - datetime.timedelta(days=days))
    record(world.teacher_a, "live_minutes", now - datetime.timedelta(days=5), quantity=120)
    record(world.teacher_a, "research_lesson", now - datetime.timedelta(days=6))
    record(world.teacher_b, "answer_given", now - datetime.timedelta(days=3))  # the other county
    today = timezone.localdate()
    scheme = published_scheme(world.city, [node("A1", "A", [
        leaf("B1", ["answer_given"], "10", level="B"),
        leaf("B2", ["research_lesson"], "1", level="B", duty=duty(1, "period"))])],
        start=f"{today - datetime.timedelta(days=200):%Y-%m-%d}",
        end=f"{today + datetime.timedelta(days=100):%Y-%m-%d}")
    assessment_run_compute(scheme=scheme)
    return world


def _signed_in_page(browser, live_server, user):  # noqa: F811
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="zh-CN")
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    outside, errors = [], []
    # Nothing may leave the site: these machines have no internet, and neither may the charts.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
               else (outside.append(route.request.url), route.abort()))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, outside, errors


def test_the_dashboard_draws_the_county_administrators_charts(live_server, browser):  # noqa: F811
    world = _seed()
    page, outside, errors = _signed_in_page(browser, live_server, world.county_admin_a.user)
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#dashboard[data-state=ready]", timeout=20000)

    county_bars = page.evaluate(BARS, "#chart-county-events svg rect.bar")
    assert county_bars == [["鹿城区", pytest.approx(county_bars[0][1]), 5]]  # only their county
    assert county_bars[0][1] > 0
    month_bars = page.evaluate(BARS, "#chart-month-events svg rect.bar-0")
    assert len(month_bars) == 12 and sum(value for _m, _h, value in month_bars) == 5
    assert all((height > 0) == (value > 0) for _m, height, value in month_bars)
    hours = page.evaluate(BARS, "#chart-month-hours svg rect.bar")
    assert sum(value for _m, _h, value in hours) == 2
    duty_bars = page.evaluate(BARS, "#chart-county-duty svg rect.bar")
    assert [(category, value) for category, _h, value in duty_bars] == [("鹿城区", 1), ("鹿城区", 1)]
    assert page.locator("#chart-tier svg rect.bar").count() == 3
    assert page.locator("#chart-county-visits svg").count() == 1
    assert page.locator("#run-exports").is_visible()
    assert not outside and not errors


def test_choosing_months_redraws_the_charts(live_server, browser):  # noqa: F811
    world = _seed()
    page, outside, errors = _signed_in_page(browser, live_server, world.city_admin.user)
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#dashboard[data-state=ready]", timeout=20000)
    county_bars = page.evaluate(BARS, "#chart-county-events svg rect.bar")
    assert [(category, value) for category, _h, value in county_bars] == [("鹿城区", 5), ("泰顺县", 1)]
    last = timezone.localdate().replace(day=1)
    page.fill("input[name=first_month]", f"{last:%Y-%m}")
    page.fill("input[name=last_month]", f"{last:%Y-%m}")
    page.click("#dashboard-months button")
    page.wait_for_function("document.querySelectorAll('#chart-month-events rect.bar-0').length === 1",
                           timeout=20000)
    assert not outside and not errors


def test_a_teacher_is_refused_the_dashboard(live_server, browser):  # noqa: F811
    world = _seed()
    page, _outside, _errors = _signed_in_page(browser, live_server, world.teacher_a.user)
    response = page.goto(f"{live_server.url}/dashboard/")
    assert response.status == 403
    assert page.locator("#dashboard").count() == 0


def test_a_certificate_code_checks_out_on_the_public_page(live_server, browser):  # noqa: F811
    world = _seed()
    today = timezone.localdate()
    certificate = certificate_issue(actor=world.teacher_a.user, teacher_id=world.teacher_a.user_id,
                                    period_start=today - datetime.timedelta(days=60), period_end=today)
    page = browser.new_page()
    page.goto(f"{live_server.url}/verify/")
    page.fill("input[name=code]", certificate.code.lower())
    page.click("form button")
    page.wait_for_selector("#verdict")
    assert page.locator("#verdict").get_attribute("data-genuine") == "true"
    assert page.url.endswith(f"/verify/{certificate_code_display(certificate.code)}/")
    assert world.teacher_a.real_name in page.locator("dd.teacher").inner_text()

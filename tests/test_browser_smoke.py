"""What the README promises of the run command, checked in a real browser: the API docs page
loads, and a demo student and a demo administrator can sign in."""

import pytest
from django.core.management import call_command

from common.demo import DEMO_PASSWORD
from tests.browser import browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGN_IN = """async ([username, password]) => {
    await fetch('/api/v1/auth/csrf/', {credentials: 'same-origin'});
    const csrf = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
    const login = await fetch('/api/v1/auth/session/', {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
        body: JSON.stringify({username, password})});
    const me = await fetch('/api/v1/me/', {credentials: 'same-origin'});
    return [login.status, me.status, await me.json()];
}"""


def test_api_docs_page_renders_the_operations(live_server, browser):  # noqa: F811
    page = browser.new_page()
    page.goto(f"{live_server.url}/api/docs/")
    # Swagger UI renders the operations tag by tag: wait for many, not for the first.
    page.wait_for_function("document.querySelectorAll('.opblock').length > 10", timeout=30000)
    assert "Xuewen API" in page.content()


@pytest.mark.parametrize("username,role", [("student001", "student"), ("county_admin_lc", "admin")])
def test_demo_users_sign_in_from_the_browser(live_server, browser, username, role):  # noqa: F811
    call_command("seed_demo", verbosity=0)
    page = browser.new_page()
    page.goto(f"{live_server.url}/api/docs/")
    login_status, me_status, me = page.evaluate(SIGN_IN, [username, DEMO_PASSWORD])
    assert (login_status, me_status) == (200, 200)
    assert me["username"] == username and me["role"] == role


def test_demo_admin_signs_in_to_the_admin_site(live_server, browser):  # noqa: F811
    call_command("seed_demo", verbosity=0)
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "county_admin_lc")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith("/admin")
    assert page.locator("#user-tools").count() == 1

"""The ASGI live server of the browser tests (tests/live/conftest_page.py) in real Chromium: a
signed-in page fetches a websocket ticket over its session (with the CSRF header) and opens a
websocket on the same server, which knows who it is."""

import pytest

from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import StudentFactory
from tests.live.conftest_page import asgi_live_server  # noqa: F401 - fixture
from tests.live.page_support import signed_in_page

pytestmark = [
    pytest.mark.browser, pytest.mark.django_db(transaction=True),
    # Static files reach the ASGI server as sync iterators; harmless here.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

WHOAMI = """async () => {
    const csrf = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
    const response = await fetch('/api/v1/auth/ws-ticket/', {
        method: 'POST', credentials: 'same-origin', headers: {'X-CSRFToken': csrf}});
    const {ticket} = await response.json();
    const url = `ws://${location.host}/ws/whoami/?ticket=${encodeURIComponent(ticket)}`;
    return await new Promise((resolve, reject) => {
        const socket = new WebSocket(url);
        socket.onmessage = event => { resolve(JSON.parse(event.data)); socket.close(); };
        socket.onclose = event => reject(new Error(`closed ${event.code}`));
    });
}"""


def test_a_signed_in_page_opens_a_websocket_on_the_asgi_live_server(asgi_live_server, browser):  # noqa: F811
    student = StudentFactory()
    page, errors = signed_in_page(browser, asgi_live_server, student.user)
    page.goto(f"{asgi_live_server.url}/api/v1/auth/csrf/")
    hello = page.evaluate(WHOAMI)
    assert hello == {"type": "hello", "user_id": student.user.pk, "username": student.user.username}
    assert not errors


def test_a_websocket_without_a_ticket_is_closed_unauthenticated(asgi_live_server, browser):  # noqa: F811
    page = browser.new_page()
    page.goto(f"{asgi_live_server.url}/healthz")
    code = page.evaluate("""() => new Promise(resolve => {
        const socket = new WebSocket(`ws://${location.host}/ws/whoami/`);
        socket.onclose = event => resolve(event.code);
    })""")
    assert code == 4401

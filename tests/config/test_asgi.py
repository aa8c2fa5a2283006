"""Websocket authentication through config.asgi.application, the stack production runs:
request id -> origin check -> single-use ticket -> route (/ws/whoami/)."""

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from rest_framework.test import APIClient

from accounts.consumers import CLOSE_UNAUTHENTICATED
from config.asgi import application
from tests import factories

# The consumer side reads users on asgiref's worker thread, outside any test transaction, so
# tests that create users commit them (and pay a table flush afterwards).
committed_db = pytest.mark.django_db(transaction=True)
# The others create nothing, but a consumer touches the connection machinery on every event.
pytestmark = pytest.mark.django_db

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
async def _close_worker_thread_connections():
    """The ORM runs on asgiref's worker thread here; its PostgreSQL connection must not outlive
    the test, or the test database cannot be dropped at the end of the run."""
    yield
    await sync_to_async(connections.close_all)()


@sync_to_async
def _user(**fields):
    return factories.UserFactory(**fields)


@sync_to_async
def _ticket_for(user) -> str:
    """What a client does: POST /api/v1/auth/ws-ticket/ while signed in."""
    client = APIClient()
    client.force_authenticate(user=user)
    response = client.post("/api/v1/auth/ws-ticket/")
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


@sync_to_async
def _force_password_change(user) -> None:
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])


async def _open(path: str, headers=(ORIGIN,)):
    """(communicator, connected, close code). An application refusal is an accept followed at
    once by a close carrying the reason's code (a close before accept would reach a real
    client as a bare HTTP 403), so the first frame is inspected and put back if it is not a close."""
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, detail = await communicator.connect(timeout=5)
    if not connected:
        return communicator, connected, detail
    try:
        first = await communicator.receive_output(timeout=1)
    except TimeoutError:
        return communicator, True, None
    if first["type"] == "websocket.close":
        return communicator, False, first.get("code")
    queue = communicator.output_queue
    pending = [first]
    while not queue.empty():
        pending.append(queue.get_nowait())
    for message in pending:
        queue.put_nowait(message)
    return communicator, True, None


@committed_db
async def test_ticket_opens_the_socket_and_names_the_user():
    user = await _user()
    ticket = await _ticket_for(user)

    communicator, connected, _ = await _open(f"/ws/whoami/?ticket={ticket}")
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello == {"type": "hello", "user_id": user.pk, "username": user.username}
    await communicator.disconnect()


@committed_db
async def test_a_ticket_works_once():
    user = await _user()
    ticket = await _ticket_for(user)
    first, connected, _ = await _open(f"/ws/whoami/?ticket={ticket}")
    assert connected
    await first.disconnect()

    _, connected, code = await _open(f"/ws/whoami/?ticket={ticket}")
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


@pytest.mark.parametrize(
    "query",
    ["", "?ticket=", "?ticket=not-a-ticket", "?ticket=" + "x" * 500, "?other=1"],
    ids=["no-query", "empty", "garbage", "oversized", "no-ticket-param"],
)
async def test_without_a_valid_ticket_the_socket_is_refused(query):
    _, connected, code = await _open(f"/ws/whoami/{query}")
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


@committed_db
async def test_an_expired_ticket_is_refused(settings):
    settings.WEBSOCKET_TICKET_TTL_SECONDS = 1
    user = await _user()
    ticket = await _ticket_for(user)
    await asyncio.sleep(1.5)

    _, connected, code = await _open(f"/ws/whoami/?ticket={ticket}")
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


@committed_db
async def test_a_disallowed_origin_is_refused_before_the_ticket_is_spent():
    user = await _user()
    ticket = await _ticket_for(user)

    for headers in ([(b"origin", b"https://evil.example")], [(b"origin", b"null")], []):
        communicator, connected, _ = await _open(f"/ws/whoami/?ticket={ticket}", headers=headers)
        assert not connected, headers
        await communicator.disconnect()
    # The refused handshakes did not use the ticket up: the real page can still connect.
    communicator, connected, _ = await _open(f"/ws/whoami/?ticket={ticket}")
    assert connected
    await communicator.disconnect()


@committed_db
async def test_a_user_who_must_change_their_password_is_refused():
    user = await _user()
    ticket = await _ticket_for(user)
    await _force_password_change(user)  # e.g. a school admin reset it after the ticket was issued

    _, connected, code = await _open(f"/ws/whoami/?ticket={ticket}")
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


@committed_db
async def test_a_user_who_must_change_their_password_gets_no_ticket():
    user = await _user(must_change_password=True)
    client = APIClient()
    client.force_authenticate(user=user)
    response = await sync_to_async(client.post)("/api/v1/auth/ws-ticket/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_change_required"


@committed_db
async def test_an_inactive_user_is_refused():
    user = await _user()
    ticket = await _ticket_for(user)
    user.is_active = False
    await sync_to_async(user.save)(update_fields=["is_active"])

    _, connected, code = await _open(f"/ws/whoami/?ticket={ticket}")
    assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)


@committed_db
async def test_connection_logs_one_line_with_the_proxy_request_id(caplog):
    user = await _user()
    ticket = await _ticket_for(user)
    caplog.set_level(logging.INFO, logger="xuewen.request")

    communicator, connected, _ = await _open(
        f"/ws/whoami/?ticket={ticket}", headers=[ORIGIN, (b"x-request-id", b"edge-42")]
    )
    assert connected
    await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    await asyncio.sleep(0)

    lines = [r for r in caplog.records if r.name == "xuewen.request" and r.method == "WEBSOCKET"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.request_id, line.path, line.accepted) == ("edge-42", "/ws/whoami/", True)
    assert line.duration_ms >= 0
    assert ticket not in line.getMessage()


async def test_refused_connection_is_logged_with_a_generated_request_id(caplog):
    caplog.set_level(logging.INFO, logger="xuewen.request")
    communicator, connected, _ = await _open(
        "/ws/whoami/?ticket=nope", headers=[ORIGIN, (b"x-request-id", b"bad id\n")]
    )
    assert not connected
    await communicator.disconnect()  # the server's disconnect event ends the connection

    lines = [r for r in caplog.records if r.name == "xuewen.request" and r.method == "WEBSOCKET"]
    assert len(lines) == 1
    assert lines[0].accepted is True  # accepted, then closed with the reason's code
    assert lines[0].status == CLOSE_UNAUTHENTICATED
    assert len(lines[0].request_id) == 32 and lines[0].request_id != "bad id\n"


@committed_db
async def test_the_ticket_api_issues_tickets_the_gateway_opens_without_a_query(monkeypatch):
    """The ticket carries the user's claims, so the gateway puts a TicketUser in scope with no
    database query; what needs the full user loads it (here: none is made)."""
    from accounts.websocket import TicketUser, WebsocketGateway

    user = await _user(is_staff=True)
    ticket = await _ticket_for(user)
    seen = {}

    async def app(scope, receive, send):
        seen["user"] = scope["user"]
        seen["request_id"] = scope["request_id"]

    gateway = WebsocketGateway(app, ["testserver"])
    with monkeypatch.context() as patched:
        patched.setattr("accounts.websocket._active_user", lambda pk: pytest.fail("a query at the gateway"))
        await gateway({"type": "websocket", "path": "/ws/x/", "query_string": f"ticket={ticket}".encode(),
                       "headers": [ORIGIN]}, None, None)
    assert isinstance(seen["user"], TicketUser)
    assert (seen["user"].pk, seen["user"].username, seen["user"].is_staff) == (user.pk, user.username, True)
    assert seen["user"] == user and seen["request_id"]
    assert (await seen["user"].aload()) == user


@pytest.mark.parametrize("origin", [b"http://testserver:port", b"http://[::1", b"\xff\xfe", b"", b"http://"])
async def test_an_unparsable_origin_is_refused_not_an_error(origin):
    communicator, connected, _ = await _open("/ws/whoami/?ticket=x", headers=[(b"origin", origin)])
    assert not connected
    await communicator.disconnect()


@committed_db
async def test_a_ticket_without_claims_still_loads_the_user():
    """Tickets issued before claims existed (a deploy inside a ticket's 30 s) still work."""
    from accounts.tickets import ws_ticket_issue

    user = await _user()
    ticket, _ = await sync_to_async(ws_ticket_issue)(user_id=user.pk)
    communicator, connected, _ = await _open(f"/ws/whoami/?ticket={ticket}")
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["user_id"] == user.pk
    await communicator.disconnect()


async def test_an_unreachable_ticket_store_closes_with_1011_not_a_500(monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    async def unreachable(ticket):
        raise RedisConnectionError("No connection available.")

    monkeypatch.setattr("accounts.websocket.user_for_ticket", unreachable)
    communicator, connected, code = await _open("/ws/whoami/?ticket=x")
    assert (connected, code) == (False, 1011)
    await communicator.disconnect()


async def test_the_first_request_id_header_is_the_one_kept(caplog):
    caplog.set_level(logging.INFO, logger="xuewen.request")
    communicator, _, _ = await _open(
        "/ws/whoami/?ticket=nope",
        headers=[ORIGIN, (b"x-request-id", b"first"), (b"x-request-id", b"second")])
    await communicator.disconnect()
    lines = [r for r in caplog.records if r.name == "xuewen.request" and r.method == "WEBSOCKET"]
    assert [line.request_id for line in lines] == ["first"]

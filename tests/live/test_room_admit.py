"""The room's door under load (live.room.RoomHandler.on_connect): one query per admit, the
per-process lecture cache and what invalidates it, every refusal from the refused side, and the
ticket's user (``TicketUser``) replaced by the full user."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db.backends import utils
from django.utils import timezone

from live.hub import (
    CLOSE_BANNED,
    CLOSE_FORBIDDEN,
    CLOSE_NO_TICKET,
    CLOSE_NOT_FOUND,
    CLOSE_NOT_OPEN,
    Connection,
    Refuse,
)
from tests.live.room_support import (
    ORIGIN,
    TIMEOUT,
    Client,
    connect,
    joined,
    make_room,
    room_db,
    room_env,  # noqa: F401 - fixture
)

pytestmark = [room_db, pytest.mark.usefixtures("room_env")]


@pytest.fixture
def queries(monkeypatch):
    """Counts the SQL statements of every thread (the room reads on asgiref's worker thread)."""
    counter = {"n": 0}
    lock = threading.Lock()
    original = utils.CursorWrapper._execute_with_wrappers

    def counted(self, *args, **kwargs):
        with lock:
            counter["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(utils.CursorWrapper, "_execute_with_wrappers", counted)
    return counter


def _handler():
    from live.room import get_room_handler

    return get_room_handler()


async def _admit(user, lecture_id: int) -> Connection:
    """``on_connect`` straight, as the transport calls it."""
    conn = Connection(user=user, lecture_id=lecture_id)
    await _handler().on_connect(conn)
    return conn


async def _refusal(user, lecture_id: int) -> int:
    with pytest.raises(Refuse) as refused:
        await _admit(user, lecture_id)
    return refused.value.code


# --- queries per admit ---------------------------------------------------------------------------


async def test_a_viewer_is_admitted_with_one_query_once_the_room_is_warm(queries):
    room = await make_room(viewers=4)
    await _admit(room.viewers[0], room.lecture.pk)  # reads the lecture, refills the store
    for viewer in room.viewers[1:]:
        before = queries["n"]
        conn = await _admit(viewer, room.lecture.pk)
        assert conn.role == "viewer"
        assert queries["n"] - before == 1


async def test_a_cold_admit_takes_the_lecture_too_and_staff_take_no_more(queries):
    room = await make_room()
    before = queries["n"]
    await _admit(room.viewers[0], room.lecture.pk)
    cold = queries["n"] - before
    assert cold <= 2 + 4  # user, lecture; the one refill of the store reads 4
    for who, role in [("lecturer", "lecturer"), ("assistant", "assistant"), ("admin", "admin")]:
        before = queries["n"]
        conn = await _admit(getattr(room, who), room.lecture.pk)
        assert conn.role == role
        assert queries["n"] - before == 1, who


async def test_a_storm_is_admitted_in_batches_not_a_query_per_viewer(queries):
    room = await make_room(viewers=30)
    await _admit(room.viewers[0], room.lecture.pk)
    before = queries["n"]
    conns = await asyncio.gather(*[_admit(viewer, room.lecture.pk) for viewer in room.viewers])
    assert [conn.role for conn in conns] == ["viewer"] * 30
    assert [conn.user.pk for conn in conns] == [viewer.pk for viewer in room.viewers]
    # The first connect is read alone, the 29 that queued meanwhile together.
    assert queries["n"] - before <= 2


async def test_one_batch_refuses_and_admits_each_connect_on_its_own(queries):
    """Viewers, a banned one, an outsider, a gone user and two lectures in one batch."""
    from accounts.models import User
    from live.models import RoomBan

    room = await make_room(viewers=3)
    other = await make_room(viewers=1)
    await sync_to_async(RoomBan.objects.create)(
        lecture=room.lecture, user=room.viewers[1], banned_by=room.lecturer
    )
    await sync_to_async(User.objects.filter(pk=room.viewers[2].pk).update)(is_active=False)
    lid = room.lecture.pk
    cases = [
        (room.viewers[0], lid, None),
        (room.viewers[1], lid, CLOSE_BANNED),
        (room.viewers[2], lid, CLOSE_NO_TICKET),
        (room.outsider, lid, CLOSE_FORBIDDEN),
        (room.lecturer, lid, None),
        (room.viewers[0], 10**9, CLOSE_NOT_FOUND),
        (other.viewers[0], other.lecture.pk, None),
        (room.viewers[0], lid, None),  # the same user twice in one batch
    ]
    outcomes = await asyncio.gather(
        *[_admit(user, lecture_id) for user, lecture_id, _ in cases], return_exceptions=True
    )
    for (user, lecture_id, code), outcome in zip(cases, outcomes, strict=True):
        if code is None:
            assert isinstance(outcome, Connection) and outcome.user.pk == user.pk, outcome
        else:
            assert isinstance(outcome, Refuse) and outcome.code == code, (user, lecture_id, outcome)


async def test_a_failed_read_fails_only_that_batch(monkeypatch):
    from live import room as room_module

    room = await make_room()

    def broken(requests):
        raise RuntimeError("database down")

    with monkeypatch.context() as patch:
        patch.setattr(room_module, "_admissions", broken)
        with pytest.raises(RuntimeError):
            await _admit(room.viewers[0], room.lecture.pk)
    assert (await _admit(room.viewers[0], room.lecture.pk)).role == "viewer"
    assert _handler().rooms[room.lecture.pk].state == "live"


# --- refusals, from the refused side -------------------------------------------------------------


async def test_every_refusal_of_the_door():
    from courses.models import Course
    from live.models import RoomBan

    room = await make_room()
    await _admit(room.viewers[0], room.lecture.pk)  # the lecture is cached from here on
    assert await _refusal(room.outsider, room.lecture.pk) == CLOSE_FORBIDDEN
    assert await _refusal(room.viewers[0], room.lecture.pk + 1000) == CLOSE_NOT_FOUND
    await sync_to_async(RoomBan.objects.create)(
        lecture=room.lecture, user=room.viewers[1], banned_by=room.lecturer
    )
    assert await _refusal(room.viewers[1], room.lecture.pk) == CLOSE_BANNED
    # A draft course's lecture: only once the cache is dropped (see the staleness test below).
    await sync_to_async(Course.objects.filter(pk=room.course.pk).update)(status=Course.Status.DRAFT)
    _handler().forget_lectures([room.lecture.pk])
    assert await _refusal(room.viewers[0], room.lecture.pk) == CLOSE_FORBIDDEN
    assert (await _admit(room.lecturer, room.lecture.pk)).role == "lecturer"


async def test_a_deactivated_user_or_one_who_must_change_the_password_is_refused_4401():
    from accounts.models import User

    room = await make_room(viewers=3)
    await _admit(room.viewers[0], room.lecture.pk)
    await sync_to_async(User.objects.filter(pk=room.viewers[1].pk).update)(is_active=False)
    await sync_to_async(User.objects.filter(pk=room.viewers[2].pk).update)(must_change_password=True)
    assert await _refusal(room.viewers[1], room.lecture.pk) == CLOSE_NO_TICKET
    assert await _refusal(room.viewers[2], room.lecture.pk) == CLOSE_NO_TICKET


async def test_a_ticket_whose_user_was_deactivated_after_it_was_issued_is_closed_4401():
    """Through the real stack with a ticket carrying claims: the gateway builds a TicketUser
    without a query, so only the room's own load can notice."""
    from channels.testing import WebsocketCommunicator

    from accounts.models import User
    from accounts.tickets import ticket_claims, ws_ticket_issue
    from config.asgi import application

    room = await make_room()
    viewer = room.viewers[0]
    ticket, _ = ws_ticket_issue(user_id=viewer.pk, claims=ticket_claims(viewer))
    await sync_to_async(User.objects.filter(pk=viewer.pk).update)(is_active=False)
    communicator = WebsocketCommunicator(
        application, f"/ws/live/{room.lecture.pk}/?ticket={ticket}", headers=[ORIGIN]
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    assert await Client(communicator).closed() == CLOSE_NO_TICKET


async def test_a_ban_takes_effect_at_the_next_connect_although_the_lecture_is_cached():
    room = await make_room()
    client = await joined(room.viewers[0], room.lecture.pk)
    moderator = await joined(room.assistant, room.lecture.pk)
    assert (await moderator.request("user.ban", user_id=room.viewers[0].pk))["type"] == "ack"
    assert await client.closed() == CLOSE_BANNED
    again = await connect(room.viewers[0], room.lecture.pk)
    assert again.close_code == CLOSE_BANNED
    await moderator.leave()


async def test_a_staff_role_given_during_the_lecture_counts_at_the_next_connect():
    from accounts.models import TeacherProfile
    from courses.models import LectureStaff

    room = await make_room()
    viewer = room.viewers[1]
    assert (await _admit(viewer, room.lecture.pk)).role == "viewer"
    profile = await sync_to_async(TeacherProfile.objects.create)(
        user=viewer,
        school=room.world.school_a,
        staff_number="T-NEW",
        real_name="新助教",
        tier=room.world.teacher_a.tier,
    )
    await sync_to_async(LectureStaff.objects.create)(lecture=room.lecture, teacher=profile, role="assistant")
    assert (await _admit(viewer, room.lecture.pk)).role == "assistant"
    # An administrator over the owner's school: "admin", from the cached course.
    assert (await _admit(room.world.school_admin_a.user, room.lecture.pk)).role == "admin"


# --- the lecture cache: its staleness, exactly ---------------------------------------------------


async def test_a_lecture_ended_in_this_process_closes_the_door_at_once():
    from courses.models import Lecture
    from live.room import announce_lecture_ended

    room = await make_room()
    await _admit(room.viewers[0], room.lecture.pk)
    await sync_to_async(Lecture.objects.filter(pk=room.lecture.pk).update)(
        state=Lecture.State.ENDED, ended_at=timezone.now()
    )
    await announce_lecture_ended(room.lecture.pk)
    assert await _refusal(room.viewers[1], room.lecture.pk) == CLOSE_NOT_OPEN


async def test_the_end_told_to_a_process_wins_over_an_admit_already_under_way():
    """An admit that read the lecture before the end committed, and finishes after this process
    was told of the end, is refused (the process remembers finished lectures)."""
    room = await make_room()
    await _admit(room.viewers[0], room.lecture.pk)
    handler = _handler()
    handler.mark_finished(room.lecture.pk)  # what lecture_ended records, with the cache still warm
    assert await _refusal(room.viewers[1], room.lecture.pk) == CLOSE_NOT_OPEN


async def test_another_process_ending_the_lecture_is_seen_within_the_cache_interval(settings):
    from courses.models import Lecture

    settings.LIVE_ADMIT_CACHE_SECONDS = 0.3
    room = await make_room()
    await _admit(room.viewers[0], room.lecture.pk)
    # Ended through another process: this one is not told, its cache is warm.
    await sync_to_async(Lecture.objects.filter(pk=room.lecture.pk).update)(state=Lecture.State.ENDED)
    assert (await _admit(room.viewers[1], room.lecture.pk)).role == "viewer"  # within 0.3 s
    await asyncio.sleep(0.35)
    assert await _refusal(room.viewers[1], room.lecture.pk) == CLOSE_NOT_OPEN


async def test_the_periodic_refresh_drops_the_cached_lecture():
    from courses.models import Course

    room = await make_room()
    await _admit(room.viewers[0], room.lecture.pk)
    await sync_to_async(Course.objects.filter(pk=room.course.pk).update)(
        visibility=Course.Visibility.SCHOOL, school=room.world.school_b
    )
    await _handler().flush_slow()
    assert await _refusal(room.viewers[1], room.lecture.pk) == CLOSE_FORBIDDEN


async def test_a_cached_admit_does_not_undo_a_newer_refresh(settings):
    """A scheduled room that the flusher saw go live stays live for the next connects."""
    from courses.models import Lecture

    room = await make_room(state="scheduled")
    await _admit(room.viewers[0], room.lecture.pk)
    handler = _handler()
    went_live = timezone.now()
    await sync_to_async(Lecture.objects.filter(pk=room.lecture.pk).update)(
        state=Lecture.State.LIVE, went_live_at=went_live
    )
    from live.room import _refresh

    handler.rooms.update(await _refresh([room.lecture.pk]))
    await _admit(room.viewers[1], room.lecture.pk)
    assert handler.rooms[room.lecture.pk].state == "live"


# --- the ticket's user ---------------------------------------------------------------------------


async def test_a_ticket_user_becomes_the_full_user_and_the_snapshot_shows_the_display_name():
    from accounts.websocket import TicketUser

    room = await make_room()
    viewer = room.viewers[0]
    conn = await _admit(TicketUser(viewer.pk, username=viewer.username), room.lecture.pk)
    assert conn.user.pk == viewer.pk and conn.user.display_name == viewer.display_name
    snapshot = await _handler().snapshot(conn)
    assert snapshot["you"]["name"] == viewer.display_name and snapshot["you"]["role"] == "viewer"


async def test_a_ticket_user_is_refused_like_the_user():
    from accounts.websocket import TicketUser

    room = await make_room()
    assert await _refusal(TicketUser(room.outsider.pk), room.lecture.pk) == CLOSE_FORBIDDEN
    assert await _refusal(TicketUser(10**9), room.lecture.pk) == CLOSE_NO_TICKET


async def test_through_the_real_stack_with_a_ticket_carrying_claims():
    from channels.testing import WebsocketCommunicator

    from accounts.tickets import ticket_claims, ws_ticket_issue
    from config.asgi import application

    room = await make_room()
    viewer = room.viewers[0]
    ticket, _ = ws_ticket_issue(user_id=viewer.pk, claims=ticket_claims(viewer))
    communicator = WebsocketCommunicator(
        application, f"/ws/live/{room.lecture.pk}/?ticket={ticket}", headers=[ORIGIN]
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    client = Client(communicator)
    snapshot = await client.frame()
    assert snapshot["type"] == "snapshot" and snapshot["you"]["name"] == viewer.display_name
    sent = await client.request("chat.send", text="你好")
    assert sent["type"] == "ack"
    message = await client.wait_type("chat.message")
    assert message["user"] == {"id": viewer.pk, "name": viewer.display_name}
    await client.leave()


# --- the shared store is refilled once, not per connect ------------------------------------------


async def test_concurrent_first_connects_all_see_the_saved_chat():
    from live.models import ChatMessage

    room = await make_room(viewers=5)
    await sync_to_async(ChatMessage.objects.create)(
        lecture=room.lecture,
        number=1,
        author=room.viewers[0],
        text="存档",
        offset_ms=0,
        sent_at=timezone.now(),
    )
    conns = await asyncio.gather(*[_admit(viewer, room.lecture.pk) for viewer in room.viewers])
    for conn in conns:
        snapshot = await _handler().snapshot(conn)
        assert [m["text"] for m in snapshot["chat"]] == ["存档"]


# --- the snapshot's shared parts: read once per round, never older than the ask -------------------


async def test_concurrent_snapshots_share_one_read_of_the_room():
    room = await make_room(viewers=20)
    handler = _handler()
    conns = [await _admit(viewer, room.lecture.pk) for viewer in room.viewers]
    reads = 0
    original = handler._read_shared

    async def counted(lecture_id):
        nonlocal reads
        reads += 1
        return await original(lecture_id)

    handler._read_shared = counted
    handler._shared.clear()
    snapshots = await asyncio.gather(*[handler.snapshot(conn) for conn in conns])
    assert reads <= 2
    assert {s["you"]["user_id"] for s in snapshots} == {v.pk for v in room.viewers}


async def test_a_snapshot_asked_after_a_change_never_gets_a_read_started_before_it():
    from live import chat

    room = await make_room(viewers=2)
    handler = _handler()
    first, second = [await _admit(viewer, room.lecture.pk) for viewer in room.viewers]
    gate = asyncio.Event()
    original = handler._read_shared

    async def slow(lecture_id):
        value = await original(lecture_id)  # read before the change below
        await gate.wait()
        return value

    handler._read_shared = slow
    handler._shared.clear()
    early = asyncio.ensure_future(handler.snapshot(first))
    await asyncio.sleep(0.01)  # the first read is under way
    message = {"type": "chat.message", "id": 1, "user": {"id": 1, "name": "x"}, "text": "新消息", "offset": 0}
    await handler.store().list_push(chat.recent_key(room.lecture.pk), message, chat.RECENT)
    late = asyncio.ensure_future(handler.snapshot(second))
    await asyncio.sleep(0.01)
    gate.set()
    assert (await early)["chat"] == []
    assert [m["text"] for m in (await late)["chat"]] == ["新消息"]


# --- a student's role decided without a query matches the database's rule -------------------------


@sync_to_async
def _parity_cases():
    from courses.models import Course
    from courses.selectors import _student_sees, can_see_course
    from tests import factories

    w = factories.build_world()
    same_school = factories.StudentFactory(school=w.school_a).user
    same_city = factories.StudentFactory(school=w.school_b).user
    other_city = factories.StudentFactory(school=w.other_school).user
    checked = 0
    for visibility, school in [("city", None), ("school", w.school_a), ("school", w.school_b)]:
        for status in ["draft", "published", "archived"]:
            course = Course.objects.create(
                title="课",
                owner=w.teacher_a,
                city=w.city,
                visibility=visibility,
                school=school,
                status=status,
                created_by=w.teacher_a.user,
            )
            for user in [same_school, same_city, other_city]:
                assert _student_sees(user, course) == can_see_course(user, course), (
                    visibility,
                    school,
                    status,
                )
                checked += 1
    # Teachers and administrators are left to the database.
    assert (
        _student_sees(w.teacher_b.user, course) is None and _student_sees(w.city_admin.user, course) is None
    )
    return checked


async def test_a_students_role_without_a_query_matches_can_see_course():
    assert await _parity_cases() == 27


# --- review fixes: failures stay local, a lasting end mark, a slim user --------------------------


async def test_a_lecture_whose_read_fails_fails_only_its_own_connects(monkeypatch):
    from live import room as room_module

    room = await make_room(viewers=2)
    real = room_module.lecture_for_room

    def failing(lecture_id):
        if lecture_id == 424242:
            raise OverflowError("the database refused the number")
        return real(lecture_id)

    monkeypatch.setattr(room_module, "lecture_for_room", failing)
    answers = await sync_to_async(room_module._admissions)({
        424242: ([room.viewers[0].pk], None),
        room.lecture.pk: ([room.viewers[1].pk], None),
    })
    assert isinstance(answers[424242], OverflowError)
    lecture, fresh, admitted = answers[room.lecture.pk]
    assert lecture.pk == room.lecture.pk and admitted[room.viewers[1].pk][1] == "viewer"


async def test_an_end_marked_by_another_process_is_seen_by_a_warm_door_at_once():
    """A process holding no connection of the room hears no room event; the door reads the
    shared store's end mark, so its warm lecture cache admits nobody into the ended lecture."""
    from live.room import ended_key
    from live.state import get_store

    room = await make_room(viewers=2)
    first = await _admit(room.viewers[0], room.lecture.pk)
    first_room = _handler().rooms[room.lecture.pk]
    await get_store().set(ended_key(room.lecture.pk), 1, ttl=60)  # what announce_lecture_ended writes
    assert await _refusal(room.viewers[1], room.lecture.pk) == CLOSE_NOT_OPEN
    assert first_room.state == "ended" and first.role == "viewer"


async def test_an_admitted_connection_keeps_only_what_the_room_shows_of_its_user():
    from live.protocol import user_brief
    from live.room import RoomUser

    room = await make_room(viewers=1)
    viewer = room.viewers[0]
    conn = await _admit(viewer, room.lecture.pk)
    assert isinstance(conn.user, RoomUser)
    assert user_brief(conn.user) == {"id": viewer.pk, "name": viewer.display_name or viewer.username}


async def test_a_lecture_id_beyond_the_databases_range_is_refused_not_an_error():
    room = await make_room(viewers=1)
    client = await connect(room.viewers[0], 10**30)
    assert client.close_code == CLOSE_NOT_FOUND


async def test_a_failure_at_the_door_closes_with_1011_not_a_dropped_connection(monkeypatch):
    from live.hub import CLOSE_INTERNAL

    room = await make_room(viewers=1)

    async def broken(self, conn):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(type(_handler()), "on_connect", broken)
    client = await connect(room.viewers[0], room.lecture.pk)
    assert client.close_code == CLOSE_INTERNAL

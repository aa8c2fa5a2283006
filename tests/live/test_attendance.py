"""Attendance (live.attendance, live.services.attendance_add) and the lecture's end
(live.services.live_lecture_close): batched writes, never one per message or connection."""

import asyncio
import datetime
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db.backends import utils as db_utils
from django.utils import timezone

from courses.models import Lecture
from live.attendance import AttendanceTracker
from live.models import Attendance
from live.room import get_room_handler
from live.services import AttendanceRow, attendance_add, live_lecture_close
from service_records.models import ServiceEvent
from tests import factories
from tests.live.room_support import (
    _course_and_lecture,
    joined,
    make_room,
    room_db,
    room_env,  # noqa: F401 - fixture
)

T0 = 1_800_000_000.0


# --- the tracker (pure) ----------------------------------------------------------------------

def test_intervals_are_summed_and_two_tabs_count_once():
    tracker = AttendanceTracker()
    tracker.join(1, 7, T0)
    tracker.join(1, 7, T0 + 10)  # a second tab
    tracker.leave(1, 7, T0 + 100)
    tracker.leave(1, 7, T0 + 160)  # the user left at +160: 160 s watched, not 250
    tracker.join(1, 8, T0 + 50)
    rows = {(r.lecture_id, r.user_id): r for r in tracker.drain(T0 + 200)}
    assert rows[(1, 7)].seconds == 160 and rows[(1, 7)].joins == 2
    assert rows[(1, 8)].seconds == 150 and rows[(1, 8)].joins == 1
    # the open interval continues from the drain
    tracker.leave(1, 8, T0 + 260)
    (row,) = tracker.drain(T0 + 300)
    assert (row.user_id, row.seconds, row.joins) == (8, 60, 0)
    assert tracker.drain(T0 + 400) == []


def test_a_leave_without_a_join_is_ignored():
    tracker = AttendanceTracker()
    tracker.leave(1, 7, T0)
    assert tracker.drain(T0 + 5) == []


# --- the upsert ------------------------------------------------------------------------------

def _row(lecture, user, seconds, joins=1, at=T0):
    first = datetime.datetime.fromtimestamp(at, tz=datetime.UTC)
    return AttendanceRow(lecture_id=lecture.pk, user_id=user.pk, seconds=seconds, joins=joins,
                         first_joined_at=first, last_seen_at=first + datetime.timedelta(seconds=seconds))


@pytest.fixture
def lecture(world):
    return _course_and_lecture(world, state="live")[1]


def test_one_statement_for_a_batch_and_seconds_add_up(lecture, django_assert_max_num_queries):
    users = [factories.StudentFactory(school=lecture.course.owner.school).user for _ in range(30)]
    with django_assert_max_num_queries(3) as captured:  # with a savepoint around it
        attendance_add(rows=[_row(lecture, u, 60) for u in users])
    assert sum("INSERT" in q["sql"] for q in captured.captured_queries) == 1
    attendance_add(rows=[_row(lecture, users[0], 90, joins=2, at=T0 - 500)])
    first = Attendance.objects.get(lecture=lecture, user=users[0])
    assert (first.seconds_watched, first.joins, first.minutes_watched) == (150, 3, 2)
    assert first.first_joined_at.timestamp() == T0 - 500
    assert first.last_seen_at.timestamp() == T0 + 60
    assert Attendance.objects.filter(lecture=lecture).count() == 30


# --- through the room: no write per connection or message ------------------------------------

@pytest.fixture
def writes(monkeypatch):
    """Every INSERT / UPDATE / DELETE any thread sends to the database."""
    seen: list[str] = []
    lock = threading.Lock()
    original = db_utils.CursorWrapper._execute

    def execute(self, sql, params, *ignored):
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            with lock:
                seen.append(sql)
        return original(self, sql, params, *ignored)

    monkeypatch.setattr(db_utils.CursorWrapper, "_execute", execute)
    return seen


@room_db
@pytest.mark.usefixtures("room_env")
async def test_watching_chatting_and_reconnecting_write_nothing_until_the_flush(writes, monkeypatch):
    clock = [T0]
    monkeypatch.setattr("live.room.now", lambda: clock[0])
    room = await make_room(viewers=3)
    del writes[:]
    clients = [await joined(v, room.lecture.pk) for v in room.viewers]
    lecturer = await joined(room.lecturer, room.lecture.pk)
    for client in clients:
        await client.request("chat.send", text="到")
        await client.request("react", reaction="like")
    clock[0] = T0 + 300
    await clients[0].leave()
    again = await joined(room.viewers[0], room.lecture.pk)
    clock[0] = T0 + 600
    assert writes == []  # no database write for connects, chat, reactions, leaves

    await get_room_handler().flush()
    inserts = [sql for sql in writes if "live_attendance" in sql]
    assert len(inserts) == 1
    assert sum("live_chatmessage" in sql and sql.lstrip().startswith("INSERT") for sql in writes) == 1
    rows = await sync_to_async(dict)(Attendance.objects.values_list("user_id", "seconds_watched"))
    assert rows == {room.viewers[0].pk: 600, room.viewers[1].pk: 600, room.viewers[2].pk: 600,
                    room.lecturer.pk: 600}
    joins = await sync_to_async(Attendance.objects.get)(user=room.viewers[0])
    assert joins.joins == 2
    peak = await sync_to_async(lambda: Lecture.objects.get(pk=room.lecture.pk).peak_viewers)()
    assert peak >= 1
    for client in [*clients[1:], lecturer, again]:
        await client.leave()


# --- the lecture's end: staff live minutes ---------------------------------------------------

@pytest.mark.django_db
def test_the_end_records_live_minutes_once(world, django_capture_on_commit_callbacks):
    from courses.services import lecture_end

    _, lecture = _course_and_lecture(world, state="live")
    lecture.went_live_at = timezone.now() - datetime.timedelta(minutes=45)
    lecture.save(update_fields=["went_live_at"])
    attendance_add(rows=[_row(lecture, world.teacher_b.user, 20 * 60 + 30)])
    with django_capture_on_commit_callbacks(execute=True):
        lecture_end(actor=world.teacher_a.user, lecture=lecture)
    recorded = ServiceEvent.objects.filter(kind__code="live_minutes")
    quantities = dict(recorded.values_list("teacher_id", "quantity"))
    assert quantities == {world.teacher_a.pk: 45, world.teacher_b.pk: 20}
    keys = set(recorded.values_list("idempotency_key", flat=True))
    assert keys == {f"lecture:{lecture.pk}:live_minutes:{world.teacher_a.pk}",
                    f"lecture:{lecture.pk}:live_minutes:{world.teacher_b.pk}"}
    live_lecture_close(lecture=lecture)  # again: nothing new
    assert ServiceEvent.objects.filter(kind__code="live_minutes").count() == 2


@pytest.mark.django_db
def test_an_assistant_who_never_came_gets_nothing(world, django_capture_on_commit_callbacks):
    _, lecture = _course_and_lecture(world, state="ended")
    Lecture.objects.filter(pk=lecture.pk).update(
        went_live_at=timezone.now() - datetime.timedelta(minutes=10), ended_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        live_lecture_close(lecture=lecture)
    recorded = ServiceEvent.objects.filter(kind__code="live_minutes")
    assert list(recorded.values_list("teacher_id", flat=True)) == [world.teacher_a.pk]


@room_db
@pytest.mark.usefixtures("room_env")
async def test_the_room_hears_that_the_lecture_ended():
    from live.room import announce_lecture_ended

    room = await make_room()
    viewer = await joined(room.viewers[0], room.lecture.pk)
    await announce_lecture_ended(room.lecture.pk)
    await viewer.wait_type("lecture.ended", lecture_id=room.lecture.pk)
    assert (await viewer.request("chat.send", text="还在吗"))["code"] == "lecture_closed"
    await viewer.leave()



@room_db
@pytest.mark.usefixtures("room_env")
async def test_a_lecture_ended_by_another_process_stops_this_ones_room_at_once(settings):
    """The end is announced through Redis (gunicorn ends lectures; live nodes hold the rooms):
    every process holding the room refuses messages at once, not at its 30 s refresh."""
    if not settings.REDIS_URL:
        pytest.skip("several processes need Redis")
    from live.hub import RedisHub, room_key
    from live.redis import get_redis

    room = await make_room()
    viewer = await joined(room.viewers[0], room.lecture.pk)
    assert (await viewer.request("chat.send", text="开始了"))["type"] == "ack"
    await sync_to_async(Lecture.objects.filter(pk=room.lecture.pk).update)(
        state=Lecture.State.ENDED, ended_at=timezone.now())
    elsewhere = RedisHub(get_redis())  # the process that ended it
    try:
        key = room_key(room.lecture.pk)
        await elsewhere.publish(key, {"type": "lecture.ended", "lecture_id": room.lecture.pk})
        await elsewhere.announce(key, {"event": "lecture.ended", "lecture_id": room.lecture.pk})
        await viewer.wait_type("lecture.ended", lecture_id=room.lecture.pk)
        for _ in range(50):
            if room.lecture.pk in get_room_handler()._finished:
                break
            await asyncio.sleep(0.02)
        assert (await viewer.request("chat.send", text="还在吗"))["code"] == "lecture_closed"
    finally:
        await elsewhere.aclose()
        await viewer.leave()

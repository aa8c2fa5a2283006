"""Resume across a restarted sequence (live/hub.py's epoch): a room's seq numbers start over when
the in-memory hub's process restarts or when Redis loses the room's keys; the epoch made with
the sequence tells a resume of the old sequence from one of the current sequence."""

from urllib.parse import quote

import pytest

from live.asgi_app import _epoch
from live.hub import CLOSE_RESYNC, MemoryHub, get_hub, room_key
from live.redis import live_key
from tests.live.conftest import HubClient, fake_user

ROOM = room_key(1)


@pytest.fixture(autouse=True)
def _fast_hub(settings):
    settings.LIVE_PRESENCE_SECONDS = 0.05
    settings.LIVE_COALESCE_MIN_SECONDS = 0.02


def _resuming(hub, user, last_seq: int | None, epoch: str | None) -> HubClient:
    client = HubClient(hub, user, last_seq=last_seq)
    client.conn.epoch = epoch
    return client


async def _data_frame(client: HubClient) -> dict:
    """The next frame that is not presence."""
    while True:
        frame = await client.frame()
        if frame["type"] != "presence":
            return frame


async def _lose_the_room(hub, make_hub):
    """The restart: a new memory hub (a new process), or Redis losing the room's keys (a
    flush, a failover to an empty replica, expiry). Returns the hub to use from now on."""
    if make_hub.backend == "memory":
        return make_hub()
    await hub.redis.delete(live_key("sequence", ROOM), live_key("buffer", ROOM))
    return hub


async def test_a_resume_after_the_sequence_restarted_gets_a_snapshot_of_the_new_one(make_hub):
    hub = make_hub()
    first = await HubClient(hub, fake_user(1)).start()
    before = await _data_frame(first)
    for n in range(5):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    assert [(await _data_frame(first))["seq"] for _ in range(5)] == [1, 2, 3, 4, 5]
    await first.stop()

    hub = await _lose_the_room(hub, make_hub)
    for n in range(5):  # the new sequence reaches the same numbers with other frames
        await hub.publish(ROOM, {"type": "chat.message", "n": 100 + n})
    back = await _resuming(hub, fake_user(1), 3, before["epoch"]).start()
    snapshot = await _data_frame(back)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 5
    assert snapshot["epoch"] != before["epoch"]
    # With the new epoch, a resume again.
    await back.stop()
    again = await _resuming(hub, fake_user(1), 3, snapshot["epoch"]).start()
    assert [(await _data_frame(again))["n"] for _ in range(2)] == [103, 104]


async def test_the_same_epoch_resumes_and_last_seq_ahead_of_the_sequence_gets_a_snapshot(make_hub):
    hub = make_hub()
    epoch = (await hub._sequence(ROOM))[1]
    for n in range(4):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    assert (await hub._sequence(ROOM)) == (4, epoch)  # publishing keeps the epoch
    resumed = await _resuming(hub, fake_user(1), 2, epoch).start()
    assert [(await _data_frame(resumed))["seq"] for _ in range(2)] == [3, 4]
    ahead = await _resuming(hub, fake_user(2), 5, epoch).start()
    assert (await _data_frame(ahead)) == {
        "type": "snapshot",
        "lecture": 1,
        "role": "viewer",
        "seq": 4,
        "epoch": epoch,
    }
    without = await _resuming(hub, fake_user(3), 2, None).start()  # last_seq without an epoch
    assert (await _data_frame(without))["type"] == "snapshot"
    other = await _resuming(hub, fake_user(4), 2, "not-this-one").start()
    assert (await _data_frame(other))["type"] == "snapshot"


async def test_two_memory_hubs_have_their_own_epochs():
    one, two = MemoryHub(), MemoryHub()
    try:
        assert (await one._sequence(ROOM))[1] != (await two._sequence(ROOM))[1]
        assert (await one._sequence(ROOM))[1] != (await one._sequence(room_key(2)))[1]
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_a_stale_buffer_never_resumes_into_a_new_sequence(make_hub):
    """Only the sequence key lost (the buffer survived): the new sequence drops the old buffer,
    so a resume of the new epoch gets only new frames."""
    hub = make_hub()
    if make_hub.backend != "redis":
        pytest.skip("the Redis keys")
    for n in range(5):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    await hub.redis.delete(live_key("sequence", ROOM))
    seq = await hub.publish(ROOM, {"type": "chat.message", "n": 100})
    assert seq == 1
    epoch = (await hub._sequence(ROOM))[1]
    assert [text for _, text, _ in await hub._since(ROOM, 0, epoch)] == [
        '{"seq":1,"type":"chat.message","n":100}'
    ]


async def test_redis_live_connections_of_a_lost_sequence_are_closed_to_resync(make_hub):
    """Two processes; the room's keys are lost while viewers are connected: their next frames
    would carry seq numbers they take as seen, so they are closed with 4012 (reconnect: a
    snapshot); a viewer who joined the new sequence keeps receiving."""
    if make_hub.backend != "redis":
        pytest.skip("two processes share Redis")
    one, two = make_hub(), make_hub()
    old = [await HubClient(one, fake_user(1)).start(), await HubClient(two, fake_user(2)).start()]
    for client in old:
        await _data_frame(client)
    for n in range(3):
        await one.publish(ROOM, {"type": "chat.message", "n": n})
    for client in old:
        assert [(await _data_frame(client))["seq"] for _ in range(3)] == [1, 2, 3]

    await one.redis.delete(live_key("sequence", ROOM), live_key("buffer", ROOM))
    fresh = await HubClient(two, fake_user(3)).start()
    snapshot = await _data_frame(fresh)
    assert snapshot["seq"] == 0
    for n in range(2):
        await one.publish(ROOM, {"type": "chat.message", "n": 10 + n})
    for client in old:
        assert await client.closed_with() == CLOSE_RESYNC
    assert [(await _data_frame(fresh))["n"] for _ in range(2)] == [10, 11]


def test_the_epoch_query_value_is_validated():
    def scope(query):
        return {"query_string": query.encode()}

    assert _epoch(scope("last_seq=3&epoch=Ab-_09xyz&ticket=t")) == "Ab-_09xyz"
    for bad in (
        "",
        "epoch=",
        "epoch=" + "a" * 65,
        "epoch=a%24b",
        "epoch=a+b",
        "epoch=%00",
        "epoch=..%2F..",
        "epoch=%E7%BA%AA%E5%85%83",
        "epoch=a%0A",
        "epoch_=abc",
    ):
        assert _epoch(scope(bad)) is None, bad


@pytest.mark.parametrize(
    "value",
    ["", "a" * 65, "a" * 10_000, "abc$", "a b", "\x00", "../..", "纪元", "a\n", "{}", "RIGHT-EPOCH+junk"],
)
async def test_hostile_epochs_through_the_endpoint_get_a_snapshot(live_socket, value):
    hub = get_hub()
    epoch = (await hub._sequence(ROOM))[1]
    for n in range(3):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    value = value.replace("RIGHT-EPOCH", epoch)
    # LiveSocket puts last_seq in the query as given: the epoch rides along after it.
    socket = await live_socket(fake_user(1), last_seq=f"1&epoch={quote(value)}")
    frame = await socket.frame()
    assert frame["type"] == "snapshot" and frame["seq"] == 3 and frame["epoch"] == epoch
    await socket.disconnect()


@pytest.mark.parametrize("last_seq", ["-1", "1e3", "9" * 40, "%EF%BC%91", "1%00"])
async def test_a_hostile_last_seq_with_the_right_epoch_gets_a_snapshot(live_socket, last_seq):
    hub = get_hub()
    epoch = (await hub._sequence(ROOM))[1]
    await hub.publish(ROOM, {"type": "chat.message", "n": 0})
    socket = await live_socket(fake_user(1), last_seq=f"{last_seq}&epoch={epoch}")
    assert (await socket.frame())["type"] == "snapshot"
    await socket.disconnect()


async def test_the_right_epoch_through_the_endpoint_resumes(live_socket):
    hub = get_hub()
    epoch = (await hub._sequence(ROOM))[1]
    for n in range(3):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    socket = await live_socket(fake_user(1), last_seq=f"1&epoch={epoch}")
    assert [(await socket.frame())["seq"] for _ in range(2)] == [2, 3]
    await socket.disconnect()

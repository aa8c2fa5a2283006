"""live/hub.py on both backends: seq order, resume buffer vs snapshot, coalescing, reactions,
presence, kicks, and delivery across two hubs (two processes) over Redis."""

import asyncio

import pytest

from live.hub import CLOSE_BANNED, MemoryHub, batch_text, room_key
from tests.live.conftest import HubClient, fake_user

ROOM = room_key(1)


@pytest.fixture(autouse=True)
def _fast_hub(settings):
    settings.LIVE_PRESENCE_SECONDS = 0.05
    settings.LIVE_COALESCE_MIN_SECONDS = 0.02


async def _drain_snapshot(client: HubClient) -> dict:
    frame = await client.frame()
    assert frame["type"] == "snapshot"
    return frame


def _resuming(hub, user, last_seq: int, epoch: str | None) -> HubClient:
    """A client coming back with ``?last_seq=N&epoch=E`` (start() it)."""
    client = HubClient(hub, user, last_seq=last_seq)
    client.conn.epoch = epoch
    return client


async def _frames_of_type(client: HubClient, kind: str, count: int) -> list[dict]:
    found = []
    while len(found) < count:
        frame = await client.frame()
        if frame["type"] == kind:
            found.append(frame)
    return found


async def test_publish_assigns_room_seq_and_reaches_every_local_connection(make_hub):
    hub = make_hub()
    viewers = [await HubClient(hub, fake_user(i)).start() for i in (1, 2)]
    for viewer in viewers:
        assert (await _drain_snapshot(viewer))["seq"] == 0
    frame = {"type": "chat.message", "text": "你好"}
    assert await hub.publish(ROOM, frame) == 1
    assert frame["seq"] == 1
    assert await hub.publish(ROOM, {"type": "chat.message", "text": "again"}) == 2
    for viewer in viewers:
        assert await viewer.frame() == {"seq": 1, "type": "chat.message", "text": "你好"}
        assert (await viewer.frame())["seq"] == 2
    # Another room has its own sequence and sees nothing of this one.
    assert await hub.publish(room_key(2), {"type": "chat.message"}) == 1
    assert hub.local_viewers(ROOM) == 2 and hub.local_viewers(room_key(2)) == 0


async def test_staff_frames_reach_staff_only(make_hub):
    hub = make_hub()
    viewer = await HubClient(hub, fake_user(1)).start()
    lecturer = await HubClient(hub, fake_user(2, is_staff=True)).start()
    await _drain_snapshot(viewer)
    await _drain_snapshot(lecturer)
    await hub.publish(ROOM, {"type": "question.flagged"}, audience="staff")
    await hub.publish(ROOM, {"type": "chat.message"})
    assert [(await lecturer.frame())["type"], (await lecturer.frame())["type"]] == [
        "question.flagged",
        "chat.message",
    ]
    # The viewer skips seq 1 (not theirs) and gets seq 2.
    assert await viewer.frame() == {"seq": 2, "type": "chat.message"}
    with pytest.raises(ValueError):
        await hub.publish(ROOM, {"type": "x"}, audience="everyone")


async def test_resume_sends_missed_frames_from_the_buffer_then_live_ones(make_hub):
    hub = make_hub()
    first = await HubClient(hub, fake_user(1)).start()
    epoch = (await _drain_snapshot(first))["epoch"]
    for n in range(5):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    assert (await first.frame())["seq"] == 1
    assert (await first.frame())["seq"] == 2
    await first.stop()

    again = await _resuming(hub, fake_user(1), 2, epoch).start()
    resumed = [await again.frame() for _ in range(3)]
    assert [frame["seq"] for frame in resumed] == [3, 4, 5]  # no snapshot, no gap, no repeat
    assert [frame["n"] for frame in resumed] == [2, 3, 4]
    await hub.publish(ROOM, {"type": "chat.message", "n": 5})
    assert (await again.frame())["seq"] == 6

    # Up to date: nothing to resend.
    current = await _resuming(hub, fake_user(3), 6, epoch).start()
    await hub.publish(ROOM, {"type": "chat.message", "n": 6})
    assert (await current.frame())["seq"] == 7


async def test_resume_falls_back_to_a_snapshot_when_the_buffer_no_longer_has_the_frames(settings, make_hub):
    settings.LIVE_RESUME_BUFFER = 3
    hub = make_hub()
    for n in range(6):
        await hub.publish(ROOM, {"type": "chat.message", "n": n})
    epoch = (await hub._sequence(ROOM))[1]
    stale = await _resuming(hub, fake_user(1), 1, epoch).start()
    assert await stale.frame() == {
        "type": "snapshot",
        "lecture": 1,
        "role": "viewer",
        "seq": 6,
        "epoch": epoch,
    }
    # A seq from the future (the room's sequence was reset): a snapshot too.
    future = await _resuming(hub, fake_user(2), 99, epoch).start()
    assert (await future.frame())["type"] == "snapshot"
    # Within the buffer: resumed.
    recent = await _resuming(hub, fake_user(3), 4, epoch).start()
    assert [(await recent.frame())["seq"] for _ in range(2)] == [5, 6]


async def test_joining_while_frames_are_published_has_no_gap_and_no_duplicate(make_hub):
    hub = make_hub()
    total = 150

    async def publisher():
        for n in range(total):
            await hub.publish(ROOM, {"type": "chat.message", "n": n})
            if n % 10 == 0:
                await asyncio.sleep(0)

    epoch = (await hub._sequence(ROOM))[1]

    async def viewer(user_id: int, last_seq=None):
        await asyncio.sleep(user_id * 0.001)
        client = await _resuming(hub, fake_user(user_id), last_seq, epoch).start()
        first = await client.frame()
        seqs = [first["seq"]] if first["type"] != "snapshot" else []
        expected = first["seq"] + 1 if first["type"] == "snapshot" else 1
        while (seqs[-1] if seqs else expected - 1) < total:
            frame = await client.frame()
            if frame["type"] != "presence":
                seqs.append(frame["seq"])
        return expected, seqs

    results = await asyncio.gather(
        publisher(), *(viewer(i) for i in range(1, 12)), *(viewer(i, last_seq=0) for i in range(12, 16))
    )
    for expected, seqs in results[1:]:
        assert seqs == list(range(expected, total + 1))


async def test_chat_is_coalesced_into_one_batch_per_interval_and_stays_in_order(make_hub):
    hub = make_hub()
    viewer = await HubClient(hub, fake_user(1)).start()
    await _drain_snapshot(viewer)
    for n in range(3):
        await hub.publish(ROOM, {"type": "chat.message", "n": n}, coalesce=True)
    batch = await viewer.frame()
    assert batch["type"] == "batch"
    assert batch["seq"] == 3
    assert [item["seq"] for item in batch["items"]] == [1, 2, 3]
    # A frame that is not coalesced flushes what is pending first: seq order holds.
    await hub.publish(ROOM, {"type": "chat.message", "n": 3}, coalesce=True)
    await hub.publish(ROOM, {"type": "quiz.open"})
    batch = await viewer.frame()
    assert batch["type"] == "batch" and [item["seq"] for item in batch["items"]] == [4]
    assert (await viewer.frame()) == {"seq": 5, "type": "quiz.open"}


def test_the_coalescing_interval_grows_with_the_room():
    hub = MemoryHub()
    assert hub.interval(10) == hub.coalesce_min
    assert hub.interval(2000) < hub.interval(6500) < hub.interval(13000) <= hub.coalesce_max
    # At the default budget a 13,000-viewer process sends each coalesced stream at most once
    # every 2.6 s: two streams x 13,000 / 2.6 s = 10,000 frames/s, half the budget.
    assert hub.interval(13000) == pytest.approx(2.6)
    assert 2 * 13000 / hub.interval(13000) <= hub.send_budget / 2


def test_a_batch_is_built_from_encoded_frames_without_decoding_them():
    assert batch_text([(4, '{"seq":4}'), (5, '{"seq":5,"a":1}')]) == (
        '{"type":"batch","seq":5,"items":[{"seq":4},{"seq":5,"a":1}]}'
    )


async def test_reactions_are_counted_not_forwarded(make_hub):
    hubs = [make_hub(), make_hub()] if make_hub.backend == "redis" else [make_hub()]
    viewers = [await HubClient(hub, fake_user(i)).start() for i, hub in enumerate(hubs, start=1)]
    for viewer in viewers:
        await _drain_snapshot(viewer)
    for _ in range(5):
        await hubs[0].react(ROOM, "like")
    await hubs[-1].react(ROOM, "like", 2)
    for viewer in viewers:
        counted = 0
        while counted < 7:
            frame = (await _frames_of_type(viewer, "reactions", 1))[0]
            counted += frame["counts"]["like"]
        assert counted == 7


async def test_presence_counts_viewers_of_every_process_and_keeps_the_peak(make_hub):
    hubs = [make_hub(), make_hub()] if make_hub.backend == "redis" else [make_hub()]
    clients = [await HubClient(hubs[i % len(hubs)], fake_user(i)).start() for i in range(1, 4)]
    for client in clients:
        while True:
            frame = await client.frame()
            if frame["type"] == "presence" and frame["viewers"] == 3:
                break
    assert await hubs[0].viewers(ROOM) == 3
    await clients[0].stop()
    assert await hubs[-1].viewers(ROOM) == 2
    assert await hubs[-1].peak_viewers(ROOM) == 3
    while (await clients[1].frame()) != {"type": "presence", "viewers": 2}:
        pass


async def test_kick_closes_the_users_connections_on_every_process(make_hub):
    hubs = [make_hub(), make_hub()] if make_hub.backend == "redis" else [make_hub()]
    target_here = await HubClient(hubs[0], fake_user(7)).start()
    target_there = await HubClient(hubs[-1], fake_user(7)).start()
    bystander = await HubClient(hubs[-1], fake_user(8)).start()
    await hubs[0].kick(ROOM, user_id=7, code=CLOSE_BANNED, reason="banned")
    assert await target_here.closed_with() == CLOSE_BANNED
    assert await target_there.closed_with() == CLOSE_BANNED
    await hubs[0].publish(ROOM, {"type": "chat.message"})
    assert (await _frames_of_type(bystander, "chat.message", 1))[0]["seq"] == 1


async def test_concurrent_publishers_on_two_processes_deliver_one_order_to_everyone(make_hub):
    if make_hub.backend != "redis":
        pytest.skip("two processes need Redis")
    hubs = [make_hub(), make_hub()]
    clients = [await HubClient(hubs[i % 2], fake_user(i)).start() for i in range(4)]
    for client in clients:
        await _drain_snapshot(client)

    async def publish_from(hub, name):
        for n in range(60):
            await hub.publish(ROOM, {"type": "chat.message", "from": name, "n": n})

    await asyncio.gather(publish_from(hubs[0], "a"), publish_from(hubs[1], "b"))
    orders = []
    for client in clients:
        frames = await _frames_of_type(client, "chat.message", 120)
        assert [frame["seq"] for frame in frames] == list(range(1, 121))
        orders.append([(frame["from"], frame["n"]) for frame in frames])
    assert all(order == orders[0] for order in orders)
    # Each publisher's own frames keep their order.
    assert [n for name, n in orders[0] if name == "a"] == list(range(60))

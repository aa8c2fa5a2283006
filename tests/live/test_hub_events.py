"""Room events for the server (``Hub.announce``): every process holding connections of the room
hears them, none reaches a client."""

import asyncio

from live.hub import room_key
from tests.live.conftest import HubClient, fake_user

ROOM = room_key(1)


async def test_an_announced_event_reaches_the_listeners_of_every_process_holding_the_room(make_hub):
    hubs = [make_hub(), make_hub()] if make_hub.backend == "redis" else [make_hub()]
    heard = [[] for _ in hubs]
    for hub, log in zip(hubs, heard, strict=True):
        hub.add_listener(lambda room, event, log=log: log.append((room, event)))
        hub.add_listener(lambda room, event: 1 / 0)  # a failing listener stops no other
    clients = [await HubClient(hub, fake_user(n)).start() for n, hub in enumerate(hubs)]

    await hubs[0].announce(ROOM, {"event": "lecture.ended", "lecture_id": 1})
    for _ in range(100):
        if all(heard):
            break
        await asyncio.sleep(0.02)
    assert heard == [[(ROOM, {"event": "lecture.ended", "lecture_id": 1})]] * len(hubs)

    # Clients never see it: the next frame they get is the next published one.
    await hubs[0].publish(ROOM, {"type": "chat.message"})
    for client in clients:
        frames = [await client.frame() for _ in range(2)]
        assert [f["type"] for f in frames] == ["snapshot", "chat.message"]


async def test_a_listener_is_added_once(make_hub):
    hub = make_hub()
    heard = []

    def listener(room, event):
        heard.append(event)

    hub.add_listener(listener)
    hub.add_listener(listener)
    await HubClient(hub, fake_user(1)).start()
    await hub.announce(ROOM, {"event": "x"})
    for _ in range(50):
        if heard:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    assert heard == [{"event": "x"}]

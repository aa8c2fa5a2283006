"""The shared state store (live.state): one contract, both backends (Redis when REDIS_URL is set)."""

import asyncio

import pytest

from live import state
from live.state import MemoryStore, RedisStore, gcra


@pytest.fixture(params=["memory", "redis"])
async def store(request, settings):
    if request.param == "redis":
        if not settings.REDIS_URL:
            pytest.skip("REDIS_URL is not set")
        yield RedisStore()
    else:
        yield MemoryStore()


def test_gcra_lets_a_burst_through_then_one_per_interval():
    tat, results = None, []
    for _ in range(4):
        tat, retry = gcra(tat, now=100.0, interval=2.0, burst=3)
        results.append(retry)
    assert results == [0.0, 0.0, 0.0, 2.0]
    _, retry = gcra(tat, now=102.0, interval=2.0, burst=3)
    assert retry == 0.0


async def test_rate_limit(store, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(state, "_now", lambda: clock[0])
    answers = [await store.rate_allow("rl:x", interval=2.0, burst=3) for _ in range(4)]
    assert answers[:3] == [0.0, 0.0, 0.0] and answers[3] == pytest.approx(2.0)
    clock[0] += 2.0
    assert await store.rate_allow("rl:x", interval=2.0, burst=3) == 0.0
    assert await store.rate_allow("rl:other", interval=2.0, burst=3) == 0.0


async def test_claim_is_once_until_it_expires(store):
    assert await store.claim("c", 0.05, {"a": 1})
    assert not await store.claim("c", 0.05)
    assert await store.get("c") == {"a": 1}
    assert 0 < await store.ttl("c") <= 0.05
    await asyncio.sleep(0.08)
    assert await store.get("c") is None and await store.ttl("c") == 0.0
    assert await store.claim("c", 1)


async def test_values_counters_and_sets(store):
    await store.set("v", [1, "二"], ttl=10)
    assert await store.get("v") == [1, "二"]
    await store.delete("v")
    assert await store.get("v") is None
    assert [await store.incr("n") for _ in range(3)] == [1, 2, 3]
    assert await store.set_add("s", 5) and not await store.set_add("s", 5)
    assert await store.set_has("s", 5) and not await store.set_has("s", 6)
    await store.set_add("s", 6)
    assert await store.set_members("s") == {5, 6}
    await store.set_remove("s", 5)
    assert await store.set_members("s") == {6}


async def test_hashes_and_ranks(store):
    assert await store.hash_setnx("h", "7", [1, 2.5])
    assert not await store.hash_setnx("h", "7", [2, 3.0])
    assert await store.hash_get("h", "7") == [1, 2.5]
    await store.hash_set("h", "8", {"x": True})
    assert await store.hash_getall("h") == {"7": [1, 2.5], "8": {"x": True}}
    assert [await store.hash_incr("c", "1") for _ in range(2)] == [1, 2]
    await store.rank_incr("r", 3, 0)
    await store.rank_incr("r", 1, 0)
    await store.rank_incr("r", 2, 5)
    assert [m for m, _ in await store.rank_top("r", 2)] == [2, 1]
    assert await store.rank_all("r") == {1: 0, 2: 5, 3: 0}


async def test_answer_once_records_once_counts_and_refuses_after_the_closing_flag(store):
    def answer(user: str, option: int):
        return store.answer_once(
            "q:answers",
            user,
            [option, 1.5],
            counts="q:counts",
            count_field=str(option),
            closing="q:closing",
            ttl=60,
        )

    assert await answer("7", 1) == "ok"
    assert await answer("8", 1) == "ok"
    assert await answer("7", 2) == "duplicate"  # once per user, and not counted again
    assert await store.hash_getall("q:counts") == {"1": 2}
    assert await store.claim("q:closing", 60)
    assert await answer("9", 0) == "closing"  # nothing recorded once the close has claimed
    assert await store.hash_getall("q:answers") == {"7": [1, 1.5], "8": [1, 1.5]}
    assert 0 < await store.ttl("q:answers") <= 60 and 0 < await store.ttl("q:counts") <= 60


async def test_answers_racing_a_close_are_all_in_the_close_s_read_or_refused(store):
    """Many concurrent answers with the close (claim, then read) among them: every "ok" is in
    the read, every answer after the claim is refused."""
    results: dict[str, str] = {}

    async def answer(user: int):
        await asyncio.sleep((user % 7) * 0.001)
        results[str(user)] = await store.answer_once(
            "r:answers", str(user), [0, 1.0], counts="r:counts", count_field="0", closing="r:closing", ttl=60
        )

    async def close():
        await asyncio.sleep(0.003)
        assert await store.claim("r:closing", 60)
        return await store.hash_getall("r:answers")

    read, *_ = await asyncio.gather(close(), *(answer(user) for user in range(200)))
    ok = {user for user, result in results.items() if result == "ok"}
    assert set(results.values()) <= {"ok", "closing"}
    assert set(read) == ok
    assert "closing" in results.values() and ok


async def test_capped_lists(store):
    for i in range(5):
        await store.list_push("l", {"i": i}, 3)
    assert await store.list_all("l") == [{"i": 2}, {"i": 3}, {"i": 4}]


async def test_two_processes_share_the_redis_store(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    first, second = RedisStore(), RedisStore()
    assert await first.set_add("voters", 1)
    assert not await second.set_add("voters", 1)
    assert await first.claim("once", 5) and not await second.claim("once", 5)


async def test_raise_to_never_lowers_a_counter(store):
    await store.raise_to("n", 5)
    assert await store.incr("n") == 6
    await store.raise_to("n", 3)
    assert await store.get("n") == 6

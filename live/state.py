"""The live rooms' shared state: rate limits, slow mode, mutes, bans, votes, quiz answers, recent chat.

Every server process of a room must see the same state (a viewer muted through one process is
muted on all), so it lives in a store with two backends behind one small interface:

- ``MemoryStore``: one process (development, the default test run); a dict with expiry.
- ``RedisStore``: several processes (``REDIS_URL``); one key per fact under ``live_key(...)``,
  atomic operations only (SET NX, SADD, HSETNX, HINCRBY, ZINCRBY, a Lua GCRA for rate limits,
  a Lua step for a quiz answer: ``answer_once``).

``StoreContract`` in tests/live/test_state.py runs the same checks against both. Values are
JSON-serialisable; the store decodes what it returns.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from live.redis import get_redis, live_key


def _now() -> float:
    return time.time()


def gcra(tat: float | None, *, now: float, interval: float, burst: int) -> tuple[float, float]:
    """One step of the generic cell rate algorithm: ``(new_tat, retry_after)``; retry_after 0
    means allowed. ``burst`` messages pass at once, then one per ``interval`` seconds."""
    tat = max(tat or now, now) + interval
    over = tat - now - interval * burst
    if over > 0:
        return tat - interval, over
    return tat, 0.0


class MemoryStore:
    """The store for a single process. Not shared: with several processes, use Redis."""

    def __init__(self):
        self.data: dict[str, Any] = {}
        self.expiry: dict[str, float] = {}

    def clear(self) -> None:
        self.data.clear()
        self.expiry.clear()

    def _get(self, key: str, default=None):
        deadline = self.expiry.get(key)
        if deadline is not None and deadline <= _now():
            self.data.pop(key, None)
            self.expiry.pop(key, None)
        return self.data.get(key, default)

    def _container(self, key: str, factory):
        value = self._get(key)
        if value is None:
            value = self.data[key] = factory()
        return value

    def _expire(self, key: str, ttl: float | None) -> None:
        if ttl:
            self.expiry[key] = _now() + ttl

    async def rate_allow(self, key: str, *, interval: float, burst: int) -> float:
        now = _now()
        tat, retry = gcra(self._get(key), now=now, interval=interval, burst=burst)
        self.data[key] = tat
        self._expire(key, tat - now + 1)
        return retry

    async def claim(self, key: str, ttl: float, value: Any = 1) -> bool:
        if self._get(key) is not None:
            return False
        self.data[key] = value
        self._expire(key, ttl)
        return True

    async def ttl(self, key: str) -> float:
        if self._get(key) is None:
            return 0.0
        deadline = self.expiry.get(key)
        return max(0.0, deadline - _now()) if deadline else -1.0

    async def get(self, key: str) -> Any:
        return self._get(key)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.data[key] = value
        self.expiry.pop(key, None)
        self._expire(key, ttl)

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)
        self.expiry.pop(key, None)

    async def incr(self, key: str) -> int:
        value = int(self._get(key, 0)) + 1
        self.data[key] = value
        return value

    async def raise_to(self, key: str, value: int) -> None:
        """Sets the counter to ``value`` unless it is higher already."""
        self.data[key] = max(int(self._get(key, 0)), value)

    async def set_add(self, key: str, member: Any) -> bool:
        members = self._container(key, set)
        if member in members:
            return False
        members.add(member)
        return True

    async def set_remove(self, key: str, member: Any) -> None:
        self._get(key, set()).discard(member)

    async def set_has(self, key: str, member: Any) -> bool:
        return member in self._get(key, set())

    async def set_members(self, key: str) -> set:
        return set(self._get(key, set()))

    async def hash_setnx(self, key: str, field: str, value: Any) -> bool:
        fields = self._container(key, dict)
        if field in fields:
            return False
        fields[field] = value
        return True

    async def answer_once(
        self, key: str, field: str, value: Any, *, counts: str, count_field: str, closing: str, ttl: float
    ) -> str:
        # No await in here: atomic on the event loop, like the Redis store's script.
        if self._get(closing) is not None:
            return "closing"
        fields = self._container(key, dict)
        if field in fields:
            return "duplicate"
        fields[field] = value
        self._expire(key, ttl)
        tally = self._container(counts, dict)
        tally[count_field] = int(tally.get(count_field, 0)) + 1
        self._expire(counts, ttl)
        return "ok"

    async def hash_set(self, key: str, field: str, value: Any) -> None:
        self._container(key, dict)[field] = value

    async def hash_get(self, key: str, field: str) -> Any:
        return self._get(key, {}).get(field)

    async def hash_getall(self, key: str) -> dict:
        return dict(self._get(key, {}))

    async def hash_incr(self, key: str, field: str, by: int = 1) -> int:
        fields = self._container(key, dict)
        fields[field] = int(fields.get(field, 0)) + by
        return fields[field]

    async def rank_incr(self, key: str, member: Any, by: float = 1) -> float:
        ranks = self._container(key, dict)
        ranks[member] = ranks.get(member, 0) + by
        return ranks[member]

    async def rank_top(self, key: str, n: int) -> list[tuple[Any, float]]:
        ranks = self._get(key, {})
        # Most votes first, then the oldest (smallest id) first, like Redis' ZREVRANGE on ties
        # broken by the member (ids are numbers here).
        return sorted(ranks.items(), key=lambda item: (-item[1], item[0]))[:n]

    async def rank_all(self, key: str) -> dict:
        return dict(self._get(key, {}))

    async def list_push(self, key: str, value: Any, cap: int) -> None:
        items = self._container(key, list)
        items.append(value)
        del items[:-cap]

    async def list_all(self, key: str) -> list:
        return list(self._get(key, []))

    async def expire(self, key: str, ttl: float) -> None:
        if key in self.data:
            self._expire(key, ttl)


_GCRA_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
tat = tat + interval
local over = tat - now - interval * burst
if over > 0 then return tostring(over) end
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil((tat - now + 1) * 1000))
return '0'
"""


_RAISE_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
"""


# KEYS: answers hash, counts hash, closing flag. ARGV: field, value, count field, TTL (ms).
# One step: refused once the close has claimed the quiz, else recorded once and counted.
_ANSWER_LUA = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 'closing' end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 'duplicate' end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 'ok'
"""


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _load(raw) -> Any:
    return None if raw is None else json.loads(raw)


class RedisStore:
    """The store shared by every process of a deployment (and every test worker's own prefix)."""

    def __init__(self, client=None):
        self._client = client

    @property
    def r(self):
        return self._client or get_redis()

    @staticmethod
    def k(key: str) -> str:
        return live_key("s", key)

    async def rate_allow(self, key: str, *, interval: float, burst: int) -> float:
        retry = await self.r.eval(_GCRA_LUA, 1, self.k(key), repr(_now()), repr(interval), str(burst))
        return float(retry)

    async def claim(self, key: str, ttl: float, value: Any = 1) -> bool:
        return bool(await self.r.set(self.k(key), _dump(value), nx=True, px=max(1, math.ceil(ttl * 1000))))

    async def ttl(self, key: str) -> float:
        ms = await self.r.pttl(self.k(key))
        if ms == -2:
            return 0.0
        return -1.0 if ms == -1 else ms / 1000

    async def get(self, key: str) -> Any:
        return _load(await self.r.get(self.k(key)))

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        px = max(1, math.ceil(ttl * 1000)) if ttl else None
        await self.r.set(self.k(key), _dump(value), px=px)

    async def delete(self, key: str) -> None:
        await self.r.delete(self.k(key))

    async def incr(self, key: str) -> int:
        return int(await self.r.incr(self.k(key)))

    async def raise_to(self, key: str, value: int) -> None:
        await self.r.eval(_RAISE_LUA, 1, self.k(key), str(int(value)))

    async def set_add(self, key: str, member: Any) -> bool:
        return bool(await self.r.sadd(self.k(key), _dump(member)))

    async def set_remove(self, key: str, member: Any) -> None:
        await self.r.srem(self.k(key), _dump(member))

    async def set_has(self, key: str, member: Any) -> bool:
        return bool(await self.r.sismember(self.k(key), _dump(member)))

    async def set_members(self, key: str) -> set:
        return {_load(m) for m in await self.r.smembers(self.k(key))}

    async def hash_setnx(self, key: str, field: str, value: Any) -> bool:
        return bool(await self.r.hsetnx(self.k(key), field, _dump(value)))

    async def answer_once(
        self, key: str, field: str, value: Any, *, counts: str, count_field: str, closing: str, ttl: float
    ) -> str:
        """Records ``value`` under ``field`` of hash ``key`` and counts ``count_field`` in hash
        ``counts``, in one atomic step: "ok"; "duplicate" if the field exists (nothing counted);
        "closing" if ``closing`` exists (nothing recorded). A reader that sets ``closing`` first
        then reads ``key`` sees every answer that got "ok"."""
        result = await self.r.eval(
            _ANSWER_LUA,
            3,
            self.k(key),
            self.k(counts),
            self.k(closing),
            field,
            _dump(value),
            count_field,
            str(max(1, math.ceil(ttl * 1000))),
        )
        return result.decode() if isinstance(result, bytes) else str(result)

    async def hash_set(self, key: str, field: str, value: Any) -> None:
        await self.r.hset(self.k(key), field, _dump(value))

    async def hash_get(self, key: str, field: str) -> Any:
        return _load(await self.r.hget(self.k(key), field))

    async def hash_getall(self, key: str) -> dict:
        raw = await self.r.hgetall(self.k(key))
        return {f.decode(): _load(v) for f, v in raw.items()}

    async def hash_incr(self, key: str, field: str, by: int = 1) -> int:
        return int(await self.r.hincrby(self.k(key), field, by))

    async def rank_incr(self, key: str, member: Any, by: float = 1) -> float:
        return float(await self.r.zincrby(self.k(key), by, _dump(member)))

    async def rank_top(self, key: str, n: int) -> list[tuple[Any, float]]:
        rows = await self.r.zrevrange(self.k(key), 0, -1, withscores=True)
        # ZREVRANGE breaks ties by member in reverse; order ties oldest first instead.
        ranked = sorted(((_load(m), s) for m, s in rows), key=lambda item: (-item[1], item[0]))
        return ranked[:n]

    async def rank_all(self, key: str) -> dict:
        return {_load(m): s for m, s in await self.r.zrange(self.k(key), 0, -1, withscores=True)}

    async def list_push(self, key: str, value: Any, cap: int) -> None:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.rpush(self.k(key), _dump(value))
            pipe.ltrim(self.k(key), -cap, -1)
            await pipe.execute()

    async def list_all(self, key: str) -> list:
        return [_load(v) for v in await self.r.lrange(self.k(key), 0, -1)]

    async def expire(self, key: str, ttl: float) -> None:
        await self.r.pexpire(self.k(key), max(1, math.ceil(ttl * 1000)))


_memory = MemoryStore()


def get_store() -> MemoryStore | RedisStore:
    """The Redis store when REDIS_URL is set (shared by every process), else this process's memory."""
    from django.conf import settings

    return RedisStore() if settings.REDIS_URL else _memory


def reset_memory_store() -> None:
    """Forget the memory store's state (tests: each test starts with an empty room)."""
    _memory.clear()

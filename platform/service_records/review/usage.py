"""Visits and active users per county, day and role, counted in the cache as requests arrive
(no database write per request) and read back by ``services.daily_usage_flush``.

With Redis (``REDIS_URL``) the counters are raw Redis keys written through the cache's own
client, with the cache's key prefix: ``INCR`` for visits and ``SADD`` of user ids for active
users (one pipeline, one round trip). With the local-memory cache (development, tests) visits
are ``cache.incr`` counters and active users a counter bumped the first time a user is seen
that day (``cache.add`` of a per-user marker). Counters expire after a few days; the flush
task copies them to ``DailyUsage`` every few minutes.

Which county and role a user counts for is cached per user for an hour: the profile lookup
happens once an hour, not per request. Users without a county (city administrators,
superusers without a profile) are not counted: adoption is a county figure.
"""

from __future__ import annotations

import datetime

from django.core.cache import cache
from django.utils import timezone

COUNTER_TTL = 3 * 24 * 3600
IDENTITY_TTL = 3600
_NOBODY = "-"


def _redis_client():
    """The raw Redis client behind the cache, or None for other cache backends."""
    get_client = getattr(getattr(cache, "_cache", None), "get_client", None)
    return get_client(write=True) if callable(get_client) else None


def _visits_key(day: datetime.date, county_id: int, role: str) -> str:
    return f"usage:v:{day:%Y%m%d}:{county_id}:{role}"


def _active_key(day: datetime.date, county_id: int, role: str) -> str:
    return f"usage:a:{day:%Y%m%d}:{county_id}:{role}"


def _seen_key(day: datetime.date, user_id: int, county_id: int, role: str) -> str:
    return f"usage:seen:{day:%Y%m%d}:{user_id}:{county_id}:{role}"


def _identity_of(user) -> str:
    """"county_id:role" or "-", in one query. The role is ``accounts.selectors.user_role``'s:
    administrator before teacher before student."""
    from accounts.models import User

    row = User.objects.filter(pk=user.pk).values_list(
        "is_superuser", "admin_profile__level", "admin_profile__region_id",
        "admin_profile__school__county_id", "teacher_profile__school__county_id",
        "student_profile__school__county_id",
    ).first()
    if row is None:
        return _NOBODY
    superuser, level, region_id, admin_school_county, teacher_county, student_county = row
    if superuser or level:
        county_id = {"county": region_id, "school": admin_school_county}.get(level)
        role = "admin"
    elif teacher_county:
        county_id, role = teacher_county, "teacher"
    else:
        county_id, role = student_county, "student"
    return f"{county_id}:{role}" if county_id else _NOBODY


def usage_identity(user) -> tuple[int, str] | None:
    """(county id, role) the user's visits count for, or None; cached for an hour."""
    key = f"usage:who:{user.pk}"
    who = cache.get(key)
    if who is None:
        who = _identity_of(user)
        cache.set(key, who, IDENTITY_TTL)
    if who == _NOBODY:
        return None
    county_id, role = who.split(":", 1)
    return int(county_id), role


def usage_forget_identity(user_id: int) -> None:
    """Recompute the user's county and role on their next visit (after a move or new role)."""
    cache.delete(f"usage:who:{user_id}")


def usage_count_visit(*, user, now: datetime.datetime | None = None) -> bool:
    """Counts one visit of ``user`` today; False when the user counts for no county."""
    who = usage_identity(user)
    if who is None:
        return False
    county_id, role = who
    day = timezone.localdate(now)
    client = _redis_client()
    if client is not None:
        visits = cache.make_and_validate_key(_visits_key(day, county_id, role))
        active = cache.make_and_validate_key(_active_key(day, county_id, role))
        pipe = client.pipeline(transaction=False)
        pipe.incr(visits)
        pipe.expire(visits, COUNTER_TTL)
        pipe.sadd(active, user.pk)
        pipe.expire(active, COUNTER_TTL)
        pipe.execute()
        return True
    _incr(_visits_key(day, county_id, role))
    if cache.add(_seen_key(day, user.pk, county_id, role), 1, COUNTER_TTL):
        _incr(_active_key(day, county_id, role))
    return True


def _incr(key: str) -> None:
    cache.add(key, 0, COUNTER_TTL)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, COUNTER_TTL)


def usage_read(*, day: datetime.date, county_ids: list[int]) -> dict[tuple[int, str], tuple[int, int]]:
    """{(county id, role): (visits, active users)} the cache holds for ``day``; combinations
    without counters are left out."""
    from service_records.models import DailyUsage

    combos = [(county_id, role) for county_id in county_ids for role in DailyUsage.Role.values]
    if not combos:
        return {}
    out: dict[tuple[int, str], tuple[int, int]] = {}
    client = _redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for county_id, role in combos:
            pipe.get(cache.make_and_validate_key(_visits_key(day, county_id, role)))
            pipe.scard(cache.make_and_validate_key(_active_key(day, county_id, role)))
        replies = pipe.execute()
        for index, combo in enumerate(combos):
            visits, active = replies[2 * index], replies[2 * index + 1]
            if visits is not None or active:
                out[combo] = (int(visits or 0), int(active or 0))
        return out
    keys = {combo: (_visits_key(day, *combo), _active_key(day, *combo)) for combo in combos}
    found = cache.get_many([key for pair in keys.values() for key in pair])
    for combo, (visits_key, active_key) in keys.items():
        if visits_key in found or active_key in found:
            out[combo] = (int(found.get(visits_key, 0)), int(found.get(active_key, 0)))
    return out

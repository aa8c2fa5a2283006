"""Limits hold when many people change one roster at the same moment (PostgreSQL only: SQLite
has no row locks, it serialises whole transactions instead)."""

import threading

import pytest
from django.db import connection, connections

from common.errors import ServiceError
from studios.models import Membership
from studios.services import membership_add
from tests.factories import build_world
from tests.studios.factories import (
    StudioKindFactory,
    make_studio,
    superuser,
    teachers_at,
    teachers_elsewhere,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

THREADS = 12


def race(target, args_list):
    """Runs target(*args) for each args at once (as far as threads allow); returns the
    outcomes: the Membership or the ServiceError code."""
    barrier = threading.Barrier(len(args_list))
    outcomes = [None] * len(args_list)

    def run(index, args):
        try:
            barrier.wait()
            outcomes[index] = target(*args)
        except ServiceError as exc:
            outcomes[index] = exc.code
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_concurrent_adds_never_pass_the_member_limit():
    world = build_world()
    actor = superuser()
    kind = StudioKindFactory(max_members=3, min_members=0, min_members_from_other_schools=0)
    studio = make_studio(host=world.teacher_a, actor=actor, kind=kind)
    candidates = teachers_elsewhere(world.county_b, THREADS)

    def add(teacher):
        return membership_add(actor=actor, studio=studio, teacher=teacher, role=Membership.Role.MEMBER)

    outcomes = race(add, [(t,) for t in candidates])

    added = [o for o in outcomes if isinstance(o, Membership)]
    assert len(added) == 3, outcomes
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["studio_member_limit"] * (THREADS - 3)
    assert studio.memberships.filter(role="member", left_on__isnull=True).count() == 3


def test_concurrent_adds_keep_the_host_school_share():
    world = build_world()
    actor = superuser()
    studio = make_studio(host=world.teacher_a, actor=actor, kind=StudioKindFactory())  # 8 members, 5 other
    candidates = teachers_at(world.school_a, THREADS)
    outcomes = race(lambda t: membership_add(actor=actor, studio=studio, teacher=t, role="member"),
                    [(t,) for t in candidates])
    assert sum(isinstance(o, Membership) for o in outcomes) == 3, outcomes
    assert studio.memberships.filter(role="member", teacher__school=world.school_a).count() == 3


def test_the_same_teacher_added_at_once_joins_once():
    world = build_world()
    actor = superuser()
    studio = make_studio(host=world.teacher_a, actor=actor)
    outcomes = race(lambda: membership_add(actor=actor, studio=studio, teacher=world.teacher_b,
                                           role="trainee"), [()] * 6)
    assert sum(isinstance(o, Membership) for o in outcomes) == 1, outcomes
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["studio_already_member"] * 5

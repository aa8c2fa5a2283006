"""Two reviewers deciding one report at the same moment: one wins, the other is refused by the
state check on the locked row, and the service is recorded once (PostgreSQL only)."""

import pytest
from django.db import connection

from service_records.models import ServiceEvent
from studios.activities.models import Activity, ActivityReview
from studios.activities.services import activity_review
from tests.factories import build_world
from tests.studios.activity_helpers import build_activity_world, submitted
from tests.studios.test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_a_report_is_decided_once(monkeypatch):
    s = build_activity_world(build_world())
    activity = submitted(s, monkeypatch, presenters=[s.host, s.members[0]])
    reviewers = [s.office, s.world.city_admin.user, s.root, s.office]
    outcomes = race(lambda user: activity_review(actor=user, activity=activity, approve=True),
                    [(user,) for user in reviewers])
    assert sum(isinstance(o, Activity) for o in outcomes) == 1, outcomes
    assert sorted(o for o in outcomes if not isinstance(o, Activity)) == ["activity_state"] * 3
    assert ActivityReview.objects.filter(activity=activity).count() == 1
    assert ServiceEvent.objects.filter(source_id=str(activity.pk)).count() == 2

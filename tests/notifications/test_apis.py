"""Notifications: only the recipient sees and marks theirs."""

import pytest

from notifications.models import Notification
from notifications.services import notify
from tests.factories import StudentFactory


@pytest.fixture
def people(db):
    return StudentFactory().user, StudentFactory().user


def test_i_list_count_and_mark_mine(people, client_for):
    me, other = people
    notify(recipient_ids=[me.pk, other.pk], kind="lecture.reminder", title="快开始了")
    notify(recipient_ids=[me.pk], kind="resource.returned", title="退回")
    client = client_for(me)
    rows = client.get("/api/v1/notifications/").json()["results"]
    assert [row["title"] for row in rows] == ["退回", "快开始了"]
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    first = rows[0]["id"]
    marked = client.post(f"/api/v1/notifications/{first}/read/")
    assert marked.status_code == 200 and marked.json()["is_read"]
    assert [r["id"] for r in client.get("/api/v1/notifications/", {"unread": "true"}).json()["results"]] == [
        rows[1]["id"]]
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert client_for(other).get("/api/v1/notifications/unread-count/").json() == {"unread": 1}


def test_another_users_notifications_are_invisible(people, client_for):
    me, other = people
    notify(recipient_ids=[other.pk], kind="x", title="别人的")
    theirs = Notification.objects.get(recipient=other)
    client = client_for(me)
    assert client.get("/api/v1/notifications/").json()["results"] == []
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    client.post("/api/v1/notifications/read-all/")
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_dedupe_key_sends_once(people):
    me, _ = people
    assert notify(recipient_ids=[me.pk, me.pk], kind="x", title="a", dedupe_key="k") == 1
    notify(recipient_ids=[me.pk], kind="x", title="a", dedupe_key="k")
    assert Notification.objects.filter(recipient=me).count() == 1


def test_a_bad_filter_is_a_400(people, client_for):
    assert client_for(people[0]).get("/api/v1/notifications/", {"kind": "k" * 65}).status_code == 400

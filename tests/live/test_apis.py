"""The live rooms' HTTP API: replay timeline by time window, bans, attendance; each refusal."""

import datetime

import pytest
from django.utils import timezone

from live.models import Attendance, ChatMessage, Question, RoomBan
from tests import factories
from tests.live.room_support import _course_and_lecture

pytestmark = pytest.mark.django_db


@pytest.fixture
def lecture(world):
    return _course_and_lecture(world, state="live")[1]


def _chat(lecture, user, number, offset_s, text=None, deleted=False):
    return ChatMessage.objects.create(
        lecture=lecture, number=number, author=user, text=text or f"m{number}",
        offset_ms=int(offset_s * 1000), sent_at=timezone.now(),
        deleted_at=timezone.now() if deleted else None)


def _question(lecture, user, offset_s, text="q", votes=0):
    return Question.objects.create(lecture=lecture, author=user, text=text, offset_ms=int(offset_s * 1000),
                                   asked_at=timezone.now(), votes=votes)


def _url(lecture, **query):
    return f"/api/v1/lectures/{lecture.pk}/replay/messages/", query


def test_replay_by_window_in_order_without_deleted_messages(world, lecture, client_for):
    viewer = world.student_a.user
    _chat(lecture, viewer, 1, 5)
    _chat(lecture, viewer, 2, 10, deleted=True)
    _chat(lecture, viewer, 3, 20)
    question = _question(lecture, viewer, 20, text="为什么?", votes=3)
    _chat(lecture, viewer, 4, 30)
    _chat(lecture, viewer, 5, 99)
    url, query = _url(lecture, **{"from": 5, "to": 30})
    body = client_for(world.student_b.user).get(url, query).json()
    assert [(i["kind"], i["id"], i["offset"]) for i in body["results"]] == [
        ("chat", 1, 5.0), ("chat", 3, 20.0), ("question", question.pk, 20.0)]
    assert body["next"] is None
    assert body["results"][0]["user"] == {"id": viewer.pk, "name": viewer.display_name}
    assert body["results"][2]["votes"] == 3 and body["results"][2]["answered"] is False
    assert world.student_a.real_name not in str(body)


def test_replay_pages_by_cursor(world, lecture, client_for):
    viewer = world.student_a.user
    for number in range(1, 8):
        _chat(lecture, viewer, number, 10 + number // 3)  # several share an offset
    _question(lecture, viewer, 11)
    client = client_for(viewer)
    url, query = _url(lecture, page_size=3)
    seen, cursor = [], None
    while True:
        body = client.get(url, {**query, **({"cursor": cursor} if cursor else {})}).json()
        assert len(body["results"]) <= 3
        seen += [(i["kind"], i["id"]) for i in body["results"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == 8 and len(set(seen)) == 8
    offsets = [10 + n // 3 for n in range(1, 8)]
    assert [s for s in seen if s[0] == "chat"] == [("chat", n) for n in range(1, 8)]
    assert sorted(offsets) == offsets


@pytest.mark.parametrize("query", [{"from": "abc"}, {"from": -1}, {"from": "nan"}, {"to": "1e400"},
                                   {"cursor": "nonsense"}, {"cursor": "MTox"}, {"page_size": 0},
                                   {"page_size": 201}, {"x": 1}])
def test_replay_refuses_bad_queries(world, lecture, client_for, query):
    url, _ = _url(lecture)
    response = client_for(world.student_a.user).get(url, query)
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_replay_is_a_404_for_who_may_not_see_the_lecture(world, lecture, client_for):
    outsider = factories.StudentFactory(school=world.other_school).user
    url, _ = _url(lecture)
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(world.student_a.user).get(url).status_code == 200


def _ban(lecture, world):
    return RoomBan.objects.create(lecture=lecture, user=world.student_a.user, banned_by=world.teacher_a.user,
                                  reason="刷屏")


@pytest.mark.parametrize(("who", "status"), [("student_b", 403), ("teacher_a", 200), ("teacher_b", 200),
                                             ("city_admin", 200), ("other_city_admin", 404)])
def test_who_lists_bans(world, lecture, client_for, who, status):
    ban = _ban(lecture, world)
    response = client_for(getattr(world, who).user).get(f"/api/v1/lectures/{lecture.pk}/bans/")
    assert response.status_code == status, response.content
    if status == 200:
        assert [row["id"] for row in response.json()["results"]] == [ban.pk]
        assert response.json()["results"][0]["user"]["name"] == world.student_a.user.display_name


def test_a_viewer_cannot_lift_a_ban_a_moderator_can_once(world, lecture, client_for):
    ban = _ban(lecture, world)
    url = f"/api/v1/lectures/{lecture.pk}/bans/{ban.pk}/lift/"
    assert client_for(world.student_b.user).post(url).status_code == 403
    assert client_for(world.student_a.user).post(url).status_code == 403
    ban.refresh_from_db()
    assert ban.lifted_at is None
    response = client_for(world.teacher_b.user).post(url)
    assert response.status_code == 200 and response.json()["lifted_at"]
    assert client_for(world.teacher_b.user).post(url).status_code == 409
    moderator = client_for(world.teacher_b.user)
    assert moderator.post(f"/api/v1/lectures/{lecture.pk}/bans/98765/lift/").status_code == 404
    assert moderator.get(f"/api/v1/lectures/{lecture.pk}/bans/").json()["results"] == []


def test_attendance_for_the_staff_only(world, lecture, client_for):
    now = timezone.now()
    Attendance.objects.create(lecture=lecture, user=world.student_a.user, seconds_watched=1800, joins=2,
                              first_joined_at=now - datetime.timedelta(hours=1), last_seen_at=now)
    url = f"/api/v1/lectures/{lecture.pk}/attendance/"
    assert client_for(world.student_a.user).get(url).status_code == 403
    body = client_for(world.teacher_a.user).get(url).json()
    assert body["results"][0]["minutes_watched"] == 30
    assert body["results"][0]["user"] == {"id": world.student_a.user.pk,
                                          "name": world.student_a.user.display_name}

"""The live rooms' admin pages: scoped to the course's school of record, read-only."""

import pytest
from django.test import Client
from django.utils import timezone

from live.models import Attendance, ChatMessage, Question, Quiz, QuizAnswer, RoomBan
from tests.live.room_support import _course_and_lecture

pytestmark = pytest.mark.django_db

MODELS = ["chatmessage", "question", "quiz", "quizanswer", "attendance", "roomban"]


@pytest.fixture
def rows(world):
    lecture = _course_and_lecture(world, state="live")[1]
    viewer, now = world.student_a.user, timezone.now()
    message = ChatMessage.objects.create(lecture=lecture, number=1, author=viewer, text="标记文本",
                                         offset_ms=5, sent_at=now)
    question = Question.objects.create(lecture=lecture, author=viewer, text="问", offset_ms=5, asked_at=now)
    quiz = Quiz.objects.create(lecture=lecture, created_by=world.teacher_a.user, prompt="?",
                               options=["a", "b"], correct_option=0, seconds=30, opened_at=now, closes_at=now)
    answer = QuizAnswer.objects.create(quiz=quiz, user=viewer, option=0, is_correct=True, answered_at=now)
    attendance = Attendance.objects.create(lecture=lecture, user=viewer, seconds_watched=60,
                                           first_joined_at=now, last_seen_at=now)
    ban = RoomBan.objects.create(lecture=lecture, user=viewer, banned_by=world.teacher_a.user)
    return dict(zip(MODELS, [message, question, quiz, answer, attendance, ban], strict=True))


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_in_scope_administrators_see_the_rows_others_do_not(world, rows, model):
    url = f"/admin/live/{model}/"
    inside = _admin(world.city_admin.user)
    assert inside.get(url).status_code == 200
    assert inside.get(f"{url}{rows[model].pk}/change/").status_code == 200
    outside = _admin(world.other_city_admin.user)
    assert outside.get(url).status_code == 200
    assert outside.get(f"{url}{rows[model].pk}/change/").status_code in (302, 404)
    assert inside.get(f"{url}add/").status_code == 403


def test_a_ban_is_lifted_from_the_admin(world, rows):
    ban = rows["roomban"]
    response = _admin(world.city_admin.user).post(
        "/admin/live/roomban/", {"action": "lift_bans", "_selected_action": [ban.pk]})
    assert response.status_code == 302
    ban.refresh_from_db()
    assert ban.lifted_at is not None and ban.lifted_by == world.city_admin.user

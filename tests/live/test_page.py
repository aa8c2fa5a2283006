"""The live-room page (/live/<lecture_id>/): who may open it, and what it hands the script."""

import json

import pytest
from django.test import Client

from tests.factories import StudentFactory
from tests.live.page_support import live_lecture

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _config(response) -> dict:
    content = response.content.decode()
    start = content.index('<script id="live-room-config" type="application/json">') + len(
        '<script id="live-room-config" type="application/json">')
    return json.loads(content[start:content.index("</script>", start)])


def test_anonymous_visitors_are_sent_to_sign_in(world):
    lecture = live_lecture(world)
    response = _client().get(f"/live/{lecture.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/live/{lecture.pk}/"


def test_a_student_who_may_not_see_the_course_is_refused(world):
    lecture = live_lecture(world)
    outsider = StudentFactory(school=world.other_school)  # another city
    response = _client(outsider.user).get(f"/live/{lecture.pk}/")
    assert response.status_code == 403
    assert lecture.title not in response.content.decode()


def test_a_student_of_another_school_is_refused_a_school_only_lecture(world):
    lecture = live_lecture(world, visibility="school")
    assert _client(world.student_b.user).get(f"/live/{lecture.pk}/").status_code == 403
    assert _client(world.student_a.user).get(f"/live/{lecture.pk}/").status_code == 200


def test_a_viewer_is_refused_a_draft_lecture_its_lecturer_is_not(world):
    lecture = live_lecture(world, state="draft")
    assert _client(world.student_a.user).get(f"/live/{lecture.pk}/").status_code == 403
    assert _client(world.teacher_a.user).get(f"/live/{lecture.pk}/").status_code == 200


def test_a_lecture_that_does_not_exist_is_404(world):
    assert _client(world.student_a.user).get("/live/999999/").status_code == 404


def test_only_get_is_allowed(world):
    lecture = live_lecture(world)
    assert _client(world.student_a.user).post(f"/live/{lecture.pk}/").status_code == 405


def test_a_student_gets_the_room_without_moderator_controls(world):
    lecture = live_lecture(world)
    response = _client(world.student_a.user).get(f"/live/{lecture.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "函数的单调性" in page and "高一数学名师大讲堂" in page
    assert 'id="quiz-push-form"' not in page and 'id="slow-mode-form"' not in page
    assert "https://play.example.invalid/live/room1.m3u8" in page
    config = _config(response)
    assert config == {"lectureId": lecture.pk, "userId": world.student_a.user.pk, "role": "viewer",
                      "moderator": False, "teacher": False, "state": "live",
                      "ticketUrl": "/api/v1/auth/ws-ticket/", "socketPath": f"/ws/live/{lecture.pk}/"}
    assert response.cookies["csrftoken"].value  # the ticket POST sends it back
    assert "no-cache" in response["Cache-Control"]


def test_the_lecturer_gets_the_moderator_controls(world):
    lecture = live_lecture(world)
    response = _client(world.teacher_a.user).get(f"/live/{lecture.pk}/")
    page = response.content.decode()
    assert 'id="quiz-push-form"' in page and 'id="slow-mode-form"' in page
    assert _config(response)["role"] == "lecturer"
    assert _config(response)["moderator"] and _config(response)["teacher"]


def test_the_stream_address_is_shown_only_while_live(world):
    lecture = live_lecture(world, state="scheduled")
    page = _client(world.student_a.user).get(f"/live/{lecture.pk}/").content.decode()
    assert "play.example.invalid" not in page


def test_user_text_in_the_page_is_escaped(world):
    lecture = live_lecture(world, title="<script>alert(1)</script>")
    page = _client(world.student_a.user).get(f"/live/{lecture.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_administrator_over_the_course_moderates_but_does_not_teach(world):
    lecture = live_lecture(world)
    response = _client(world.county_admin_a.user).get(f"/live/{lecture.pk}/")
    assert response.status_code == 200
    config = _config(response)
    assert (config["role"], config["moderator"], config["teacher"]) == ("admin", True, False)
    page = response.content.decode()
    assert 'id="slow-mode-form"' in page and 'id="quiz-push-form"' not in page


def test_an_administrator_of_another_city_is_refused(world):
    lecture = live_lecture(world)
    assert _client(world.other_city_admin.user).get(f"/live/{lecture.pk}/").status_code == 403

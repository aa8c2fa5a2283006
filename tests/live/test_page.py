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


def _json_script(response, element_id: str) -> dict:
    content = response.content.decode()
    opening = f'<script id="{element_id}" type="application/json">'
    start = content.index(opening) + len(opening)
    return json.loads(content[start:content.index("</script>", start)])


def _config(response) -> dict:
    return _json_script(response, "live-room-config")


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


# --- language: Chinese (the platform's default) unless the browser or the user asks for English ---


def test_the_page_speaks_chinese_by_default(world):
    lecture = live_lecture(world)
    response = _client(world.student_a.user).get(f"/live/{lecture.pk}/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh")
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    for text in ("· 直播间 ·", 'data-role="viewer">观众</span>', ">直播中</span>", "</span> 人在线",
                 ">向主讲教师提问</h2>", ">提问</button>", ">聊天</h2>", ">发送</button>", 'title="点赞"'):
        assert text in page, text
    assert "Questions to the lecturer" not in page and "Connecting" not in page
    labels = _json_script(response, "live-room-labels")
    assert labels["connecting"] == "正在连接…" and labels["upvote"] == "同问"
    assert labels["mute"] == "禁言 10 分钟" and labels["quizOpen"] == "随堂测验"
    assert labels["state"]["live"] == "直播中" and labels["state"]["ended"] == "已结束"
    assert labels["quizSecondsLeft"] == "剩余 %(seconds)s 秒"  # room.js fills the placeholders
    # No Accept-Language at all: the platform's language.
    assert "向主讲教师提问" in _client(world.student_a.user).get(f"/live/{lecture.pk}/").content.decode()


def test_the_lecturer_sees_the_staff_controls_in_chinese(world):
    lecture = live_lecture(world)
    page = _client(world.teacher_a.user).get(f"/live/{lecture.pk}/").content.decode()
    for text in ('data-role="lecturer">主讲教师</span>', ">推送随堂测验</h2>", ">结束测验</button>",
                 "正确选项（第几个）", "作答时间（秒）", "慢速模式（秒，0 为关闭）", ">推送</button>"):
        assert text in page, text


@pytest.mark.parametrize("accept_language", ["en", "en-US,en;q=0.9"])
def test_an_english_browser_gets_the_page_in_english(world, accept_language):
    lecture = live_lecture(world)
    response = _client(world.student_a.user).get(f"/live/{lecture.pk}/", HTTP_ACCEPT_LANGUAGE=accept_language)
    page = response.content.decode()
    assert '<html lang="en">' in page
    for text in ("· Live room ·", 'data-role="viewer">viewer</span>', ">live</span>", "</span> viewers",
                 ">Questions to the lecturer</h2>", ">Ask</button>", ">Chat</h2>", ">Send</button>",
                 'title="Like"'):
        assert text in page, text
    assert "向主讲教师提问" not in page and "观众" not in page
    labels = _json_script(response, "live-room-labels")
    assert labels["connecting"] == "Connecting…" and labels["upvote"] == "Upvote"
    assert labels["state"]["live"] == "live"


def test_the_language_a_user_chose_wins_over_the_browser(world):
    client = _client(world.student_a.user)
    lecture = live_lecture(world)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})  # the language cookie
    page = client.get(f"/live/{lecture.pk}/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "Questions to the lecturer" in page

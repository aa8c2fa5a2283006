"""The live-room page in real Chromium against the real websocket endpoint (an ASGI live server:
tests/live/conftest_page.py): a student and the lecturer, each in their own browser context.
The student asks and chats, the lecturer sees both; the lecturer pushes a quiz, the student
answers it, the lecturer closes it and the student sees the result."""

import pytest

from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import build_world
from tests.live.conftest_page import asgi_live_server  # noqa: F401 - fixture
from tests.live.page_support import live_lecture, signed_in_page

pytestmark = [
    pytest.mark.browser, pytest.mark.django_db(transaction=True),
    # Static files reach the ASGI server as sync iterators; harmless here.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

WAIT_MS = 30000
HOSTILE = '<img src=x onerror="window.__owned = 1">老师好'


def _open_room(browser, server, user, lecture, *, locale: str = "zh-CN"):  # noqa: F811
    page, errors = signed_in_page(browser, server, user, locale=locale)
    page.goto(f"{server.url}/live/{lecture.pk}/")
    page.wait_for_selector("#room[data-state=ready]", timeout=WAIT_MS)
    return page, errors


def _text_in(page, selector: str, text: str) -> None:
    page.locator(selector, has_text=text).first.wait_for(timeout=WAIT_MS)


def test_a_student_asks_and_chats_and_the_lecturer_sees_both(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world)
    lecturer, lecturer_errors = _open_room(browser, asgi_live_server, world.teacher_a.user, lecture)
    student, student_errors = _open_room(browser, asgi_live_server, world.student_a.user, lecture)

    assert student.locator("#lecture-title").inner_text() == "函数的单调性"
    assert student.locator("#lecture-state").get_attribute("data-state") == "live"
    # A zh-CN browser gets the page in Chinese, the texts room.js writes included.
    assert student.locator("#lecture-state").inner_text() == "直播中"
    assert student.locator("#connection").inner_text() == "已连接"
    assert student.locator("#role").inner_text() == "观众"
    assert lecturer.locator("#role").inner_text() == "主讲教师"
    assert student.locator("#questions h2").inner_text() == "向主讲教师提问"
    assert student.locator("#play-url").inner_text() == "https://play.example.invalid/live/room1.m3u8"
    assert student.locator("#quiz-push-form").count() == 0
    assert lecturer.locator("#quiz-push-form").count() == 1

    student.fill("#question-form input[name=text]", "单调区间怎么求？")
    student.click("#question-form button[type=submit]")
    _text_in(lecturer, "#question-list li .text", "单调区间怎么求？")

    student.fill("#chat-form input[name=text]", HOSTILE)
    student.click("#chat-form button[type=submit]")
    _text_in(lecturer, "#chat-list li .text", "老师好")
    # The text arrived as text: no element was made of it, no handler ran.
    assert lecturer.locator("#chat-list li .text").first.inner_text() == HOSTILE
    assert lecturer.locator("#chat-list img").count() == 0
    assert lecturer.evaluate("window.__owned") is None

    # Two people are in the room.
    lecturer.wait_for_function("document.getElementById('viewer-count').textContent === '2'",
                               timeout=WAIT_MS)

    # The lecturer upvotes nothing; the student upvotes their question once: both see one vote.
    assert student.locator("#question-list li button.upvote").inner_text() == "▲ 同问"
    student.click("#question-list li button.upvote")
    lecturer.wait_for_selector("#question-list li[data-votes='1']", timeout=WAIT_MS)
    assert student.locator("#question-list li button.upvote").is_disabled()

    # Likes arrive aggregated, as counts.
    for _ in range(3):
        student.click("#reactions button[data-reaction=like]")
    lecturer.wait_for_function("document.getElementById('reaction-counts').textContent === '👍 3'",
                               timeout=WAIT_MS)

    # A deleted chat message disappears from the student's page.
    assert lecturer.locator("#chat-list li button.delete").inner_text() == "删除"
    lecturer.click("#chat-list li button.delete")
    student.wait_for_function("document.querySelectorAll('#chat-list li').length === 0", timeout=WAIT_MS)
    assert not lecturer_errors and not student_errors


def test_the_lecturer_pushes_a_quiz_and_the_student_sees_the_result(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world)
    lecturer, lecturer_errors = _open_room(browser, asgi_live_server, world.teacher_a.user, lecture)
    student, student_errors = _open_room(browser, asgi_live_server, world.student_a.user, lecture)

    lecturer.fill("#quiz-push-form textarea[name=prompt]", "f(x)=x² 在 (0,+∞) 上？")
    lecturer.fill("#quiz-push-form textarea[name=options]", "递减\n递增\n不单调")
    lecturer.fill("#quiz-push-form input[name=correct]", "2")
    lecturer.fill("#quiz-push-form input[name=seconds]", "120")
    lecturer.click("#quiz-push-form button[type=submit]")

    student.wait_for_selector("#quiz[data-phase=open]", timeout=WAIT_MS)
    assert student.locator("#quiz-heading").inner_text() == "随堂测验"
    assert student.locator("#quiz-prompt").inner_text() == "f(x)=x² 在 (0,+∞) 上？"
    assert student.locator("#quiz-options li").count() == 3
    assert student.locator("#quiz-options li.correct").count() == 0  # never before the close
    assert student.locator("#quiz-countdown").inner_text() != ""
    student.click("#quiz-options li[data-index='1'] button")
    student.wait_for_selector("#quiz-options li.chosen[data-index='1']", timeout=WAIT_MS)

    lecturer.wait_for_selector("#quiz[data-phase=open]", timeout=WAIT_MS)
    # A second quiz while one is open: the server refuses, in the lecturer's language.
    lecturer.fill("#quiz-push-form textarea[name=prompt]", "第二题")
    lecturer.fill("#quiz-push-form textarea[name=options]", "是\n否")
    lecturer.click("#quiz-push-form button[type=submit]")
    _text_in(lecturer, "#room-error", "请先结束当前的随堂测验，再推送新的测验。")
    lecturer.click("#quiz-close")

    student.wait_for_selector("#quiz[data-phase=closed]", timeout=WAIT_MS)
    student.wait_for_selector("#quiz-feedback[data-result=correct]", timeout=WAIT_MS)
    assert student.locator("#quiz-feedback").inner_text() == "回答正确！"
    assert student.locator("#quiz-heading").inner_text() == "测验结果"
    assert student.locator("#quiz-options li.correct").get_attribute("data-index") == "1"
    assert student.locator("#quiz-options li[data-index='1'] .count").get_attribute("data-count") == "1"
    lecturer.wait_for_selector("#quiz[data-phase=closed]", timeout=WAIT_MS)
    assert not lecturer_errors and not student_errors


def test_questions_sort_by_votes_and_the_lecturer_moderates(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world)
    lecturer, lecturer_errors = _open_room(browser, asgi_live_server, world.teacher_a.user, lecture)
    student, student_errors = _open_room(browser, asgi_live_server, world.student_a.user, lecture)

    for text in ("第一个问题", "第二个问题"):
        student.fill("#question-form input[name=text]", text)
        student.click("#question-form button[type=submit]")
        _text_in(lecturer, "#question-list li .text", text)
    order = "Array.from(document.querySelectorAll('#question-list li .text')).map(n => n.textContent)"
    assert lecturer.evaluate(order) == ["第一个问题", "第二个问题"]
    # The second question gets a vote (the lecturer's) and moves up, for both.
    lecturer.locator("#question-list li", has_text="第二个问题").locator("button.upvote").click()
    for page in (lecturer, student):
        page.wait_for_function(f"{order}[0] === '第二个问题'", timeout=WAIT_MS)

    # Pinned goes first, whatever the votes; answered is marked for everyone.
    lecturer.locator("#question-list li", has_text="第一个问题").locator("button.pin").click()
    student.wait_for_function(f"{order}[0] === '第一个问题'", timeout=WAIT_MS)
    assert student.locator("#question-list li.pinned .badge.pinned").count() == 1
    lecturer.locator("#question-list li", has_text="第二个问题").locator("button.answer").click()
    student.wait_for_selector("#question-list li.answered", timeout=WAIT_MS)
    assert student.locator("#question-list li.answered .text").inner_text() == "第二个问题"
    assert student.locator("#question-list button.pin, #question-list button.answer").count() == 0

    # A muted student is told so when they try to chat, and nothing is sent.
    student.fill("#chat-form input[name=text]", "大家好")
    student.click("#chat-form button[type=submit]")
    lecturer.locator("#chat-list li", has_text="大家好").locator("button.mute").click()
    lecturer.wait_for_selector("#chat-list li button.mute[disabled]", timeout=WAIT_MS)
    student.fill("#chat-form input[name=text]", "再说一句")
    student.click("#chat-form button[type=submit]")
    student.wait_for_selector("#mute-notice:not([hidden])", timeout=WAIT_MS)
    assert student.locator("#room-error").is_visible()
    assert student.locator("#mute-notice").inner_text().startswith("您在本直播间已被禁言，至 ")
    # The page's words with the time on the reader's clock, not the server's ISO time.
    assert student.locator("#room-error").inner_text() == student.locator("#mute-notice").inner_text()
    assert student.input_value("#chat-form input[name=text]") == "再说一句"  # kept to send later

    # Slow mode reaches the student's page.
    lecturer.fill("#slow-mode-form input[name=seconds]", "30")
    lecturer.click("#slow-mode-form button[type=submit]")
    student.wait_for_selector("#slow-mode:not([hidden])", timeout=WAIT_MS)
    assert student.locator("#slow-mode").inner_text() == "慢速模式：每 30 秒只能发送一条消息。"
    assert not lecturer_errors and not student_errors


def test_the_pages_reconnect_when_the_server_restarts(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world)
    lecturer, lecturer_errors = _open_room(browser, asgi_live_server, world.teacher_a.user, lecture)
    student, student_errors = _open_room(browser, asgi_live_server, world.student_a.user, lecture)

    asgi_live_server.restart()
    for page in (lecturer, student):  # each fetches a new ticket and comes back on its own
        page.wait_for_selector("#room[data-state=ready]", timeout=WAIT_MS)
    student.fill("#chat-form input[name=text]", "重连后还在")
    student.click("#chat-form button[type=submit]")
    _text_in(lecturer, "#chat-list li .text", "重连后还在")
    assert not lecturer_errors and not student_errors


def test_the_students_page_shows_the_end_of_the_lecture(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world)
    lecturer, lecturer_errors = _open_room(browser, asgi_live_server, world.teacher_a.user, lecture)
    student, student_errors = _open_room(browser, asgi_live_server, world.student_a.user, lecture)

    status = lecturer.evaluate("""async (url) => {
        const csrf = document.querySelector('meta[name=csrf-token]').content;
        const response = await fetch(url, {method: 'POST', credentials: 'same-origin',
                                           headers: {'X-CSRFToken': csrf}});
        return response.status;
    }""", f"/api/v1/lectures/{lecture.pk}/end/")
    assert status == 200
    student.wait_for_selector("#room[data-state=ended]", timeout=WAIT_MS)
    assert student.locator("#lecture-state").get_attribute("data-state") == "ended"
    assert student.locator("#play-address").is_hidden()
    assert not lecturer_errors and not student_errors


def test_a_viewer_of_an_ended_lecture_sees_why_the_room_is_closed(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world, state="ended")
    page, errors = signed_in_page(browser, asgi_live_server, world.student_a.user)
    page.goto(f"{asgi_live_server.url}/live/{lecture.pk}/")
    page.wait_for_selector("#room[data-state=refused]", timeout=WAIT_MS)
    assert page.locator("#room").get_attribute("data-close-code") == "4409"
    assert page.locator("#lecture-state").get_attribute("data-state") == "ended"
    assert page.locator("#play-address").is_hidden()
    assert not errors


def test_an_english_browser_gets_the_room_in_english(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world)
    lecturer, lecturer_errors = _open_room(browser, asgi_live_server, world.teacher_a.user, lecture,
                                           locale="en-US")
    student, student_errors = _open_room(browser, asgi_live_server, world.student_a.user, lecture,
                                         locale="en-US")

    assert student.locator("html").get_attribute("lang") == "en"
    assert student.locator("#connection").inner_text() == "Connected"
    assert student.locator("#lecture-state").inner_text() == "live"
    assert student.locator("#role").inner_text() == "viewer"
    assert lecturer.locator("#role").inner_text() == "lecturer"
    assert student.locator("#questions h2").inner_text() == "Questions to the lecturer"
    assert student.locator("#question-form button[type=submit]").inner_text() == "Ask"
    student.fill("#question-form input[name=text]", "How do we find the intervals?")
    student.click("#question-form button[type=submit]")
    _text_in(lecturer, "#question-list li .text", "How do we find the intervals?")
    assert lecturer.locator("#question-list li button.pin").inner_text() == "Pin"
    assert lecturer.locator("#question-list li button.answer").inner_text() == "Mark answered"
    assert student.locator("#question-list li button.upvote").inner_text() == "▲ Upvote"
    assert not lecturer_errors and not student_errors


def test_an_english_browser_gets_the_servers_refusals_in_english(asgi_live_server, browser):  # noqa: F811
    world = build_world()
    lecture = live_lecture(world)
    lecturer, errors = _open_room(browser, asgi_live_server, world.teacher_a.user, lecture, locale="en-US")
    for _ in range(2):  # the second push is refused: a quiz is open
        lecturer.fill("#quiz-push-form textarea[name=prompt]", "1 + 1 = ?")
        lecturer.fill("#quiz-push-form textarea[name=options]", "1\n2")
        lecturer.click("#quiz-push-form button[type=submit]")
        lecturer.wait_for_selector("#quiz[data-phase=open]", timeout=WAIT_MS)
    lecturer.wait_for_selector("#room-error:not([hidden])", timeout=WAIT_MS)
    assert lecturer.locator("#room-error").inner_text() == "Close the open quiz before pushing another."
    assert not errors

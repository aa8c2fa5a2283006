"""The courses API from the refused side first: who gets 403/404/409, what a viewer never sees."""

import datetime

import pytest
from django.utils import timezone

from courses.models import Course, Enrolment, Lecture, Resource
from courses.services import resource_submit
from tests.courses.support import PNG, build, pdf, studio_course
from tests.factories import EnrolmentFactory, StudentFactory


@pytest.fixture
def w(world):
    return build(world)


def _error(response, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["error"]["code"]


# --- catalogue -------------------------------------------------------------------------------

def test_the_catalogue_is_scoped_and_filtered(w, client_for):
    studio_only = studio_course(w)
    ids = {c["id"] for c in client_for(w.student_b.user).get("/api/v1/courses/").json()["results"]}
    assert w.course.pk in ids and studio_only.pk not in ids
    ids = {c["id"] for c in client_for(w.trainee.user).get("/api/v1/courses/").json()["results"]}
    assert {w.course.pk, studio_only.pk} <= ids
    found = client_for(w.student_b.user).get("/api/v1/courses/", {"q": "数学"}).json()["results"]
    assert [c["id"] for c in found] == [w.course.pk]
    assert client_for(w.student_b.user).get("/api/v1/courses/", {"q": "物理"}).json()["results"] == []
    assert client_for(w.student_b.user).get("/api/v1/courses/", {"studio": "abc"}).status_code == 400
    assert client_for(w.student_b.user).get(f"/api/v1/courses/{studio_only.pk}/").status_code == 404


def test_list_my_courses(w, client_for):
    client = client_for(w.student_b.user)
    assert client.get("/api/v1/courses/", {"enrolled": "me"}).json()["results"] == []
    assert client.post(f"/api/v1/courses/{w.course.pk}/enrolment/").status_code == 201
    mine = client.get("/api/v1/courses/", {"enrolled": "me"}).json()["results"]
    assert [c["id"] for c in mine] == [w.course.pk]
    detail = client.get(f"/api/v1/courses/{w.course.pk}/").json()
    assert detail["is_enrolled"] and detail["enrolled_count"] == 1 and detail["can"] == {"edit": False}
    assert _error(client.post(f"/api/v1/courses/{w.course.pk}/enrolment/"), 409) == "already_enrolled"
    assert client.delete(f"/api/v1/courses/{w.course.pk}/enrolment/").status_code == 204
    assert _error(client.delete(f"/api/v1/courses/{w.course.pk}/enrolment/"), 409) == "not_enrolled"


def test_a_student_creating_a_course_is_refused(w, client_for):
    client = client_for(w.student_a.user)
    assert _error(client.post("/api/v1/courses/", {"title": "我的课"}), 403) == "course_create_forbidden"
    response = client.post("/api/v1/courses/", {"title": "我的课", "studio": w.studio.pk})
    assert _error(response, 403) == "course_create_forbidden"
    assert Course.objects.count() == 1


def test_unknown_fields_and_bad_values_are_400(w, client_for):
    client = client_for(w.host.user)
    assert client.post("/api/v1/courses/", {"title": "x", "colour": "red"}).status_code == 400
    assert client.post("/api/v1/courses/", {"title": "x", "capacity": 0}).status_code == 400
    assert client.post("/api/v1/courses/", {"title": "x", "studio": 2**70}).status_code == 400


def test_a_member_creates_and_an_editor_publishes(w, client_for):
    response = client_for(w.member.user).post(
        "/api/v1/courses/",
        {"title": "新课程", "studio": w.studio.pk, "visibility": "school", "school": w.school_b.pk})
    assert response.status_code == 201, response.content
    course_id = response.json()["id"]
    assert response.json()["status"] == "draft" and response.json()["can"] == {"edit": True}
    assert client_for(w.student_b.user).get(f"/api/v1/courses/{course_id}/").status_code == 404
    assert client_for(w.host.user).post(f"/api/v1/courses/{course_id}/publish/").status_code == 200
    assert client_for(w.student_b.user).get(f"/api/v1/courses/{course_id}/").status_code == 200
    again = client_for(w.host.user).post(f"/api/v1/courses/{course_id}/publish/")
    assert _error(again, 409) == "course_state"


@pytest.mark.parametrize("who", ["other_member", "trainee", "county_admin_b", "student_a", "teacher_b"])
def test_editing_is_refused_to_those_who_do_not_edit(w, client_for, who):
    client = client_for(getattr(w, who).user)
    response = client.patch(f"/api/v1/courses/{w.course.pk}/", {"title": "改"})
    assert response.status_code == 403, response.content
    assert client.post(f"/api/v1/courses/{w.course.pk}/archive/").status_code == 403
    assert client.get(f"/api/v1/courses/{w.course.pk}/enrolments/").status_code == 403
    assert Course.objects.get(pk=w.course.pk).title == "初中数学名师大讲堂"


def test_a_county_admin_of_another_county_cannot_even_see_a_studio_course(w, client_for):
    course = studio_course(w)
    client = client_for(w.county_admin_b.user)
    assert client.get(f"/api/v1/courses/{course.pk}/").status_code == 404
    assert client.patch(f"/api/v1/courses/{course.pk}/", {"title": "改"}).status_code == 404
    assert client_for(w.county_admin_a.user).patch(f"/api/v1/courses/{course.pk}/",
                                                   {"title": "改"}).status_code == 200


def test_cover_upload_checks_type_and_content(w, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(w.host.user)
    url = f"/api/v1/courses/{w.course.pk}/cover/"
    bad = pdf("cover.png", b"not an image at all")
    assert _error(client.post(url, {"cover": bad}, format="multipart"), 400) == "file_content_mismatch"
    assert _error(client.post(url, {"cover": pdf()}, format="multipart"), 400) == "unsupported_file_type"
    response = client.post(url, {"cover": pdf("cover.png", PNG)}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["cover_url"].startswith("/media/courses/covers/")
    member = client_for(w.member.user).post(url, {"cover": pdf("c.png", PNG)}, format="multipart")
    assert member.status_code == 200
    other = client_for(w.other_member.user).post(url, {"cover": pdf("c.png", PNG)}, format="multipart")
    assert other.status_code == 403


def test_the_roster_hides_real_names_of_students_of_other_schools(w, client_for):
    EnrolmentFactory(course=w.course, user=w.student_a.user)
    EnrolmentFactory(course=w.course, user=w.student_b.user)
    rows = client_for(w.host.user).get(f"/api/v1/courses/{w.course.pk}/enrolments/").json()["results"]
    names = {row["user"]: row["real_name"] for row in rows}
    assert names[w.student_a.user_id] == w.student_a.real_name  # the host teaches at school_a
    assert names[w.student_b.user_id] is None
    rows = client_for(w.county_admin_a.user).get(
        f"/api/v1/courses/{w.course.pk}/enrolments/").json()["results"]
    assert {row["user"]: row["real_name"] for row in rows}[w.student_b.user_id] is None


# --- lectures --------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["student_a", "student_b", "trainee", "county_admin_b", "other_member"])
def test_a_viewer_never_sees_the_push_url(w, client_for, who):
    client = client_for(getattr(w, who).user)
    detail = client.get(f"/api/v1/lectures/{w.lecture.pk}/").json()
    assert detail["stream_push_url"] is None and detail["stream_play_url"]
    rows = client.get("/api/v1/lectures/").json()["results"]
    assert all(row["stream_push_url"] is None for row in rows)
    assert b"KEY-123" not in client.get(f"/api/v1/courses/{w.course.pk}/lectures/").content


@pytest.mark.parametrize("who", ["lecturer", "assistant", "host", "member", "county_admin_a"])
def test_staff_and_editors_see_the_push_url(w, client_for, who):
    detail = client_for(getattr(w, who).user).get(f"/api/v1/lectures/{w.lecture.pk}/").json()
    assert detail["stream_push_url"] == "rtmp://push.example.com/live/KEY-123"


def test_lecture_crud_and_transitions_over_the_api(w, client_for):
    client = client_for(w.host.user)
    start = timezone.now() + datetime.timedelta(days=5)
    response = client.post(f"/api/v1/courses/{w.course.pk}/lectures/", {
        "title": "新讲", "starts_at": start.isoformat(),
        "ends_at": (start - datetime.timedelta(hours=1)).isoformat()})
    assert _error(response, 400) == "lecture_times_invalid"
    response = client.post(f"/api/v1/courses/{w.course.pk}/lectures/", {
        "title": "新讲", "starts_at": start.isoformat(),
        "ends_at": (start + datetime.timedelta(hours=1)).isoformat()})
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert client_for(w.student_b.user).get(f"/api/v1/lectures/{pk}/").status_code == 404  # a draft
    assert _error(client.post(f"/api/v1/lectures/{pk}/go-live/"), 409) == "lecture_state"
    response = client.post(f"/api/v1/lectures/{pk}/staff/", {"teacher": w.member.pk, "role": "lecturer"})
    assert response.status_code == 201, response.content
    assert _error(client.post(f"/api/v1/lectures/{pk}/staff/", {"teacher": w.member.pk, "role": "assistant"}),
                  409) == "lecture_staff_exists"
    assert client.post(f"/api/v1/lectures/{pk}/schedule/").status_code == 200
    assert client_for(w.member.user).post(f"/api/v1/lectures/{pk}/go-live/").json()["state"] == "live"
    assert client_for(w.member.user).post(f"/api/v1/lectures/{pk}/end/").json()["state"] == "ended"
    assert client.post(f"/api/v1/lectures/{pk}/replay/", {"replay_url": "no url"}).status_code == 400
    response = client.post(f"/api/v1/lectures/{pk}/replay/", {"replay_url": "https://v.example.com/r"})
    assert response.json()["state"] == "replay"
    assert _error(client.delete(f"/api/v1/lectures/{pk}/"), 409) == "lecture_state"


@pytest.mark.parametrize("who", ["student_b", "trainee", "other_member"])
def test_lecture_writes_are_refused_to_viewers(w, client_for, who):
    client = client_for(getattr(w, who).user)
    start = timezone.now() + datetime.timedelta(days=5)
    response = client.post(f"/api/v1/courses/{w.course.pk}/lectures/", {
        "title": "x", "starts_at": start.isoformat(),
        "ends_at": (start + datetime.timedelta(hours=1)).isoformat()})
    assert response.status_code == 403
    assert client.patch(f"/api/v1/lectures/{w.lecture.pk}/", {"title": "x"}).status_code == 403
    assert client.post(f"/api/v1/lectures/{w.lecture.pk}/go-live/").status_code == 403
    assert client.post(f"/api/v1/lectures/{w.lecture.pk}/cancel/").status_code == 403
    assert client.post(f"/api/v1/lectures/{w.lecture.pk}/staff/",
                       {"teacher": w.teacher_b.pk, "role": "assistant"}).status_code == 403
    assert Lecture.objects.get(pk=w.lecture.pk).state == Lecture.State.SCHEDULED


# --- resources -------------------------------------------------------------------------------

def test_resource_upload_review_and_download(w, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    member = client_for(w.member.user)
    response = member.post("/api/v1/resources/", {"title": "课件", "studio": w.studio.pk, "file": pdf()},
                           format="multipart")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    # pending: the submitter and the reviewers only
    assert client_for(w.student_a.user).get(f"/api/v1/resources/{pk}/download/").status_code == 404
    assert client_for(w.trainee.user).get(f"/api/v1/resources/{pk}/").status_code == 404
    assert client_for(w.host.user).get(f"/api/v1/resources/{pk}/").status_code == 200
    assert _error(member.post(f"/api/v1/resources/{pk}/approve/"), 403) == "resource_own_review"
    assert client_for(w.county_admin_b.user).post(f"/api/v1/resources/{pk}/approve/").status_code == 404
    assert client_for(w.host.user).post(f"/api/v1/resources/{pk}/approve/").json()["state"] == "approved"
    download = client_for(w.student_a.user).get(f"/api/v1/resources/{pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == pdf().read()
    assert "attachment" in download["Content-Disposition"] and download["Content-Type"] == "application/pdf"


def test_a_lecture_resource_follows_the_lecture(w, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    course = studio_course(w)
    start = timezone.now() + datetime.timedelta(days=1)
    lecture = Lecture.objects.create(course=course, title="内部", starts_at=start,
                                     ends_at=start + datetime.timedelta(hours=1), state="scheduled",
                                     created_by=w.host.user)
    resource = resource_submit(actor=w.host.user, upload=pdf(), title="内部讲义", lecture=lecture)
    Resource.objects.filter(pk=resource.pk).update(state="approved", published_at=timezone.now())
    assert client_for(w.trainee.user).get(f"/api/v1/resources/{resource.pk}/download/").status_code == 200
    assert client_for(w.student_a.user).get(f"/api/v1/resources/{resource.pk}/download/").status_code == 404


def test_resource_upload_refusals(w, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(w.member.user)
    both = client.post("/api/v1/resources/", {"title": "x", "studio": w.studio.pk, "lecture": w.lecture.pk,
                                              "file": pdf()}, format="multipart")
    assert both.status_code == 400
    renamed = client.post("/api/v1/resources/", {"title": "x", "studio": w.studio.pk,
                                                 "file": pdf("slides.pdf", b"MZ\x90\x00binary")},
                          format="multipart")
    assert _error(renamed, 400) == "file_content_mismatch"
    refused = client_for(w.student_a.user).post("/api/v1/resources/", {"title": "x", "studio": w.studio.pk,
                                                                        "file": pdf()}, format="multipart")
    assert refused.status_code == 403
    assert not Resource.objects.exists()


# --- calendar --------------------------------------------------------------------------------

def test_calendar_feed_lists_my_lectures_and_rotates(w, client_for, api_client):
    EnrolmentFactory(course=w.course, user=w.student_b.user)
    Lecture.objects.filter(pk=w.lecture.pk).update(title="函数, 图像; 与\\性质")
    client = client_for(w.student_b.user)
    url = client.get("/api/v1/calendar/ics-token/").json()["url"]
    assert client.get("/api/v1/calendar/ics-token/").json()["url"] == url
    path = url.split("testserver", 1)[1]
    feed = api_client.get(path)
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    body = feed.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert f"UID:lecture-{w.lecture.pk}@xuewen" in body
    assert "SUMMARY:函数\\, 图像\\; 与\\\\性质" in body
    start = Lecture.objects.get(pk=w.lecture.pk).starts_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTART:{start}" in body and "STATUS:CONFIRMED" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))

    Lecture.objects.filter(pk=w.lecture.pk).update(state="cancelled")
    assert "STATUS:CANCELLED" in api_client.get(path).content.decode()

    new_url = client.post("/api/v1/calendar/ics-token/").json()["url"]
    assert new_url != url
    assert api_client.get(path).status_code == 404  # rotated: the old address is dead
    assert api_client.get(new_url.split("testserver", 1)[1]).status_code == 200
    assert client.delete("/api/v1/calendar/ics-token/").status_code == 204
    assert api_client.get(new_url.split("testserver", 1)[1]).status_code == 404


def test_a_bad_token_is_a_404(db, api_client):
    assert api_client.get("/calendar/not-a-token.ics").status_code == 404
    assert api_client.get("/calendar/" + "x" * 300 + ".ics").status_code == 404


def test_the_feed_shows_lectures_i_teach_but_not_others(w, client_for, api_client):
    url = client_for(w.assistant.user).get("/api/v1/calendar/ics-token/").json()["url"]
    assert f"lecture-{w.lecture.pk}@" in api_client.get(url.split("testserver", 1)[1]).content.decode()
    stranger = StudentFactory(school=w.school_b)
    url = client_for(stranger.user).get("/api/v1/calendar/ics-token/").json()["url"]
    assert "VEVENT" not in api_client.get(url.split("testserver", 1)[1]).content.decode()
    assert Enrolment.objects.count() == 0


def test_list_endpoints_do_not_query_per_row(w, client_for, django_assert_max_num_queries):
    from tests.factories import LectureFactory, LectureStaffFactory

    client = client_for(w.county_admin_a.user)
    for _ in range(12):
        lecture = LectureFactory(course=w.course, state="scheduled")
        LectureStaffFactory(lecture=lecture)
        studio_course(w, visibility="city")
    with django_assert_max_num_queries(14):
        assert len(client.get("/api/v1/lectures/").json()["results"]) == 13
    with django_assert_max_num_queries(12):
        assert len(client.get("/api/v1/courses/").json()["results"]) == 13


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "yesterday"])
def test_lecture_time_filters_refuse_unusable_instants(w, client_for, value):
    response = client_for(w.student_b.user).get("/api/v1/lectures/", {"starts_after": value})
    assert response.status_code == 400, response.content


def test_an_offset_postgresql_cannot_parse_is_turned_to_utc_first(w, client_for):
    # PostgreSQL refuses offsets beyond ±15:59 that Python parses; the filter sends UTC.
    client = client_for(w.student_b.user)
    response = client.get("/api/v1/lectures/", {"starts_after": "2026-01-01T00:00:00-17:21"})
    assert response.status_code == 200, response.content


def test_lecture_time_filters_accept_any_offset_as_the_same_instant(w, client_for):
    client = client_for(w.student_b.user)
    utc = client.get("/api/v1/lectures/", {"starts_after": "2020-01-01T00:00:00Z"})
    shifted = client.get("/api/v1/lectures/", {"starts_after": "2020-01-01T08:00:00+08:00"})
    assert utc.status_code == shifted.status_code == 200
    assert utc.json()["results"] == shifted.json()["results"]

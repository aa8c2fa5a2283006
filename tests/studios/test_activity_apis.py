import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from service_records.models import ServiceEvent
from studios.activities.models import Activity, ActivityAttachment, LeaveRequest
from studios.models import Membership
from tests.studios.activity_helpers import (
    after,
    announced,
    build_activity_world,
    plan,
    published,
    soon,
    submitted,
    travel,
)
from tests.studios.test_apis import assert_error, english

ACTIVITIES = "/api/v1/activities/"


@pytest.fixture
def s(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return build_activity_world(world)


def url(activity, tail=""):
    return f"{ACTIVITIES}{activity.pk}/{tail}"


# --- create, read, list ------------------------------------------------------------------------

def test_the_host_plans_an_activity_through_the_api(s, client_for):
    starts = soon()
    response = client_for(s.host.user).post(ACTIVITIES, {
        "studio": s.studio.pk, "kind": "open_lesson", "title": "研究课：勾股定理",
        "notice": "请全体学员参加。", "place": "报告厅", "starts_at": starts.isoformat(),
        "ends_at": (starts + datetime.timedelta(hours=1)).isoformat(), "presenters": [s.members[0].pk],
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "draft" and [p["id"] for p in body["presenters"]] == [s.members[0].pk]
    assert body["can"] == {"manage": True, "write_report": True, "review": False}


@pytest.mark.parametrize("payload", [
    {"kind": "party"},
    {"starts_at": "not a time"},
    {"presenters": ["x"]},
    {"presenters": [2**70]},
    {"studio": 2**70},
    {"surprise": 1},
])
def test_bad_input_is_a_400(s, client_for, payload):
    starts = soon()
    body = {"studio": s.studio.pk, "kind": "guidance", "title": "t", "place": "p",
            "starts_at": starts.isoformat(), "ends_at": (starts + datetime.timedelta(hours=1)).isoformat()}
    body.update(payload)
    response = client_for(s.host.user).post(ACTIVITIES, body, format="json")
    assert response.status_code == 400, response.content
    assert not Activity.objects.exists()


@pytest.mark.parametrize("who", ["trainee", "member", "teacher_b", "county_admin_b", "school_admin_a"])
def test_planning_is_refused_to_others(s, client_for, who):
    user = {"trainee": s.trainees[0].user, "member": s.members[0].user}.get(who) or getattr(s.world, who).user
    starts = soon()
    response = client_for(user).post(ACTIVITIES, {
        "studio": s.studio.pk, "kind": "guidance", "title": "t", "place": "p",
        "starts_at": starts.isoformat(), "ends_at": (starts + datetime.timedelta(hours=1)).isoformat()},
        format="json")
    assert_error(response, 403)


def test_drafts_are_hidden_and_reports_shown_once_published(s, client_for, monkeypatch):
    draft = plan(s, title="草稿")
    notice = announced(s, title="通知")
    done = published(s, monkeypatch, title="已发布")
    outsider = client_for(s.world.teacher_b.user)
    titles = {row["title"] for row in outsider.get(ACTIVITIES).json()["results"]}
    assert titles == {"通知", "已发布"}
    assert_error(outsider.get(url(draft)), 404)
    assert outsider.get(url(done)).json()["report"] == "活动顺利开展。"
    assert outsider.get(url(notice)).json()["report"] is None
    host_titles = {row["title"] for row in client_for(s.host.user).get(ACTIVITIES).json()["results"]}
    assert host_titles == {"草稿", "通知", "已发布"}
    by_state = client_for(s.office).get(ACTIVITIES, {"state": "published", "studio": s.studio.pk}).json()
    assert [row["title"] for row in by_state["results"]] == ["已发布"]


def test_list_filters_refuse_bad_values(s, client_for):
    client = client_for(s.host.user)
    for params in [{"studio": "x"}, {"state": "nope"}, {"starts_after": "yesterday"}, {"presenter": 2**70},
                   {"starts_before": "0915-12-23T14:08:29.112756-17:21"},
                   {"starts_after": "0001-01-01T00:00:00+17:00"}]:
        assert_error(client.get(ACTIVITIES, params), 400)
    # an offset PostgreSQL would refuse is taken as the instant it names
    response = client.get(ACTIVITIES, {"starts_after": "2020-01-01T00:00:00-17:21"})
    assert response.status_code == 200, response.content


# --- transitions through the API ---------------------------------------------------------------

def test_the_trail_through_the_api(s, client_for, monkeypatch):
    activity = plan(s, presenters=[s.members[0]])
    host = client_for(s.host.user)
    assert host.post(url(activity, "notice/"), {}, format="json").json()["state"] == "announced"
    trainee = client_for(s.trainees[0].user)
    response = trainee.post(url(activity, "leave-requests/"), {"reason": "生病"}, format="json")
    assert response.status_code == 201, response.content
    leave_id = response.json()["id"]
    mine = trainee.get(url(activity, "leave-requests/")).json()["results"]
    assert [row["id"] for row in mine] == [leave_id]
    # another trainee sees only their own requests
    assert client_for(s.trainees[1].user).get(url(activity, "leave-requests/")).json()["results"] == []
    decided = host.post(url(activity, f"leave-requests/{leave_id}/decide/"), {"decision": "approve"},
                        format="json")
    assert decided.json()["state"] == "approved"

    travel(monkeypatch, after(activity))
    response = host.post(url(activity, "report/"), {"report": "报道", "present": [s.trainees[1].pk]},
                         format="json")
    assert response.json()["state"] == "submitted", response.content
    attendance = host.get(url(activity, "attendance/")).json()["results"]
    assert sorted(row["status"] for row in attendance) == ["absent", "excused", "present"]
    own = trainee.get(url(activity, "attendance/")).json()["results"]
    assert [row["status"] for row in own] == ["excused"]

    office = client_for(s.office)
    assert office.get(url(activity)).json()["can"]["review"] is True
    response = office.post(url(activity, "review/"), {"decision": "approve"}, format="json")
    assert response.json()["state"] == "published", response.content
    assert ServiceEvent.objects.filter(teacher_id=s.members[0].pk, kind__code="studio_activity").count() == 1
    assert_error(office.post(url(activity, "review/"), {"decision": "approve"}, format="json"), 409,
                 "activity_state")


def test_publishing_a_notice_after_the_start_answers_409(s, client_for, monkeypatch):
    activity = plan(s)
    travel(monkeypatch, activity.starts_at + datetime.timedelta(seconds=1))
    assert_error(client_for(s.host.user).post(url(activity, "notice/"), {}, format="json"), 409,
                 "activity_started")


def test_a_trainee_editing_a_notice_is_refused(s, client_for):
    activity = announced(s)
    response = client_for(s.trainees[0].user).patch(url(activity), {"notice": "改了"}, format="json")
    assert_error(response, 403)
    assert Activity.objects.get(pk=activity.pk).notice != "改了"


def test_a_member_approving_their_own_report_is_refused(s, client_for, monkeypatch):
    activity = submitted(s, monkeypatch, kind=Activity.Kind.MEMBER_REPORT, presenters=[s.members[0]])
    response = client_for(s.members[0].user).post(url(activity, "review/"), {"decision": "approve"},
                                                  format="json")
    assert_error(response, 403)
    assert not ServiceEvent.objects.exists()


def test_a_county_admin_of_another_county_cannot_review(s, client_for, monkeypatch):
    activity = submitted(s, monkeypatch)
    response = english(client_for(s.world.county_admin_b.user)).post(
        url(activity, "review/"), {"decision": "approve"}, format="json")
    error = assert_error(response, 403, "activity_review_forbidden")
    assert "review the reports" in error["message"]


def test_returning_needs_a_comment(s, client_for, monkeypatch):
    activity = submitted(s, monkeypatch)
    office = client_for(s.office)
    assert_error(office.post(url(activity, "review/"), {"decision": "return"}, format="json"), 400,
                 "activity_comment_required")
    assert_error(office.post(url(activity, "review/"), {"decision": "maybe"}, format="json"), 400)
    response = office.post(url(activity, "review/"), {"decision": "return", "comment": "缺照片"},
                           format="json")
    assert response.json()["state"] == "returned"


def test_leave_for_someone_else_and_after_the_start_are_refused(s, client_for, monkeypatch):
    activity = announced(s)
    trainee = client_for(s.trainees[0].user)
    assert_error(trainee.post(url(activity, "leave-requests/"), {"reason": "x", "trainee": s.trainees[1].pk},
                              format="json"), 403, "leave_for_someone_else")
    travel(monkeypatch, activity.starts_at)
    assert_error(trainee.post(url(activity, "leave-requests/"), {"reason": "x"}, format="json"), 409,
                 "activity_started")
    assert not LeaveRequest.objects.exists()


def test_a_member_cannot_decide_leave(s, client_for):
    activity = announced(s)
    trainee = client_for(s.trainees[0].user)
    leave_id = trainee.post(url(activity, "leave-requests/"), {"reason": "x"}, format="json").json()["id"]
    response = client_for(s.members[0].user).post(url(activity, f"leave-requests/{leave_id}/decide/"),
                                                  {"decision": "approve"}, format="json")
    assert_error(response, 403)
    assert LeaveRequest.objects.get(pk=leave_id).state == "pending"


def test_the_attendance_of_a_report_is_hidden_from_outsiders(s, client_for, monkeypatch):
    activity = submitted(s, monkeypatch)
    assert client_for(s.world.teacher_b.user).get(url(activity, "attendance/")).json()["results"] == []
    assert len(client_for(s.office).get(url(activity, "attendance/")).json()["results"]) == 3


# --- attachments --------------------------------------------------------------------------------

def _file(name="photo.jpg", content=b"\xff\xd8\xff data"):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_report_files_are_checked_and_stored(s, client_for, monkeypatch):
    activity = announced(s)
    travel(monkeypatch, after(activity))
    host = client_for(s.host.user)
    response = host.post(url(activity, "attachments/"), {"file": _file()}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["original_name"] == "photo.jpg"
    assert_error(host.post(url(activity, "attachments/"), {"file": _file("run.exe")}, format="multipart"),
                 400, "attachment_type")
    with override_settings(STUDIO_ACTIVITY_ATTACHMENT_MAX_BYTES=4):
        assert_error(host.post(url(activity, "attachments/"), {"file": _file()}, format="multipart"), 400,
                     "attachment_too_large")
    assert_error(host.post(url(activity, "attachments/"), {}, format="multipart"), 400)
    assert_error(client_for(s.trainees[0].user).post(url(activity, "attachments/"), {"file": _file()},
                                                     format="multipart"), 403)
    # hidden from outsiders until published
    assert_error(client_for(s.world.teacher_b.user).get(url(activity, "attachments/")), 403)
    [attachment] = ActivityAttachment.objects.filter(activity=activity)
    assert attachment.file.storage.exists(attachment.file.name)
    # Files come through the application, which checks who may see the report.
    download = host.get(response_url := url(activity, f"attachments/{attachment.pk}/"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\xff\xd8\xff data"
    assert host.get(url(activity, "attachments/")).json()["results"][0]["url"] == response_url
    assert_error(client_for(s.world.teacher_b.user).get(response_url), 403)
    assert_error(client_for(s.trainees[0].user).get(url(activity, "attachments/999999/")), 403)
    response = host.delete(url(activity, f"attachments/{attachment.pk}/"))
    assert response.status_code == 204
    assert not ActivityAttachment.objects.exists()


def test_files_cannot_change_once_submitted(s, client_for, monkeypatch):
    activity = submitted(s, monkeypatch)
    assert_error(client_for(s.host.user).post(url(activity, "attachments/"), {"file": _file()},
                                              format="multipart"), 409, "activity_state")


# --- duties and statistics ---------------------------------------------------------------------

def test_duties_and_statistics_endpoints(s, client_for, monkeypatch):
    activity = published(s, monkeypatch, kind=Activity.Kind.MEMBER_REPORT, presenters=[s.members[0]])
    year = activity.starts_at.year
    client = client_for(s.world.teacher_b.user)
    duties = client.get(f"/api/v1/studios/{s.studio.pk}/duties/", {"year": year}).json()
    reports = {row["teacher"]["id"]: row for row in duties["member_reports"]}
    assert reports[s.members[0].pk]["done"] == 1 and reports[s.members[0].pk]["required"] == 2
    assert duties["offline_activities"] == {"done": 1, "required": 5, "met": False}
    stats = client.get(f"/api/v1/studios/{s.studio.pk}/statistics/", {"year": year}).json()
    assert stats["year_figures"]["activities_by_kind"]["member_report"] == 1
    assert stats["year_figures"]["members_service"] == "1.00"
    for bad in ["x", "1999", "99999"]:
        assert_error(client.get(f"/api/v1/studios/{s.studio.pk}/duties/", {"year": bad}), 400)
        assert_error(client.get(f"/api/v1/studios/{s.studio.pk}/statistics/", {"year": bad}), 400)
    assert_error(client.get("/api/v1/studios/987654/duties/"), 404)


def test_statistics_list_is_for_administrators_in_scope(s, client_for, monkeypatch):
    published(s, monkeypatch)
    year = Activity.objects.get().starts_at.year
    assert_error(client_for(s.host.user).get("/api/v1/studio-statistics/"), 403)
    mine = client_for(s.office).get("/api/v1/studio-statistics/", {"year": year}).json()["results"]
    assert [(row["id"], row["figures"]["activities"]) for row in mine] == [(s.studio.pk, 1)]
    assert client_for(s.world.county_admin_b.user).get("/api/v1/studio-statistics/").json()["results"] == []


def test_a_trainee_whose_absences_reached_the_limit_leaves_the_roster(s, client_for, monkeypatch):
    present = [t.pk for t in s.trainees[1:]]
    published(s, monkeypatch, present=present)
    monkeypatch.undo()
    published(s, monkeypatch, present=present, starts_at=soon(3))
    roster = client_for(s.host.user).get(f"/api/v1/studios/{s.studio.pk}/members/",
                                         {"role": "trainee", "include_past": "true"}).json()["results"]
    ended = [row for row in roster if row["left_on"]]
    assert [(row["teacher"]["id"], row["left_reason"]) for row in ended] == [
        (s.trainees[0].pk, Membership.LeaveReason.ABSENCES)]


def test_the_list_takes_the_same_queries_for_one_activity_or_many(s, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    announced(s, presenters=[s.host])
    client = client_for(s.world.teacher_b.user)
    client.get(ACTIVITIES)  # warm: the first request of a user fills caches
    with CaptureQueriesContext(connection) as one:
        assert client.get(ACTIVITIES).status_code == 200
    for days in (3, 4, 5):
        announced(s, presenters=[s.host, *s.members], starts_at=soon(days), kind=Activity.Kind.OUTREACH,
                  served_school=s.world.school_b)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(ACTIVITIES).json()["results"]) == 4
    assert len(many) == len(one)


def test_studio_kinds_show_their_duty_numbers(s, client_for):
    body = client_for(s.world.student_a.user).get("/api/v1/studio-kinds/").json()
    [kind] = [k for k in body["results"] if k["id"] == s.studio.kind_id]
    assert (kind["trainee_absence_limit"], kind["member_reports_per_year"], kind["research_lessons_per_term"],
            kind["offline_activities_per_cycle"]) == (2, 2, 1, 5)

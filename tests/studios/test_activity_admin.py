import pytest

from service_records.models import ServiceEvent
from studios.activities.models import Activity
from tests.studios.activity_helpers import build_activity_world, published, submitted
from tests.studios.test_admin import admin_client

PAGES = ["activity", "activityattachment", "activityreview", "attendance", "leaverequest", "studiostatistics"]


@pytest.fixture
def s(world):
    return build_activity_world(world)


@pytest.mark.parametrize("page", PAGES)
def test_every_activity_page_opens_for_administrators(s, monkeypatch, page):
    published(s, monkeypatch, title="课例研讨：概率初步")
    for user in [s.root, s.office, s.world.school_admin_a.user]:
        response = admin_client(user).get(f"/admin/studios/{page}/")
        assert response.status_code == 200, (user, page)


def test_administrators_see_only_their_regions_activities(s, monkeypatch):
    activity = published(s, monkeypatch, title="课例研讨：概率初步")
    assert "课例研讨：概率初步" in admin_client(s.office).get("/admin/studios/activity/").content.decode()
    other = admin_client(s.world.county_admin_b.user)
    assert "课例研讨：概率初步" not in other.get("/admin/studios/activity/").content.decode()
    assert other.get(f"/admin/studios/activity/{activity.pk}/change/").status_code in (302, 404)
    assert admin_client(s.office).get(f"/admin/studios/activity/{activity.pk}/change/").status_code == 200


def test_statistics_page_shows_the_years_figures(s, monkeypatch):
    activity = published(s, monkeypatch)
    page = admin_client(s.office).get("/admin/studios/studiostatistics/",
                                      {"year": activity.starts_at.year}).content.decode()
    assert s.studio.name in page
    assert "1.00" in page  # the host's service for the activity


def test_statistics_page_shows_each_studios_cycle_figures(s, monkeypatch):
    published(s, monkeypatch)
    client = admin_client(s.office)
    page = client.get("/admin/studios/studiostatistics/", {"year": "cycle"}).content.decode()
    assert s.studio.name in page
    assert "1.00" in page  # the host's service for the activity, inside the studio's cycle
    assert "1.00" not in client.get("/admin/studios/studiostatistics/", {"year": "2001"}).content.decode()


def test_the_office_approves_through_the_admin_action(s, monkeypatch):
    activity = submitted(s, monkeypatch)
    response = admin_client(s.office).post("/admin/studios/activity/", {
        "action": "approve_reports", "_selected_action": [activity.pk]})
    assert response.status_code == 302
    assert Activity.objects.get(pk=activity.pk).state == "published"
    assert ServiceEvent.objects.filter(source_id=str(activity.pk)).count() == 1


def test_the_admin_action_keeps_the_rules(s, monkeypatch):
    activity = submitted(s, monkeypatch)
    admin_client(s.world.school_admin_a.user).post("/admin/studios/activity/", {
        "action": "approve_reports", "_selected_action": [activity.pk]})
    assert Activity.objects.get(pk=activity.pk).state == "submitted"

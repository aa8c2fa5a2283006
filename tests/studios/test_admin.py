import pytest
from django.test import Client

from studios.models import Membership, Studio
from tests.studios.factories import StudioKindFactory, add, make_studio, teachers_elsewhere


@pytest.fixture
def studios(world):
    a = make_studio(host=world.teacher_a, name="鹿城数学名师工作室")
    b = make_studio(host=world.teacher_b, name="泰顺科学名师工作室")
    add(a, teachers_elsewhere(world.county_b, 1))
    return a, b


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_county_administrator_sees_only_their_countys_studios_and_memberships(world, studios):
    client = admin_client(world.county_admin_a.user)
    page = client.get("/admin/studios/studio/").content.decode()
    assert "鹿城数学名师工作室" in page and "泰顺科学名师工作室" not in page
    page = client.get("/admin/studios/membership/").content.decode()
    assert "鹿城数学名师工作室" in page and "泰顺科学名师工作室" not in page
    assert client.get(f"/admin/studios/studio/{studios[1].pk}/change/").status_code in (302, 404)


def test_changes_in_the_admin_go_through_the_service_and_are_audited(world, studios):
    studio = studios[0]
    client = admin_client(world.county_admin_a.user)
    url = f"/admin/studios/studio/{studio.pk}/change/"
    form = {"name": studio.name, "subject": "", "stage": "", "description": "单元整体教学",
            "cycle_start": "2025-09-01", "cycle_end": "2028-09-01",
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    studio.refresh_from_db()
    assert studio.description == "单元整体教学"
    assert studio.history.latest().history_user == world.county_admin_a.user

    form["cycle_end"] = "2025-01-01"  # before the start: the form says so, nothing is saved
    response = client.post(url, form)
    assert response.status_code == 200
    studio.refresh_from_db()
    assert str(studio.cycle_end) == "2028-09-01"


def test_school_administrators_only_read_and_nobody_adds_rows_by_hand(world, studios):
    client = admin_client(world.school_admin_a.user)
    studio = studios[0]
    response = client.post(f"/admin/studios/studio/{studio.pk}/change/", {"name": "改名", "description": "x"})
    assert response.status_code == 403
    studio.refresh_from_db()
    assert studio.name == "鹿城数学名师工作室"
    assert client.get(f"/admin/studios/studio/{studio.pk}/change/").status_code == 200  # view only
    for url in ["/admin/studios/studio/add/", "/admin/studios/membership/add/"]:
        assert admin_client(world.city_admin.user).get(url).status_code == 403


def test_only_superusers_edit_kinds(world, studios):
    kind = StudioKindFactory()
    client = admin_client(world.city_admin.user)
    assert client.get("/admin/studios/studiokind/").status_code == 200
    response = client.post(f"/admin/studios/studiokind/{kind.pk}/change/", {"code": kind.code, "name": "改"})
    assert response.status_code == 403


def test_close_action_ends_memberships(world, studios):
    client = admin_client(world.county_admin_a.user)
    response = client.post("/admin/studios/studio/", {
        "action": "close_studios", "_selected_action": [s.pk for s in studios]})
    assert response.status_code == 302
    assert Studio.objects.get(pk=studios[0].pk).status == "closed"
    assert Studio.objects.get(pk=studios[1].pk).status == "active"  # out of the county admin's scope
    assert not Membership.objects.filter(studio=studios[0], left_on__isnull=True).exists()

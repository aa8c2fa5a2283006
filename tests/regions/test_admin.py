"""Places in the Django admin, from the side of the administrator who must be refused."""

from regions.models import Region, School
from tests.common.admin_support import admin_client, refused, superuser


def listed(client, url) -> set:
    response = client.get(url)
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


def school_form(school=None, **changes) -> dict:
    data = {"code": school.code if school else "S-NEW", "name": school.name if school else "新学校",
            "county": school.county_id if school else "", "stages": []}
    data.update(changes)
    return data


def test_county_administrator_sees_only_their_countys_schools(world):
    client = admin_client(world.county_admin_a.user)
    assert listed(client, "/admin/regions/school/") == {world.school_a}
    city_schools = listed(admin_client(world.city_admin.user), "/admin/regions/school/")
    assert city_schools == {world.school_a, world.school_b}
    for url in [f"/admin/regions/school/{world.school_b.pk}/change/",
                f"/admin/regions/school/{world.school_b.pk}/history/"]:
        response = client.get(url)
        assert refused(response), url
        assert world.school_b.name not in response.content.decode()


def test_county_administrator_cannot_create_or_move_a_school_into_another_county(world):
    client = admin_client(world.county_admin_a.user)
    response = client.post("/admin/regions/school/add/", school_form(county=world.county_b.pk))
    assert response.status_code == 200 and response.context["adminform"].form.errors.get("county")
    assert not School.objects.filter(code="S-NEW").exists()

    response = client.post(f"/admin/regions/school/{world.school_a.pk}/change/",
                           school_form(world.school_a, county=world.county_b.pk))
    assert response.status_code == 200 and response.context["adminform"].form.errors.get("county")
    world.school_a.refresh_from_db()
    assert world.school_a.county_id == world.county_a.pk

    response = client.post(f"/admin/regions/school/{world.school_b.pk}/change/",
                           school_form(world.school_b, name="改名"))
    assert refused(response)
    world.school_b.refresh_from_db()
    assert world.school_b.name != "改名"


def test_county_administrator_adds_a_school_in_their_county(world):
    response = admin_client(world.county_admin_a.user).post(
        "/admin/regions/school/add/", school_form(county=world.county_a.pk))
    assert response.status_code == 302
    school = School.objects.get(code="S-NEW")
    assert school.city_id == world.city.pk
    assert school.history.latest().history_user == world.county_admin_a.user


def test_school_code_is_fixed_for_administrators(world):
    client = admin_client(world.county_admin_a.user)
    response = client.post(f"/admin/regions/school/{world.school_a.pk}/change/",
                           school_form(world.school_a, code="HIJACK", name="新名字"))
    assert response.status_code == 302
    world.school_a.refresh_from_db()
    assert world.school_a.code == "S-A" and world.school_a.name == "新名字"


def test_school_administrator_reads_their_school_and_nothing_else(world):
    client = admin_client(world.school_admin_a.user)
    assert client.get(f"/admin/regions/school/{world.school_a.pk}/change/").status_code == 200
    response = client.post(f"/admin/regions/school/{world.school_a.pk}/change/",
                           school_form(world.school_a, name="改名"))
    assert response.status_code == 403
    assert refused(client.get(f"/admin/regions/school/{world.school_b.pk}/change/"))
    assert client.get("/admin/regions/school/add/").status_code == 403
    assert client.get("/admin/regions/region/").status_code == 403
    world.school_a.refresh_from_db()
    assert world.school_a.name == "鹿城实验中学"


def test_regions_are_scoped_and_changed_only_by_superusers(world):
    assert listed(admin_client(world.county_admin_a.user), "/admin/regions/region/") == {world.county_a}
    client = admin_client(world.city_admin.user)
    assert listed(client, "/admin/regions/region/") == {world.city, world.county_a, world.county_b}
    assert refused(client.get(f"/admin/regions/region/{world.other_county.pk}/change/"))

    form = {"kind": "county", "code": world.county_a.code, "name": "改名区", "parent": world.city.pk}
    assert client.post(f"/admin/regions/region/{world.county_a.pk}/change/", form).status_code == 403
    assert client.post("/admin/regions/region/add/", {**form, "code": "NEW"}).status_code == 403
    assert not Region.objects.filter(name="改名区").exists()

    response = admin_client(superuser()).post(f"/admin/regions/region/{world.county_a.pk}/change/", form)
    assert response.status_code == 302
    world.county_a.refresh_from_db()
    assert world.county_a.name == "改名区"

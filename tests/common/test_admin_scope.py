"""common.admin.ScopedAdmin as every app uses it: registration, reference data, history pages,
and the backstop that refuses a save leaving the administrator's scope."""

import pytest
from django.apps import apps
from django.contrib import admin

from accounts.admin import StudentProfileAdmin
from accounts.models import StudentProfile
from common.admin import ScopedAdmin
from regions.models import Subject
from tests.common.admin_support import admin_client, staff_without_profile, superuser
from tests.factories import GradeFactory, SchoolStageFactory

OUR_APPS = ["accounts", "regions"]


def test_every_model_of_accounts_and_regions_is_registered_scoped():
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue
            assert admin.site.is_registered(model), model
            assert isinstance(admin.site._registry[model], ScopedAdmin), model


@pytest.mark.parametrize("who", ["superuser", "city_admin", "county_admin_a", "school_admin_a"])
def test_every_list_and_form_page_opens_for_each_administrator(world, who):
    user = superuser() if who == "superuser" else getattr(world, who).user
    GradeFactory()
    client = admin_client(user)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.get(base)
        assert response.status_code in (200, 403), (base, response.status_code)
        if response.status_code == 403:
            continue
        rows = list(response.context["cl"].result_list)
        for obj in rows[:3]:
            for url in [f"{base}{obj.pk}/change/", f"{base}{obj.pk}/history/"]:
                assert client.get(url).status_code == 200, url
        add = client.get(f"{base}add/")
        assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403), base


def test_the_admin_index_shows_an_administrator_their_apps(world):
    page = admin_client(world.county_admin_a.user).get("/admin/").content.decode()
    assert "/admin/accounts/teacherprofile/" in page and "/admin/regions/school/" in page
    page = admin_client(world.school_admin_a.user).get("/admin/").content.decode()
    assert "/admin/regions/school/" in page and "/admin/regions/region/" not in page
    page = admin_client(staff_without_profile()).get("/admin/").content.decode()
    assert "/admin/accounts/" not in page and "/admin/regions/" not in page


@pytest.mark.parametrize("url_model", ["subject", "schoolstage", "grade"])
def test_reference_data_is_read_by_administrators_and_edited_by_superusers(world, url_model):
    grade = GradeFactory()
    obj = {"subject": world.math, "schoolstage": grade.stage, "grade": grade}[url_model]
    form = {"code": obj.code, "name": "改过的", "order": 9}
    if url_model == "grade":
        form["stage"] = grade.stage_id
    url = f"/admin/regions/{url_model}/{obj.pk}/change/"
    for who in [world.city_admin, world.county_admin_a, world.school_admin_a]:
        client = admin_client(who.user)
        assert client.get(f"/admin/regions/{url_model}/").status_code == 200
        assert client.get(url).status_code == 200  # read-only view
        assert client.post(url, form).status_code == 403
        assert client.get(f"/admin/regions/{url_model}/add/").status_code == 403
    obj.refresh_from_db()
    assert obj.name != "改过的"
    assert admin_client(superuser()).post(url, form).status_code == 302
    obj.refresh_from_db()
    assert obj.name == "改过的"


def test_teacher_tiers_are_read_only_to_administrators(world):
    tier = world.teacher_a.tier
    client = admin_client(world.city_admin.user)
    assert client.get(f"/admin/accounts/teachertier/{tier.pk}/change/").status_code == 200
    response = client.post(f"/admin/accounts/teachertier/{tier.pk}/change/",
                           {"code": tier.code, "name": "改", "rank": 1, "is_three_tier": "on"})
    assert response.status_code == 403


def test_history_page_of_a_model_without_historical_records_opens(world):
    SchoolStageFactory()
    assert not hasattr(Subject._meta, "simple_history_manager_attribute")
    client = admin_client(world.county_admin_a.user)
    response = client.get(f"/admin/regions/subject/{world.math.pk}/history/")
    assert response.status_code == 200
    response = client.get(f"/admin/regions/subject/{world.math.pk}/history/1/")
    assert response.status_code == 404


def test_a_save_that_leaves_the_scope_is_refused_and_rolled_back(world, monkeypatch):
    # Were a form ever to offer a school outside the scope, the save itself is refused.
    monkeypatch.setattr(StudentProfileAdmin, "scoped_choices", lambda self, db_field, request: None)
    student = world.student_a
    versions = student.history.count()
    form = {"school": world.school_b.pk, "grade": student.grade_id, "class_name": student.class_name,
            "student_number": student.student_number, "real_name": "已改名"}
    response = admin_client(world.county_admin_a.user).post(
        f"/admin/accounts/studentprofile/{student.pk}/change/", form)
    assert response.status_code == 403
    student.refresh_from_db()
    assert student.school_id == world.school_a.pk and student.real_name != "已改名"
    assert student.history.count() == versions


def test_superusers_see_every_city(world):
    client = admin_client(superuser())
    response = client.get("/admin/accounts/studentprofile/")
    assert set(response.context["cl"].result_list) == set(StudentProfile.objects.all())
    response = client.get("/admin/regions/school/")
    assert world.other_school in set(response.context["cl"].result_list)

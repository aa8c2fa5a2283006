"""Courses and notifications in the Django admin: every model registered scoped, pages open for
each administrator, rows out of scope refused."""

import pytest
from django.apps import apps
from django.contrib import admin

from common.admin import ScopedAdmin
from courses.models import Lecture
from courses.services import resource_submit
from notifications.services import notify
from tests.common.admin_support import admin_client, refused, superuser
from tests.courses.support import build, pdf, studio_course

APPS = ["courses", "notifications"]


def test_every_model_is_registered_scoped():
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue
            assert admin.site.is_registered(model), model
            assert isinstance(admin.site._registry[model], ScopedAdmin), model


@pytest.mark.parametrize("who", ["superuser", "city_admin", "county_admin_a", "school_admin_a"])
def test_every_page_opens(world, who, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    w = build(world)
    resource_submit(actor=w.member.user, upload=pdf(), title="课件", studio=w.studio)
    notify(recipient_ids=[w.student_a.user_id], kind="x", title="t")
    user = superuser() if who == "superuser" else getattr(w, who).user
    client = admin_client(user)
    for model in admin.site._registry:
        if model._meta.app_label not in APPS:
            continue
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = client.get(base)
        assert response.status_code == 200, base
        for obj in list(response.context["cl"].result_list)[:3]:
            for url in [f"{base}{obj.pk}/change/", f"{base}{obj.pk}/history/"]:
                assert client.get(url).status_code == 200, url
        assert client.get(f"{base}add/").status_code == 403


def test_a_county_admin_of_another_county_does_not_see_the_studios_courses(world):
    w = build(world)
    course = studio_course(w)
    client = admin_client(w.county_admin_b.user)
    assert refused(client.get(f"/admin/courses/course/{course.pk}/change/"))
    assert refused(client.get(f"/admin/courses/lecture/{w.lecture.pk}/change/"))
    page = admin_client(w.county_admin_a.user).get(f"/admin/courses/course/{course.pk}/change/")
    assert page.status_code == 200


def test_an_editor_changes_a_course_in_the_admin_through_the_service(world):
    w = build(world)
    url = f"/admin/courses/course/{w.course.pk}/change/"
    form = {"title": "后台改名", "description": "", "enrolment_open": "on", "capacity": ""}
    lectures = w.course.lectures.count()
    form.update({"lectures-TOTAL_FORMS": str(lectures), "lectures-INITIAL_FORMS": str(lectures)})
    response = admin_client(w.county_admin_a.user).post(url, form)
    assert response.status_code == 302, response.content[:2000]
    w.course.refresh_from_db()
    assert w.course.title == "后台改名"
    assert w.course.history.first().history_change_reason.startswith("updated")


def test_an_administrator_changes_a_lecture_through_the_service_until_it_has_finished(world):
    w = build(world)
    url = f"/admin/courses/lecture/{w.lecture.pk}/change/"
    staff = w.lecture.staff.count()
    form = {"title": "后台改名", "description": "说明",
            "staff-TOTAL_FORMS": str(staff), "staff-INITIAL_FORMS": str(staff)}
    client = admin_client(w.county_admin_a.user)
    response = client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    w.lecture.refresh_from_db()
    assert w.lecture.title == "后台改名"
    assert w.lecture.history.first().history_change_reason == "updated: description, title"

    Lecture.objects.filter(pk=w.lecture.pk).update(state=Lecture.State.ENDED)
    client.post(url, {**form, "title": "结束后改名"})
    w.lecture.refresh_from_db()
    assert w.lecture.title == "后台改名"  # an ended lecture's title is read-only, as in the API


def test_resources_are_read_only_in_the_admin(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    w = build(world)
    resource = resource_submit(actor=w.member.user, upload=pdf(), title="课件", studio=w.studio)
    client = admin_client(w.county_admin_a.user)
    url = f"/admin/courses/resource/{resource.pk}/change/"
    assert client.get(url).status_code == 200
    client.post(url, {"title": "后台改名", "description": ""})
    resource.refresh_from_db()
    assert resource.title == "课件"

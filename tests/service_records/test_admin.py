"""service_records in the Django admin: every model has a page; the ledger (events, chain heads)
and the results of runs are read-only and scoped; event kinds are edited by superusers only."""

import pytest
from django.apps import apps
from django.contrib import admin

from common.admin import ScopedAdmin
from service_records.models import ServiceEvent, ServiceEventKind
from tests.common.admin_support import admin_client, refused, superuser
from tests.service_records.review_factories import at, final_run, record, scheme

pytestmark = pytest.mark.django_db

EVENTS = "/admin/service_records/serviceevent/"
HEADS = "/admin/service_records/ledgerhead/"
KINDS = "/admin/service_records/serviceeventkind/"
RESULTS = "/admin/service_records/assessmentresult/"


def test_every_model_of_service_records_has_an_admin_page():
    for model in apps.get_app_config("service_records").get_models():
        if model.__name__.startswith("Historical"):
            continue
        assert admin.site.is_registered(model), model


@pytest.mark.parametrize("who", ["superuser", "city_admin", "county_admin_a", "school_admin_a"])
def test_every_page_opens_for_each_administrator(world, who):
    user = superuser() if who == "superuser" else getattr(world, who).user
    event = record(world.teacher_a, "answer_given", at(2026, 3, 1))
    final_run(scheme(world.city), {world.teacher_a: True})
    client = admin_client(user)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "service_records" or not isinstance(model_admin, ScopedAdmin):
            continue
        base = f"/admin/service_records/{model._meta.model_name}/"
        response = client.get(base)
        assert response.status_code in (200, 403), (base, response.status_code)
        if response.status_code == 200:
            for obj in list(response.context["cl"].result_list)[:2]:
                assert client.get(f"{base}{obj.pk}/change/").status_code == 200, base
    assert client.get(f"{EVENTS}{event.pk}/change/").status_code == 200


def test_events_are_read_only_for_everybody(world):
    event = record(world.teacher_a, "answer_given", at(2026, 3, 1), quantity=2)
    for user in (superuser(), world.city_admin.user):
        client = admin_client(user)
        assert client.get(f"{EVENTS}add/").status_code == 403
        response = client.post(f"{EVENTS}{event.pk}/change/", {"quantity": "9"})
        assert response.status_code == 403
        assert client.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ServiceEvent.objects.get(pk=event.pk).quantity == 2


def test_events_and_results_out_of_scope_are_neither_listed_nor_opened(world):
    mine = record(world.teacher_a, "answer_given", at(2026, 3, 1))
    theirs = record(world.teacher_b, "answer_given", at(2026, 3, 1))
    run = final_run(scheme(world.city), {world.teacher_a: True, world.teacher_b: False})
    county_a = admin_client(world.county_admin_a.user)
    assert {e.pk for e in county_a.get(EVENTS).context["cl"].result_list} == {mine.pk}
    assert refused(county_a.get(f"{EVENTS}{theirs.pk}/change/"))
    assert {h.teacher_id for h in county_a.get(HEADS).context["cl"].result_list} == {world.teacher_a.user_id}
    listed = county_a.get(RESULTS).context["cl"].result_list
    assert {r.teacher_id for r in listed} == {world.teacher_a.user_id}
    other = run.results.get(teacher=world.teacher_b.user)
    assert refused(county_a.get(f"{RESULTS}{other.pk}/change/"))


def test_event_kinds_are_read_by_administrators_and_edited_by_superusers(world):
    kind = ServiceEventKind.objects.get(code="answer_given")
    form = {"code": "answer_given", "name": "改过的", "unit": "count", "description": "", "is_active": "on"}
    county = admin_client(world.county_admin_a.user)
    assert county.get(KINDS).status_code == 200
    assert county.post(f"{KINDS}{kind.pk}/change/", form).status_code == 403
    assert county.get(f"{KINDS}add/").status_code == 403
    kind.refresh_from_db()
    assert kind.name != "改过的"
    root = admin_client(superuser())
    assert root.post(f"{KINDS}{kind.pk}/change/", {**form, "code": "renamed"}).status_code == 302
    kind.refresh_from_db()
    assert (kind.code, kind.name) == ("answer_given", "改过的")  # the code never changes
    added = root.post(f"{KINDS}add/", {**form, "code": "mentoring_online", "name": "在线带教"})
    assert added.status_code == 302 and ServiceEventKind.objects.filter(code="mentoring_online").exists()

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from common.errors import Conflict, Forbidden, ServiceError
from studios.models import Membership, Studio, add_years
from studios.selectors import studio_composition
from studios.services import (
    membership_add,
    membership_end,
    studio_close,
    studio_create,
    studio_host_change,
    studio_update,
)
from tests.factories import SchoolFactory, TeacherFactory
from tests.studios.factories import (
    OutreachKindFactory,
    StudioKindFactory,
    add,
    make_studio,
    teachers_at,
    teachers_elsewhere,
)

MEMBER, TRAINEE, HOST = Membership.Role.MEMBER, Membership.Role.TRAINEE, Membership.Role.HOST


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English here; test_refusals_are_translated checks the default
    language (zh-hans) names the same limits."""
    with translation.override("en"):
        yield


def current(studio, role=None):
    qs = studio.memberships.filter(left_on__isnull=True)
    return qs.filter(role=role) if role else qs


# --- creating -------------------------------------------------------------------------------

def test_create_defaults_host_school_cycle_and_host(world):
    kind = StudioKindFactory(default_cycle_years=3)
    studio = studio_create(actor=world.county_admin_a.user, kind=kind, host=world.teacher_a,
                           name=" 数学名师工作室 ", cycle_start=datetime.date(2024, 2, 29))

    assert studio.host_school == world.school_a  # the host's own school
    assert studio.name == "数学名师工作室"
    assert studio.cycle_end == datetime.date(2027, 2, 28)  # 3 years on; no 29 February in 2027
    assert studio.status == Studio.Status.ACTIVE
    host = current(studio).get()
    assert (host.role, host.teacher, host.joined_on) == (HOST, world.teacher_a, datetime.date(2024, 2, 29))


def test_create_falls_back_to_the_platform_cycle_length(world, settings):
    settings.STUDIO_DEFAULT_CYCLE_YEARS = 4
    studio = studio_create(actor=world.city_admin.user, kind=StudioKindFactory(default_cycle_years=None),
                           host=world.teacher_b, name="工作室", cycle_start=datetime.date(2025, 9, 1))
    assert studio.cycle_end == datetime.date(2029, 9, 1)


def test_create_with_a_future_start_has_the_host_from_today(world):
    start = timezone.localdate() + datetime.timedelta(days=30)
    studio = make_studio(host=world.teacher_a, cycle_start=start)
    assert current(studio, HOST).get().joined_on == timezone.localdate()


def test_create_at_another_school_than_the_hosts(world):
    # outreach stations sit at rural schools; their host comes from elsewhere (seed 004)
    studio = studio_create(actor=world.city_admin.user, kind=OutreachKindFactory(), host=world.teacher_a,
                           host_school=world.school_b, name="送教工作站")
    assert studio.host_school == world.school_b
    assert studio.cycle_end == add_years(timezone.localdate(), 2)


@pytest.mark.parametrize("who", ["teacher_a", "student_a", "school_admin_a", "county_admin_b",
                                 "other_city_admin"])
def test_create_refused_outside_city_and_county_administrators_in_scope(world, who):
    with pytest.raises(Forbidden) as refused:
        studio_create(actor=getattr(world, who).user, kind=StudioKindFactory(), host=world.teacher_a,
                      name="X")
    assert refused.value.code == "studio_create_forbidden"
    assert world.school_a.name in refused.value.message
    assert not Studio.objects.exists()


def test_create_refuses_bad_cycles_closed_kinds_taken_names_and_inactive_hosts(world):
    kind = StudioKindFactory()
    with pytest.raises(ServiceError) as bad_cycle:
        studio_create(actor=world.city_admin.user, kind=kind, host=world.teacher_a, name="X",
                      cycle_start=datetime.date(2025, 9, 1), cycle_end=datetime.date(2025, 9, 1))
    assert bad_cycle.value.code == "studio_cycle_invalid" and "cycle_end" in bad_cycle.value.fields

    with pytest.raises(ServiceError) as closed_kind:
        studio_create(actor=world.city_admin.user, kind=StudioKindFactory(is_active=False, name="旧类"),
                      host=world.teacher_a, name="X")
    assert closed_kind.value.code == "studio_kind_closed" and "旧类" in closed_kind.value.message

    make_studio(host=world.teacher_a, name="数学工作室")
    with pytest.raises(Conflict) as taken:
        studio_create(actor=world.city_admin.user, kind=kind, host=TeacherFactory(school=world.school_a),
                      name="数学工作室")
    assert taken.value.code == "studio_name_taken"

    world.teacher_b.user.is_active = False
    world.teacher_b.user.save()
    with pytest.raises(ServiceError) as inactive:
        studio_create(actor=world.city_admin.user, kind=kind, host=world.teacher_b, name="Y")
    assert inactive.value.code == "teacher_inactive"


def test_a_closed_studios_name_can_be_used_again(world):
    old = make_studio(host=world.teacher_a, name="数学工作室")
    studio_close(actor=world.city_admin.user, studio=old)
    new = make_studio(host=world.teacher_a, name="数学工作室", cycle_start=datetime.date(2028, 9, 1))
    assert new.pk != old.pk


# --- limits ---------------------------------------------------------------------------------

def test_members_are_capped_and_the_refusal_names_the_limit(world):
    studio = make_studio(host=world.teacher_a, kind=StudioKindFactory(name="学科工作室"))
    add(studio, teachers_elsewhere(world.county_b, 8))

    with pytest.raises(ServiceError) as refused:
        add(studio, teachers_elsewhere(world.county_b, 1))
    assert refused.value.code == "studio_member_limit"
    assert refused.value.message == "This studio already has 8 members, the most a 学科工作室 allows."
    assert current(studio, MEMBER).count() == 8


def test_members_from_the_host_school_leave_room_for_the_other_schools_minimum(world):
    # 8 members of whom at least 5 from other schools: at most 3 from the host school
    studio = make_studio(host=world.teacher_a)
    add(studio, teachers_at(world.school_a, 3))

    with pytest.raises(ServiceError) as refused:
        add(studio, teachers_at(world.school_a, 1))
    assert refused.value.code == "studio_host_school_member_limit"
    message = refused.value.message
    assert "at least 5 of its 8 members" in message and "at most 3" in message
    assert world.school_a.name in message

    add(studio, teachers_elsewhere(world.county_a, 5))  # the minimum stays reachable
    composition = studio_composition(studio=studio)
    assert (composition.members, composition.members_from_host_school,
            composition.members_from_other_schools) == (8, 3, 5)


def test_the_host_does_not_count_against_members_or_the_host_school_share(world):
    studio = make_studio(host=world.teacher_a)  # the host teaches at the host school
    add(studio, teachers_at(world.school_a, 3))
    assert studio_composition(studio=studio).members == 3


def test_trainees_are_capped_separately(world):
    studio = make_studio(host=world.teacher_a, kind=StudioKindFactory(name="名班主任工作室", max_trainees=10))
    add(studio, teachers_at(world.school_a, 10), role=TRAINEE)  # trainees may come from anywhere
    with pytest.raises(ServiceError) as refused:
        add(studio, teachers_at(world.school_b, 1), role=TRAINEE)
    assert refused.value.code == "studio_trainee_limit"
    assert refused.value.message == "This studio already has 10 trainees, the most a 名班主任工作室 allows."
    add(studio, teachers_elsewhere(world.county_b, 1))  # members are still welcome


def test_outreach_kind_admits_ten_or_more_trainees(world):
    studio = make_studio(host=world.teacher_a, kind=OutreachKindFactory())
    add(studio, teachers_elsewhere(world.county_b, 15), role=TRAINEE)
    add(studio, teachers_at(world.school_a, 4))  # no member cap, no host-school share
    composition = studio_composition(studio=studio)
    assert (composition.trainees, composition.min_trainees, composition.max_trainees) == (15, 10, None)


def test_refusals_are_translated_and_still_name_the_limit(world):
    studio = make_studio(host=world.teacher_a, kind=StudioKindFactory(name="学科工作室"))
    add(studio, teachers_elsewhere(world.county_b, 8))
    with translation.override("zh-hans"), pytest.raises(ServiceError) as refused:
        add(studio, teachers_elsewhere(world.county_b, 1))
    assert refused.value.code == "studio_member_limit"
    assert "8" in refused.value.message and "学科工作室" in refused.value.message
    assert "This studio" not in refused.value.message


def test_limits_count_current_memberships_only(world):
    studio = make_studio(host=world.teacher_a, kind=StudioKindFactory(max_members=1,
                                                                      min_members=0,
                                                                      min_members_from_other_schools=0))
    [first] = add(studio, teachers_at(world.school_b, 1))
    membership_end(actor=world.city_admin.user, membership=first, reason="resigned")
    add(studio, teachers_at(world.school_b, 1))
    assert current(studio, MEMBER).count() == 1


# --- one role, one host, history ------------------------------------------------------------

def test_a_teacher_holds_one_current_role_per_studio(world):
    studio = make_studio(host=world.teacher_a)
    [membership] = add(studio, [world.teacher_b], role=TRAINEE)
    with pytest.raises(Conflict) as refused:
        add(studio, [world.teacher_b], role=MEMBER)
    assert refused.value.code == "studio_already_member"
    assert "trainee" in refused.value.message
    with pytest.raises(Conflict):
        add(studio, [world.teacher_a], role=MEMBER)  # the host too

    membership_end(actor=world.city_admin.user, membership=membership, reason="other", note="改任成员")
    add(studio, [world.teacher_b], role=MEMBER)
    assert list(studio.memberships.filter(teacher=world.teacher_b).values_list("role", "left_reason")
                .order_by("id")) == [(TRAINEE, "other"), (MEMBER, "")]


def test_the_database_refuses_a_second_current_host_or_role(world):
    studio = make_studio(host=world.teacher_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(studio=studio, teacher=world.teacher_b, role=HOST,
                                  joined_on=timezone.localdate())
    [member] = add(studio, [world.teacher_b])
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(studio=studio, teacher=member.teacher, role=TRAINEE,
                                  joined_on=timezone.localdate())


def test_hosts_are_appointed_only_by_creating_or_changing_the_host(world):
    studio = make_studio(host=world.teacher_a)
    with pytest.raises(ServiceError) as refused:
        membership_add(actor=world.city_admin.user, studio=studio, teacher=world.teacher_b, role=HOST)
    assert refused.value.code == "studio_role_invalid"
    host = current(studio, HOST).get()
    with pytest.raises(ServiceError) as ending_host:
        membership_end(actor=world.city_admin.user, membership=host, reason="resigned")
    assert ending_host.value.code == "studio_host_end"


def test_ending_a_membership_keeps_it_with_day_reason_and_who(world):
    studio = make_studio(host=world.teacher_a)
    [membership] = add(studio, [world.teacher_b], actor=world.county_admin_a.user)
    ended = membership_end(actor=world.teacher_a.user, membership=membership, reason="transferred",
                           note="调往外市")

    ended.refresh_from_db()
    assert (ended.left_on, ended.left_reason, ended.left_note) == (
        timezone.localdate(), "transferred", "调往外市")
    assert not current(studio).filter(teacher=world.teacher_b).exists()
    history = list(ended.history.order_by("history_date", "history_id"))
    assert [h.history_type for h in history] == ["+", "~"]
    assert [h.history_user for h in history] == [world.county_admin_a.user, world.teacher_a.user]
    assert history[0].left_on is None and history[1].left_reason == "transferred"  # before / after

    with pytest.raises(Conflict) as again:
        membership_end(actor=world.city_admin.user, membership=ended, reason="removed")
    assert again.value.code == "membership_ended"


def test_ending_validates_reason_note_and_day(world):
    studio = make_studio(host=world.teacher_a)
    [membership] = add(studio, [world.teacher_b])
    for kwargs, code in [
        ({"reason": "studio_closed"}, "membership_reason_invalid"),
        ({"reason": "other"}, "membership_note_required"),
        ({"reason": "removed", "left_on": membership.joined_on - datetime.timedelta(days=1)},
         "membership_date_invalid"),
        ({"reason": "removed", "left_on": timezone.localdate() + datetime.timedelta(days=1)},
         "membership_date_invalid"),
    ]:
        with pytest.raises(ServiceError) as refused:
            membership_end(actor=world.city_admin.user, membership=membership, **kwargs)
        assert refused.value.code == code
    membership.refresh_from_db()
    assert membership.left_on is None


def test_joining_cannot_be_in_the_future_but_can_be_backdated(world):
    studio = make_studio(host=world.teacher_a)
    with pytest.raises(ServiceError) as refused:
        membership_add(actor=world.city_admin.user, studio=studio, teacher=world.teacher_b, role=MEMBER,
                       joined_on=timezone.localdate() + datetime.timedelta(days=1))
    assert refused.value.code == "membership_date_invalid"
    m = membership_add(actor=world.city_admin.user, studio=studio, teacher=world.teacher_b, role=MEMBER,
                       joined_on=datetime.date(2025, 9, 1))
    assert m.joined_on == datetime.date(2025, 9, 1)


# --- host change ----------------------------------------------------------------------------

def test_host_change_ends_the_previous_host_and_promotes_a_member(world):
    studio = make_studio(host=world.teacher_a)
    [member] = add(studio, [world.teacher_b])
    new_host = studio_host_change(actor=world.county_admin_a.user, studio=studio, teacher=world.teacher_b,
                                  note="原主持人退休")

    assert current(studio, HOST).get() == new_host
    assert new_host.teacher == world.teacher_b
    old = studio.memberships.get(teacher=world.teacher_a)
    assert (old.left_reason, old.left_note) == ("host_replaced", "原主持人退休")
    member.refresh_from_db()
    assert member.left_reason == "role_changed"
    assert current(studio).count() == 1

    with pytest.raises(Conflict) as same:
        studio_host_change(actor=world.county_admin_a.user, studio=studio, teacher=world.teacher_b)
    assert same.value.code == "studio_host_unchanged"


@pytest.mark.parametrize("who", ["teacher_a", "school_admin_a", "county_admin_b", "other_city_admin"])
def test_host_change_refused_to_the_host_and_administrators_out_of_scope(world, who):
    studio = make_studio(host=world.teacher_a)
    with pytest.raises(Forbidden) as refused:
        studio_host_change(actor=getattr(world, who).user, studio=studio, teacher=world.teacher_b)
    assert refused.value.code == "studio_admin_only"
    assert current(studio, HOST).get().teacher == world.teacher_a


def test_the_previous_host_can_no_longer_manage_members(world):
    studio = make_studio(host=world.teacher_a)
    studio_host_change(actor=world.city_admin.user, studio=studio, teacher=world.teacher_b)
    with pytest.raises(Forbidden):
        add(studio, teachers_elsewhere(world.county_b, 1), actor=world.teacher_a.user)
    add(studio, teachers_elsewhere(world.county_b, 1), actor=world.teacher_b.user)


# --- who may change the roster --------------------------------------------------------------

@pytest.mark.parametrize("who", ["host", "county_admin_a", "city_admin"])
def test_roster_managed_by_host_and_administrators_in_scope(world, who):
    studio = make_studio(host=world.teacher_a)
    actor = world.teacher_a.user if who == "host" else getattr(world, who).user
    [m] = add(studio, teachers_elsewhere(world.county_b, 1), actor=actor)
    membership_end(actor=actor, membership=m, reason="removed")


@pytest.mark.parametrize("who", ["member", "trainee", "teacher_b", "student_a", "school_admin_a",
                                 "county_admin_b", "other_city_admin"])
def test_roster_refused_to_everybody_else(world, who):
    studio = make_studio(host=world.teacher_a)
    [member] = add(studio, teachers_elsewhere(world.county_b, 1))
    [trainee] = add(studio, teachers_elsewhere(world.county_b, 1), role=TRAINEE)
    insiders = {"member": member.teacher.user, "trainee": trainee.teacher.user}
    actor = insiders[who] if who in insiders else getattr(world, who).user

    with pytest.raises(Forbidden) as refused:
        membership_add(actor=actor, studio=studio, teacher=TeacherFactory(school=world.school_b), role=MEMBER)
    assert refused.value.code == "studio_members_forbidden"
    with pytest.raises(Forbidden):
        membership_end(actor=actor, membership=member, reason="removed")
    assert current(studio).count() == 3


# --- updating and closing -------------------------------------------------------------------

def test_host_edits_the_description_only(world):
    studio = make_studio(host=world.teacher_a)
    host = world.teacher_a.user
    studio_update(actor=host, studio=studio, data={"description": "研究单元整体教学"})
    studio.refresh_from_db()
    assert studio.description == "研究单元整体教学"
    assert studio.history.latest().history_user == host

    with pytest.raises(Forbidden) as refused:
        studio_update(actor=host, studio=studio, data={"cycle_end": datetime.date(2030, 1, 1),
                                                        "description": "x"})
    assert refused.value.code == "studio_admin_only" and "cycle_end" in refused.value.message
    # unchanged values are not changes
    studio_update(actor=host, studio=studio, data={"name": studio.name, "description": "y"})


@pytest.mark.parametrize("who", ["teacher_b", "student_a", "school_admin_a", "county_admin_b"])
def test_update_refused_to_people_without_a_say(world, who):
    studio = make_studio(host=world.teacher_a)
    with pytest.raises(Forbidden) as refused:
        studio_update(actor=getattr(world, who).user, studio=studio, data={"description": "x"})
    assert refused.value.code == "studio_edit_forbidden"


def test_administrator_changes_cycle_and_host_school_within_the_rules(world):
    studio = make_studio(host=world.teacher_a)
    with pytest.raises(ServiceError) as bad:
        studio_update(actor=world.county_admin_a.user, studio=studio, data={"cycle_end": studio.cycle_start})
    assert bad.value.code == "studio_cycle_invalid"
    studio_update(actor=world.county_admin_a.user, studio=studio,
                  data={"cycle_end": datetime.date(2028, 12, 31)})

    other_school = SchoolFactory(county=world.county_a)
    add(studio, teachers_at(other_school, 4))
    with pytest.raises(ServiceError) as share:  # 4 members would teach at the new host school
        studio_update(actor=world.county_admin_a.user, studio=studio, data={"host_school": other_school})
    assert share.value.code == "studio_host_school_member_limit"
    with pytest.raises(Forbidden):  # another county's school is out of the county admin's reach
        studio_update(actor=world.county_admin_a.user, studio=studio, data={"host_school": world.school_b})
    studio_update(actor=world.city_admin.user, studio=studio, data={"host_school": world.school_b})
    studio.refresh_from_db()
    assert studio.host_school == world.school_b


def test_closing_ends_every_membership_and_freezes_the_studio(world):
    studio = make_studio(host=world.teacher_a)
    add(studio, teachers_elsewhere(world.county_b, 2))
    add(studio, teachers_elsewhere(world.county_b, 3), role=TRAINEE)

    with pytest.raises(Forbidden):
        studio_close(actor=world.teacher_a.user, studio=studio)  # not the host's decision
    studio_close(actor=world.county_admin_a.user, studio=studio, note="周期届满")

    studio.refresh_from_db()
    assert (studio.status, studio.closed_on) == (Studio.Status.CLOSED, timezone.localdate())
    assert not current(studio).exists()
    assert set(studio.memberships.values_list("left_reason", flat=True)) == {"studio_closed"}
    assert studio.memberships.count() == 6  # kept

    for attempt, code in [
        (lambda: add(studio, teachers_elsewhere(world.county_b, 1)), "studio_closed"),
        (lambda: studio_close(actor=world.city_admin.user, studio=studio), "studio_closed"),
        (lambda: studio_update(actor=world.city_admin.user, studio=studio, data={"description": "x"}),
         "studio_closed"),
        (lambda: studio_host_change(actor=world.city_admin.user, studio=studio, teacher=world.teacher_b),
         "studio_closed"),
    ]:
        with pytest.raises(ServiceError) as refused:
            attempt()
        assert refused.value.code == code


def test_add_years_keeps_the_day_and_moves_29_february_only_when_needed():
    assert add_years(datetime.date(2024, 2, 29), 4) == datetime.date(2028, 2, 29)
    assert add_years(datetime.date(2024, 2, 29), 1) == datetime.date(2025, 2, 28)
    assert add_years(datetime.date(2025, 9, 1), 3) == datetime.date(2028, 9, 1)
    with pytest.raises(ValueError):
        add_years(datetime.date(9999, 1, 1), 1)

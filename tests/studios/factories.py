"""Factories and builders for studio tests. Studios with their host are built through the
service (studio_create), so every test starts from a state the platform can reach."""

from __future__ import annotations

import datetime

import factory

from studios.models import Membership, StudioKind
from studios.services import membership_add, studio_create
from tests.factories import SchoolFactory, TeacherFactory, UserFactory


class StudioKindFactory(factory.django.DjangoModelFactory):
    """A subject studio with the limits of seed 003: at most 8 members, at least 5 of them
    from other schools, at most 10 trainees, a 3-year cycle."""

    class Meta:
        model = StudioKind
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"kind-{n}")
    name = "学科工作室"
    default_cycle_years = 3
    max_members = 8
    min_members = 5
    min_members_from_other_schools = 5
    max_trainees = 10
    min_trainees = 0


class OutreachKindFactory(StudioKindFactory):
    """An outreach studio (名师送教, seed 004): a 2-year cycle, 10 or more trainees, no caps."""

    code = factory.Sequence(lambda n: f"outreach-{n}")
    name = "名师送教工作站"
    default_cycle_years = 2
    max_members = None
    min_members = 0
    min_members_from_other_schools = 0
    max_trainees = None
    min_trainees = 10


def superuser():
    return UserFactory(username="studio-root", is_superuser=True, is_staff=True)


def make_studio(*, host, kind=None, actor=None, name=None, **extra):
    """An active studio hosted at the host's school (unless host_school is given)."""
    return studio_create(
        actor=actor or superuser(), kind=kind or StudioKindFactory(), host=host,
        name=name or f"{host.real_name}名师工作室",
        cycle_start=extra.pop("cycle_start", datetime.date(2025, 9, 1)),
        **extra,
    )


def teachers_at(school, count: int):
    return [TeacherFactory(school=school) for _ in range(count)]


def teachers_elsewhere(county, count: int):
    """``count`` teachers, each at a new school of ``county``."""
    return [TeacherFactory(school=SchoolFactory(county=county)) for _ in range(count)]


def add(studio, teachers, role=Membership.Role.MEMBER, actor=None):
    actor = actor or superuser()
    return [membership_add(actor=actor, studio=studio, teacher=t, role=role) for t in teachers]

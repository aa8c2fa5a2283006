"""Writes on studios. Every change to a studio or its roster goes through one of these.

Each service is atomic and, before it reads any count, locks the studio's row
(``SELECT ... FOR UPDATE``), so two people adding members at the same moment are served one
after the other and cannot both pass a limit. Permissions are checked on the locked row
(``studios.selectors`` is their one home). A refused change raises a ServiceError whose code
is stable and whose message names the rule or limit it would break. Every row written carries
the acting user into its history (django-simple-history), with the reason where there is one.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TeacherProfile, User
from common.errors import Conflict, Forbidden, ServiceError
from regions.models import School, SchoolStage, Subject
from studios.models import MANUAL_LEAVE_REASONS, Membership, Studio, StudioKind, add_years
from studios.selectors import (
    access_administer_studio,
    access_create_studio_at,
    access_edit_studio,
    access_manage_members,
    can_administer_studio,
    studio_composition,
)

#: What the studio's host may change on their own studio; administrators may change
#: everything in ADMIN_EDITABLE_FIELDS.
HOST_EDITABLE_FIELDS = frozenset({"description"})
ADMIN_EDITABLE_FIELDS = frozenset(
    {"name", "description", "subject", "stage", "cycle_start", "cycle_end", "host_school"})

_JOINABLE_ROLES = frozenset({Membership.Role.MEMBER, Membership.Role.TRAINEE})


def _today() -> datetime.date:
    return timezone.localdate()


def _lock(studio: Studio | int) -> Studio:
    """The studio's row, locked until the transaction ends (only the studio row: locking the
    kind or school too would serialise unrelated studios)."""
    pk = studio.pk if isinstance(studio, Studio) else studio
    return (Studio.objects.select_for_update(of=("self",))
            .select_related("kind", "host_school").get(pk=pk))


def _stamp(instance, actor: User | None, reason: str = "") -> None:
    # simple-history reads these when it writes the historical row; setting them here keeps
    # the audit trail right also outside a request (commands, Celery tasks).
    if actor is not None and actor.is_authenticated:
        instance._history_user = actor
    if reason:
        instance._change_reason = reason[:100]


def _check_teacher_active(teacher: TeacherProfile) -> None:
    if not teacher.user.is_active:
        raise ServiceError(
            _("%(teacher)s's account is deactivated; they cannot take a role in a studio.")
            % {"teacher": teacher.real_name},
            code="teacher_inactive", fields={"teacher": [_("This account is deactivated.")]},
        )


def _check_cycle(start: datetime.date, end: datetime.date) -> None:
    if end <= start:
        message = _("The cycle must end after it starts (%(start)s).") % {"start": start.isoformat()}
        raise ServiceError(message, code="studio_cycle_invalid", fields={"cycle_end": [message]})


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        message = _("A studio needs a name.")
        raise ServiceError(message, code="studio_name_required", fields={"name": [message]})
    return name


def _check_name_free(*, name: str, school: School, exclude_pk: int | None = None) -> None:
    taken = Studio.objects.filter(host_school=school, name=name, status=Studio.Status.ACTIVE)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        message = _("%(school)s already hosts an active studio named %(name)s.") % {
            "school": school.name, "name": name}
        raise Conflict(message, code="studio_name_taken", fields={"name": [message]})


def _check_open(studio: Studio) -> None:
    if not studio.is_active:
        raise Conflict(
            _("The studio %(studio)s closed on %(day)s and can no longer be changed.")
            % {"studio": studio.name, "day": studio.closed_on.isoformat()},
            code="studio_closed",
        )


def _check_host_school_share(*, studio: Studio, school: School, count: int, adding: int) -> None:
    """Members from the host school must leave room for the other-schools minimum."""
    kind = studio.kind
    cap = kind.max_members_from_host_school
    if cap is None or kind.min_members_from_other_schools == 0 or count + adding <= cap:
        return
    raise ServiceError(
        _("A %(kind)s needs at least %(other)s of its %(max)s members from schools other than the "
          "host school, so at most %(cap)s may teach at %(school)s; this studio would have %(count)s.")
        % {"kind": kind.name, "other": kind.min_members_from_other_schools, "max": kind.max_members,
           "cap": cap, "school": school.name, "count": count + adding},
        code="studio_host_school_member_limit",
    )


def _end(membership: Membership, *, actor: User | None, day: datetime.date, reason: str,
         note: str = "") -> Membership:
    membership.left_on = day
    membership.left_reason = reason
    membership.left_note = note
    _stamp(membership, actor, f"ended: {reason}")
    membership.save(update_fields=["left_on", "left_reason", "left_note"])
    return membership


def _start(*, studio: Studio, teacher: TeacherProfile, role: str, joined_on: datetime.date,
           actor: User | None) -> Membership:
    membership = Membership(studio=studio, teacher=teacher, role=role, joined_on=joined_on)
    _stamp(membership, actor, f"joined as {role}")
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as exc:  # only reachable where the row lock is a no-op (SQLite)
        raise Conflict(
            _("%(teacher)s already holds a role in %(studio)s.")
            % {"teacher": teacher.real_name, "studio": studio.name},
            code="studio_already_member",
        ) from exc
    return membership


# --- studios -------------------------------------------------------------------------------

@transaction.atomic
def studio_create(
    *,
    actor: User,
    name: str,
    kind: StudioKind,
    host: TeacherProfile,
    host_school: School | None = None,
    subject: Subject | None = None,
    stage: SchoolStage | None = None,
    description: str = "",
    cycle_start: datetime.date | None = None,
    cycle_end: datetime.date | None = None,
) -> Studio:
    """Creates an active studio with ``host`` as its host (主持人).

    The host school defaults to the host's own school (seed 003: a studio is based at its
    host's school); the cycle starts today unless given and ends after the kind's cycle length
    unless given. Only city and county administrators whose region contains the host school may
    create it; the kind must be open for new studios and the name free among the school's
    active studios. The host's membership starts on the cycle start (or today, if later)."""
    host_school = host_school or host.school
    access_create_studio_at(actor, host_school)
    if not kind.is_active:
        raise ServiceError(
            _("No new studios of the kind %(kind)s may be created.") % {"kind": kind.name},
            code="studio_kind_closed", fields={"kind": [_("This kind is closed for new studios.")]},
        )
    _check_teacher_active(host)
    name = _clean_name(name)
    cycle_start = cycle_start or _today()
    if cycle_end is None:
        try:
            cycle_end = add_years(cycle_start, kind.cycle_years)
        except ValueError as exc:
            message = _("The cycle would end after the year 9999; give a realistic start.")
            raise ServiceError(message, code="studio_cycle_invalid",
                               fields={"cycle_start": [message]}) from exc
    _check_cycle(cycle_start, cycle_end)
    _check_name_free(name=name, school=host_school)

    studio = Studio(name=name, kind=kind, host_school=host_school, subject=subject, stage=stage,
                    description=description, cycle_start=cycle_start, cycle_end=cycle_end)
    _stamp(studio, actor, "created")
    try:
        with transaction.atomic():
            studio.save()
    except IntegrityError as exc:  # a concurrent create took the name first
        raise Conflict(
            _("%(school)s already hosts an active studio named %(name)s.")
            % {"school": host_school.name, "name": name},
            code="studio_name_taken",
        ) from exc
    _start(studio=studio, teacher=host, role=Membership.Role.HOST,
           joined_on=min(cycle_start, _today()), actor=actor)
    return studio


@transaction.atomic
def studio_update(*, actor: User, studio: Studio, data: Mapping[str, Any]) -> Studio:
    """Changes the studio's descriptive data and cycle.

    Administrators of the host school's region may change any of ADMIN_EDITABLE_FIELDS (moving
    the studio to another school needs that school in their region too, and the members
    from the new host school must leave room for the other-schools minimum); the studio's host
    may change HOST_EDITABLE_FIELDS. Values equal to the stored ones are not changes. A closed
    studio cannot be changed."""
    unknown = set(data) - ADMIN_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"studio_update cannot change {sorted(unknown)}")
    studio = _lock(studio)
    access_edit_studio(actor, studio)
    _check_open(studio)

    changes = {field: value for field, value in data.items() if getattr(studio, field) != value}
    if not changes:
        return studio
    admin_only = sorted(set(changes) - HOST_EDITABLE_FIELDS)
    if admin_only and not can_administer_studio(actor, studio):
        raise Forbidden(
            _("Only city and county administrators whose region contains %(school)s may change "
              "%(fields)s.") % {"school": studio.host_school.name, "fields": ", ".join(admin_only)},
            code="studio_admin_only",
        )

    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
    if "host_school" in changes:
        new_school = changes["host_school"]
        access_create_studio_at(actor, new_school)
        share = studio.memberships.filter(role=Membership.Role.MEMBER, left_on__isnull=True,
                                          teacher__school=new_school).count()
        _check_host_school_share(studio=studio, school=new_school, count=share, adding=0)
    _check_cycle(changes.get("cycle_start", studio.cycle_start), changes.get("cycle_end", studio.cycle_end))
    if {"name", "host_school"} & set(changes):
        _check_name_free(name=changes.get("name", studio.name),
                         school=changes.get("host_school", studio.host_school), exclude_pk=studio.pk)

    for field, value in changes.items():
        setattr(studio, field, value)
    _stamp(studio, actor, "updated: " + ", ".join(sorted(changes)))
    studio.save(update_fields=[*changes, "updated_at"])
    return studio


@transaction.atomic
def studio_close(*, actor: User, studio: Studio, note: str = "") -> Studio:
    """Closes the studio today and ends every current membership (host included) with the
    reason "the studio closed". The roster at closing stays visible in the history. Only
    administrators of the host school's region may close a studio; closing twice is refused."""
    studio = _lock(studio)
    access_administer_studio(actor, studio)
    _check_open(studio)
    today = _today()
    for membership in studio.memberships.filter(left_on__isnull=True):
        _end(membership, actor=actor, day=max(today, membership.joined_on),
             reason=Membership.LeaveReason.STUDIO_CLOSED, note=note)
    studio.status = Studio.Status.CLOSED
    studio.closed_on = today
    _stamp(studio, actor, "closed")
    studio.save(update_fields=["status", "closed_on", "updated_at"])
    return studio


@transaction.atomic
def studio_host_change(*, actor: User, studio: Studio, teacher: TeacherProfile, note: str = "") -> Membership:
    """Makes ``teacher`` the studio's host from today. The previous host's membership ends
    ("replaced as host", with ``note``); if the new host was a member or trainee of the studio,
    that role ends ("took another role"). Only administrators of the host school's region may
    change the host. Returns the new host's membership."""
    studio = _lock(studio)
    access_administer_studio(actor, studio)
    _check_open(studio)
    _check_teacher_active(teacher)
    today = _today()
    current = {m.teacher_id: m for m in studio.memberships.filter(left_on__isnull=True)}
    previous_host = next((m for m in current.values() if m.role == Membership.Role.HOST), None)
    if previous_host is not None and previous_host.teacher_id == teacher.pk:
        raise Conflict(
            _("%(teacher)s is already the host of %(studio)s.")
            % {"teacher": teacher.real_name, "studio": studio.name},
            code="studio_host_unchanged",
        )
    if previous_host is not None:
        _end(previous_host, actor=actor, day=today, reason=Membership.LeaveReason.HOST_REPLACED,
             note=note)
    own = current.get(teacher.pk)
    if own is not None:
        _end(own, actor=actor, day=today, reason=Membership.LeaveReason.ROLE_CHANGED,
             note=_("became the host"))
    return _start(studio=studio, teacher=teacher, role=Membership.Role.HOST, joined_on=today, actor=actor)


# --- memberships ---------------------------------------------------------------------------

@transaction.atomic
def membership_add(
    *,
    actor: User,
    studio: Studio,
    teacher: TeacherProfile,
    role: str,
    joined_on: datetime.date | None = None,
) -> Membership:
    """Adds ``teacher`` to the studio as a member (成员) or trainee (学员) from ``joined_on``
    (today by default; never in the future).

    Refused, with the limit named, when the studio already has its kind's most members or
    trainees, or when a member from the host school would leave too few places for the
    members the kind requires from other schools. A teacher holds one current role in a
    studio. Only the studio's host and administrators of the host school's region may add;
    the host is appointed through studio_create / studio_host_change, never here."""
    if role not in _JOINABLE_ROLES:
        raise ServiceError(
            _("Members and trainees are added here; a host is appointed by changing the host."),
            code="studio_role_invalid", fields={"role": [_("Choose member or trainee.")]},
        )
    studio = _lock(studio)
    access_manage_members(actor, studio)
    _check_open(studio)
    _check_teacher_active(teacher)
    today = _today()
    joined_on = joined_on or today
    if joined_on > today:
        message = _("A membership cannot start in the future.")
        raise ServiceError(message, code="membership_date_invalid", fields={"joined_on": [message]})

    existing = studio.memberships.filter(teacher=teacher, left_on__isnull=True).first()
    if existing is not None:
        raise Conflict(
            _("%(teacher)s already belongs to %(studio)s as %(role)s.")
            % {"teacher": teacher.real_name, "studio": studio.name, "role": existing.get_role_display()},
            code="studio_already_member",
        )

    kind = studio.kind
    composition = studio_composition(studio=studio)
    if role == Membership.Role.MEMBER:
        if kind.max_members is not None and composition.members >= kind.max_members:
            raise ServiceError(
                _("This studio already has %(count)s members, the most a %(kind)s allows.")
                % {"count": composition.members, "kind": kind.name},
                code="studio_member_limit",
            )
        if teacher.school_id == studio.host_school_id:
            _check_host_school_share(studio=studio, school=studio.host_school,
                                     count=composition.members_from_host_school, adding=1)
    elif kind.max_trainees is not None and composition.trainees >= kind.max_trainees:
        raise ServiceError(
            _("This studio already has %(count)s trainees, the most a %(kind)s allows.")
            % {"count": composition.trainees, "kind": kind.name},
            code="studio_trainee_limit",
        )
    return _start(studio=studio, teacher=teacher, role=role, joined_on=joined_on, actor=actor)


@transaction.atomic
def membership_end(
    *,
    actor: User,
    membership: Membership,
    reason: str,
    note: str = "",
    left_on: datetime.date | None = None,
) -> Membership:
    """Ends a current member's or trainee's membership on ``left_on`` (today by default; not
    before they joined, not in the future) for ``reason`` (one of MANUAL_LEAVE_REASONS; "other"
    needs a note). The row is kept. Only the studio's host and administrators of the host
    school's region may end memberships; the host's own membership ends only by a host change
    or by closing the studio."""
    studio = _lock(membership.studio_id)
    access_manage_members(actor, studio)
    membership = Membership.objects.select_related("teacher").get(pk=membership.pk)
    if membership.left_on is not None:
        raise Conflict(
            _("%(teacher)s already left %(studio)s on %(day)s.")
            % {"teacher": membership.teacher.real_name, "studio": studio.name,
               "day": membership.left_on.isoformat()},
            code="membership_ended",
        )
    if membership.role == Membership.Role.HOST:
        raise ServiceError(
            _("The host's membership ends only when another host is appointed or the studio closes."),
            code="studio_host_end",
        )
    if reason not in MANUAL_LEAVE_REASONS:
        raise ServiceError(_("%(reason)s is not a reason that can be given here.") % {"reason": reason},
                           code="membership_reason_invalid", fields={"reason": [_("Choose another reason.")]})
    note = (note or "").strip()
    if reason == Membership.LeaveReason.OTHER and not note:
        message = _("Say why in the note when the reason is \"other\".")
        raise ServiceError(message, code="membership_note_required", fields={"note": [message]})
    today = _today()
    left_on = left_on or today
    if left_on > today or left_on < membership.joined_on:
        message = _("The leaving day must lie between the joining day (%(joined)s) and today.") % {
            "joined": membership.joined_on.isoformat()}
        raise ServiceError(message, code="membership_date_invalid", fields={"left_on": [message]})
    return _end(membership, actor=actor, day=left_on, reason=reason, note=note)

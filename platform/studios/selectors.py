"""Reads of studios, and the one home of studio permissions.

Who may do what (every check in services and APIs goes through these functions):
- see studios, their current rosters and past members: every signed-in user (studios are a
  public programme); why someone left: the people who manage the roster, and that teacher;
- create a studio, close it, change its host, change its cycle, name or host school: city and
  county administrators whose scope contains the host school (and superusers);
- add and end members and trainees, edit the description: those administrators and the
  studio's current host.
Nobody else: not students, other teachers, members or trainees of the studio, school
administrators, nor administrators of other counties or cities.

``can_<verb>()`` answers; ``access_<verb>()`` raises :class:`common.errors.Forbidden`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import AdministratorProfile
from common.errors import Forbidden
from regions.models import School
from regions.selectors import school_scope_q
from studios.models import Membership, Studio, StudioKind

_REGIONAL_LEVELS = {AdministratorProfile.Level.CITY, AdministratorProfile.Level.COUNTY}


# --- reads ---------------------------------------------------------------------------------

def studio_kind_list(*, user) -> QuerySet[StudioKind]:
    """Studio kinds are reference data for every signed-in user."""
    return StudioKind.objects.all()


def _current_count(role: str) -> Coalesce:
    counted = (
        Membership.objects.filter(studio=OuterRef("pk"), role=role, left_on__isnull=True)
        .order_by().values("studio").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def studio_list_visible(*, user) -> QuerySet[Studio]:
    """Every studio, for every signed-in user, with what a list shows: kind, places, the host
    (the current one, or the last one of a closed studio) and the current head counts."""
    if not user.is_authenticated:
        return Studio.objects.none()
    hosts = (
        Membership.objects.filter(role=Membership.Role.HOST)
        .filter(Q(left_on__isnull=True) | Q(left_reason=Membership.LeaveReason.STUDIO_CLOSED))
        .select_related("teacher__school")
        .order_by("-joined_on", "-id")
    )
    return (
        Studio.objects.select_related("kind", "host_school__county", "host_school__city", "subject",
                                      "stage")
        .prefetch_related(Prefetch("memberships", queryset=hosts, to_attr="host_memberships"))
        .annotate(member_count=_current_count(Membership.Role.MEMBER),
                  trainee_count=_current_count(Membership.Role.TRAINEE))
    )


def studio_host(studio: Studio) -> Membership | None:
    """The studio's current host membership (for a closed studio: the host when it closed)."""
    prefetched = getattr(studio, "host_memberships", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    qs = Membership.objects.filter(studio=studio, role=Membership.Role.HOST).select_related(
        "teacher__school")
    return (qs.filter(left_on__isnull=True).first()
            or qs.filter(left_reason=Membership.LeaveReason.STUDIO_CLOSED).order_by("-joined_on").first())


def membership_list(*, user, studio: Studio, include_past: bool = False) -> QuerySet[Membership]:
    """The studio's roster: host first, then members, then trainees, each by joining day.
    Current memberships only unless ``include_past``."""
    if not user.is_authenticated:
        return Membership.objects.none()
    qs = Membership.objects.filter(studio=studio).select_related("teacher__school", "teacher__user")
    if not include_past:
        qs = qs.filter(left_on__isnull=True)
    return qs.order_by(_role_order(), "joined_on", "id")


def _role_order() -> Case:
    return Case(
        When(role=Membership.Role.HOST, then=Value(0)),
        When(role=Membership.Role.MEMBER, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


@dataclass(frozen=True)
class Composition:
    """Current head counts of a studio next to its kind's limits."""

    members: int
    members_from_host_school: int
    trainees: int
    max_members: int | None
    min_members: int
    min_members_from_other_schools: int
    max_members_from_host_school: int | None
    max_trainees: int | None
    min_trainees: int

    @property
    def members_from_other_schools(self) -> int:
        return self.members - self.members_from_host_school


def studio_composition(*, studio: Studio) -> Composition:
    counts = Membership.objects.filter(studio=studio, left_on__isnull=True).aggregate(
        members=Count("pk", filter=Q(role=Membership.Role.MEMBER)),
        members_from_host_school=Count(
            "pk", filter=Q(role=Membership.Role.MEMBER, teacher__school_id=studio.host_school_id)),
        trainees=Count("pk", filter=Q(role=Membership.Role.TRAINEE)),
    )
    kind = studio.kind
    return Composition(
        **counts,
        max_members=kind.max_members,
        min_members=kind.min_members,
        min_members_from_other_schools=kind.min_members_from_other_schools,
        max_members_from_host_school=kind.max_members_from_host_school,
        max_trainees=kind.max_trainees,
        min_trainees=kind.min_trainees,
    )


# --- permissions ---------------------------------------------------------------------------

def _regional_admin(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = getattr(user, "admin_profile", None)
    return profile is not None and profile.level in _REGIONAL_LEVELS


def can_create_studios(user) -> bool:
    """Whether the user may create studios anywhere (city and county administrators)."""
    return _regional_admin(user)


def can_administer_school(user, school: School | int) -> bool:
    """City or county administrator whose scope contains the school (or a superuser)."""
    if not _regional_admin(user):
        return False
    school_id = school.pk if isinstance(school, School) else school
    return School.objects.filter(school_scope_q(user), pk=school_id).exists()


def can_administer_studio(user, studio: Studio) -> bool:
    """Create, close, change the host, cycle, name or host school of this studio."""
    return can_administer_school(user, studio.host_school_id)


def is_current_host(user, studio: Studio) -> bool:
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(studio=studio, teacher_id=user.pk, role=Membership.Role.HOST,
                                     left_on__isnull=True).exists()


def can_manage_members(user, studio: Studio) -> bool:
    """Add and end members and trainees of this studio."""
    return can_administer_studio(user, studio) or is_current_host(user, studio)


def can_edit_studio(user, studio: Studio) -> bool:
    """Change anything at all of the studio (the host: only what HOST_EDITABLE_FIELDS lists)."""
    return can_manage_members(user, studio)


def can_see_leave_details(user, membership: Membership, *, manages: bool | None = None) -> bool:
    """Why a membership ended: the roster's managers and the teacher concerned.
    ``manages`` passes a can_manage_members() answer already known for the studio."""
    if not user.is_authenticated:
        return False
    if membership.teacher_id == user.pk:
        return True
    if manages is None:
        manages = can_manage_members(user, membership.studio)
    return manages


def access_create_studios(user) -> None:
    if not can_create_studios(user):
        raise Forbidden(_("Only city and county administrators may create studios."),
                        code="studio_create_forbidden")


def access_create_studio_at(user, school: School) -> None:
    if not can_administer_school(user, school):
        raise Forbidden(
            _("Only city and county administrators whose region contains %(school)s may create "
              "a studio hosted there.") % {"school": school.name},
            code="studio_create_forbidden",
        )


def access_administer_studio(user, studio: Studio) -> None:
    if not can_administer_studio(user, studio):
        raise Forbidden(
            _("Only city and county administrators whose region contains %(school)s may do this "
              "for the studio %(studio)s.") % {"school": studio.host_school.name, "studio": studio.name},
            code="studio_admin_only",
        )


def access_edit_studio(user, studio: Studio) -> None:
    if not can_edit_studio(user, studio):
        raise Forbidden(
            _("Only the studio's host and administrators whose region contains its host school may "
              "change %(studio)s.") % {"studio": studio.name},
            code="studio_edit_forbidden",
        )


def access_manage_members(user, studio: Studio) -> None:
    if not can_manage_members(user, studio):
        raise Forbidden(
            _("Only the studio's host and administrators whose region contains its host school may "
              "change the members of %(studio)s.") % {"studio": studio.name},
            code="studio_members_forbidden",
        )

from django.core.management import call_command

from studios.models import Membership, Studio, StudioKind
from studios.selectors import studio_composition


def test_demo_builds_five_studios_within_their_limits_once(db):
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # idempotent

    assert set(StudioKind.objects.values_list("code", flat=True)) == {
        "subject", "principal", "class-teacher", "outreach"}
    assert Studio.objects.filter(status="active").count() == 5
    for studio in Studio.objects.select_related("kind"):
        assert studio.memberships.filter(role="host", left_on__isnull=True).count() == 1
        composition = studio_composition(studio=studio)
        kind = studio.kind
        assert kind.max_members is None or composition.members <= kind.max_members
        assert kind.max_trainees is None or composition.trainees <= kind.max_trainees
        assert composition.members_from_other_schools >= min(kind.min_members_from_other_schools,
                                                             composition.members)
        assert composition.trainees >= kind.min_trainees
    outreach = Studio.objects.get(kind__code="outreach")
    trainees = Membership.objects.filter(studio=outreach, role="trainee").select_related("teacher__school")
    assert {m.teacher.school.county_id for m in trainees} == {outreach.host_school.county_id}

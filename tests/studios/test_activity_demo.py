from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from service_records.models import ServiceEvent
from studios.activities.models import Activity, LeaveRequest
from studios.demo_activities import seed_demo_activities
from studios.models import Studio


def test_demo_activities_cover_every_state_once(db):
    call_command("seed_demo", verbosity=0)  # calls seed_demo_activities()
    seed_demo_activities()  # again: nothing new
    count = Activity.objects.count()
    assert count > 0
    call_command("seed_demo", verbosity=0)
    assert seed_demo_activities() == 0 and Activity.objects.count() == count  # idempotent
    states = {"draft", "announced", "submitted", "returned", "published"}
    for studio in Studio.objects.filter(status="active"):
        assert set(Activity.objects.filter(studio=studio).values_list("state", flat=True)) == states
    published = Activity.objects.filter(state="published")
    recorded = ServiceEvent.objects.filter(source_type=ContentType.objects.get_for_model(Activity),
                                           source_id__in=[str(a.pk) for a in published])
    assert recorded.count() == published.count()
    assert LeaveRequest.objects.filter(state="pending").exists()
    assert Activity.objects.filter(kind="outreach", served_county__isnull=False).exists()

"""courses.demo on the test world's two studios (the full seed_demo is exercised by the lead's
demo test once it calls seed_demo_courses)."""

from courses.demo import seed_demo_courses
from courses.models import Course, Enrolment, Lecture, Resource
from service_records.models import ServiceEvent
from tests.courses.support import build


def test_demo_courses_are_built_once(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    w = build(world)
    first = seed_demo_courses()
    events = ServiceEvent.objects.count()
    assert seed_demo_courses() == first  # idempotent
    assert ServiceEvent.objects.count() == events
    assert first["courses"] == 1 + 2 * 2
    assert Lecture.objects.filter(state="live").count() == 1
    assert Lecture.objects.filter(state="replay", course__studio=w.other_studio).count() == 2
    assert Enrolment.objects.filter(user=w.student_b.user).exists()
    assert Resource.objects.filter(state="approved").count() == 2
    assert Resource.objects.filter(state="submitted").count() == 2
    assert ServiceEvent.objects.filter(kind__code="lecture_delivered", teacher_id=w.host.pk).exists()
    assert ServiceEvent.objects.filter(kind__code="resource_published").count() == 2
    assert Course.objects.filter(visibility="studio").count() == 2

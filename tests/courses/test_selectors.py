"""Who sees which course, who may enter a lecture's live room, and the studio figures."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import Course, Lecture, Resource
from courses.selectors import course_list_visible, lecture_role, studio_course_figures
from courses.services import course_create, course_publish
from tests.courses.support import build, studio_course
from tests.factories import CityFactory, CountyFactory, SchoolFactory, StudentFactory, UserFactory


@pytest.fixture
def w(world):
    return build(world)


def _sees(user, course) -> bool:
    return course_list_visible(user=user).filter(pk=course.pk).exists()


CITY_AUDIENCE = ["student_a", "student_b", "teacher_b", "school_admin_b", "county_admin_b", "city_admin"]


@pytest.mark.parametrize("who", CITY_AUDIENCE)
def test_a_city_wide_course_is_seen_by_everyone_in_the_city(w, who):
    assert _sees(getattr(w, who).user, w.course)


def test_a_city_wide_course_is_not_seen_from_another_city(w):
    outsider = StudentFactory(school=w.other_school)
    assert not _sees(outsider.user, w.course)
    assert not _sees(w.other_city_admin.user, w.course)
    assert not _sees(UserFactory(), w.course)  # an account without a profile


@pytest.mark.parametrize(("who", "sees"), [
    ("student_b", True), ("teacher_b", True), ("county_admin_b", True), ("school_admin_b", True),
    ("city_admin", True), ("student_a", False), ("county_admin_a", False), ("school_admin_a", False),
    ("other_city_admin", False),
])
def test_a_school_course_is_seen_by_that_schools_people_and_admins_over_it(w, who, sees):
    # A teacher's own course (its editors are admins over school_b, like its audience).
    course = course_create(actor=w.teacher_b.user, title="本校课程", visibility=Course.Visibility.SCHOOL,
                           school=w.school_b)
    course_publish(actor=w.teacher_b.user, course=course)
    assert _sees(getattr(w, who).user, course) is sees


@pytest.mark.parametrize(("who", "sees"), [
    ("host", True), ("member", True), ("trainee", True), ("county_admin_a", True), ("city_admin", True),
    ("school_admin_a", True), ("student_a", False), ("teacher_b", False), ("other_member", False),
    ("county_admin_b", False), ("other_city_admin", False),
])
def test_a_studio_course_is_seen_by_its_studio_and_admins_over_the_host_school(w, who, sees):
    course = studio_course(w)
    assert _sees(getattr(w, who).user, course) is sees


@pytest.mark.parametrize(("who", "sees"), [
    ("host", True), ("member", True), ("county_admin_a", True), ("trainee", False), ("student_a", False),
    ("other_member", False), ("county_admin_b", False),
])
def test_a_draft_is_seen_by_its_editors_only(w, who, sees):
    course = studio_course(w, visibility=Course.Visibility.CITY, status=Course.Status.DRAFT)
    assert _sees(getattr(w, who).user, course) is sees


def test_a_teachers_own_draft_is_seen_by_the_owner_and_admins_over_their_school(w):
    course = course_create(actor=w.teacher_b.user, title="我的课程")
    assert _sees(w.teacher_b.user, course)
    assert _sees(w.county_admin_b.user, course)
    assert not _sees(w.county_admin_a.user, course)
    assert not _sees(w.student_b.user, course)


# --- lecture_role ------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "role"), [
    ("lecturer", "lecturer"), ("assistant", "assistant"), ("county_admin_a", "admin"),
    ("city_admin", "admin"),
    ("student_a", "viewer"), ("student_b", "viewer"), ("teacher_b", "viewer"), ("host", "viewer"),
    ("county_admin_b", "viewer"), ("other_city_admin", None),
])
def test_lecture_role(w, who, role):
    assert lecture_role(getattr(w, who).user, w.lecture) == role


def test_nobody_but_staff_and_admins_enters_a_lecture_of_an_unpublished_course(w):
    Course.objects.filter(pk=w.course.pk).update(status=Course.Status.DRAFT)
    assert lecture_role(w.student_a.user, w.lecture) is None
    assert lecture_role(w.lecturer.user, w.lecture) == "lecturer"
    assert lecture_role(w.county_admin_a.user, w.lecture) == "admin"


def test_a_student_of_another_city_may_not_enter(w):
    city = CityFactory()
    outsider = StudentFactory(school=SchoolFactory(county=CountyFactory(parent=city)))
    assert lecture_role(outsider.user, w.lecture) is None


def test_lecture_role_takes_a_few_queries(w):
    user = w.student_b.user
    user = type(user).objects.get(pk=user.pk)  # no cached profiles
    with CaptureQueriesContext(connection) as queries:
        assert lecture_role(user, w.lecture) == "viewer"
    assert len(queries) <= 8


# --- figures for studio statistics -------------------------------------------------------------

def test_studio_course_figures_count_lectures_live_lectures_and_published_resources(w):
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    Lecture.objects.filter(pk=w.lecture.pk).update(state=Lecture.State.ENDED, starts_at=now - 2 * hour,
                                                   ends_at=now - hour, went_live_at=now - 2 * hour)
    Lecture.objects.create(course=w.course, title="取消的", starts_at=now, ends_at=now + datetime.timedelta(
        hours=1), state=Lecture.State.CANCELLED, created_by=w.host.user)
    for target in ({"studio": w.studio}, {"lecture": w.lecture}):
        Resource.objects.create(title="课件", file="resources/x.pdf", original_name="x.pdf",
                                content_type="application/pdf", size=3, state=Resource.State.APPROVED,
                                published_at=now, submitted_by=w.member.user, **target)
    Resource.objects.create(title="待审", file="resources/y.pdf", original_name="y.pdf", size=3,
                            content_type="application/pdf", submitted_by=w.member.user, studio=w.studio)
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    figures = studio_course_figures([w.studio.pk, w.other_studio.pk], start=today - day, end=today + day)
    assert figures[w.studio.pk] == {"lectures": 1, "live_lectures": 1, "resources": 2}
    assert figures[w.other_studio.pk] == {"lectures": 0, "live_lectures": 0, "resources": 0}
    later = studio_course_figures([w.studio.pk], start=today + datetime.timedelta(days=5),
                                  end=today + datetime.timedelta(days=9))
    assert later[w.studio.pk] == {"lectures": 0, "live_lectures": 0, "resources": 0}

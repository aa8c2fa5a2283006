"""Factories for every model the tests build (factory-boy). Shared by all test packages."""

import datetime
from types import SimpleNamespace

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import (
    AdministratorProfile,
    StudentProfile,
    TeacherProfile,
    TeacherTier,
    User,
)
from regions.models import Grade, Region, School, SchoolStage, Subject

PASSWORD = "Correct-Horse-9"  # noqa: S105 - the test users' password


class CityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    kind = Region.Kind.CITY
    code = factory.Sequence(lambda n: f"C{n:03d}")
    name = factory.Sequence(lambda n: f"城市{n}")


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    kind = Region.Kind.COUNTY
    code = factory.Sequence(lambda n: f"K{n:04d}")
    name = factory.Sequence(lambda n: f"县区{n}")
    parent = factory.SubFactory(CityFactory)


class SchoolStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolStage
        django_get_or_create = ["code"]

    code = "junior"
    name = "初中"
    order = 2


class SubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subject
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"subject{n}")
    name = factory.Sequence(lambda n: f"学科{n}")


class GradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grade
        django_get_or_create = ["code"]

    code = "g7"
    name = "七年级"
    stage = factory.SubFactory(SchoolStageFactory)
    order = 7


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"S{n:05d}")
    name = factory.Sequence(lambda n: f"学校{n}")
    county = factory.SubFactory(CountyFactory)


class TeacherTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeacherTier
        django_get_or_create = ["code"]

    code = "city-famous"
    name = "市名师"
    rank = 1
    is_three_tier = True


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudentProfile

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"student{n}"))
    school = factory.SubFactory(SchoolFactory)
    grade = factory.SubFactory(GradeFactory)
    class_name = "1班"
    student_number = factory.Sequence(lambda n: f"ST{n:08d}")
    real_name = factory.Sequence(lambda n: f"学生{n}")


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeacherProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"teacher{n}"))
    school = factory.SubFactory(SchoolFactory)
    staff_number = factory.Sequence(lambda n: f"T{n:07d}")
    real_name = factory.Sequence(lambda n: f"教师{n}")
    tier = factory.SubFactory(TeacherTierFactory)

    @factory.post_generation
    def subjects(self, create, extracted, **kwargs):
        if create and extracted:
            self.subjects.set(extracted)


class AdminFactory(factory.django.DjangoModelFactory):
    """An administrator; pass level plus region (city/county) or school."""

    class Meta:
        model = AdministratorProfile

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"admin{n}"),
                              is_staff=True)
    level = AdministratorProfile.Level.SCHOOL
    school = factory.SubFactory(SchoolFactory)
    region = None
    real_name = factory.Sequence(lambda n: f"管理员{n}")


def build_world() -> SimpleNamespace:
    """city ─┬─ county_a ── school_a (teacher_a, student_a, school_admin_a)
             └─ county_b ── school_b (teacher_b, student_b, school_admin_b)
    plus city_admin, county_admin_a, county_admin_b and another city with its own admin."""
    city = CityFactory(code="WZ", name="温州市")
    county_a = CountyFactory(code="WZ-LC", name="鹿城区", parent=city)
    county_b = CountyFactory(code="WZ-TS", name="泰顺县", parent=city)
    school_a = SchoolFactory(code="S-A", name="鹿城实验中学", county=county_a)
    school_b = SchoolFactory(code="S-B", name="泰顺育才中学", county=county_b)
    other_city = CityFactory(code="OT", name="他市")
    other_county = CountyFactory(code="OT-1", name="他县", parent=other_city)
    other_school = SchoolFactory(code="S-O", name="他校", county=other_county)
    math = SubjectFactory(code="math", name="数学")
    w = SimpleNamespace(
        city=city, county_a=county_a, county_b=county_b, school_a=school_a, school_b=school_b,
        other_city=other_city, other_county=other_county, other_school=other_school, math=math,
    )
    w.teacher_a = TeacherFactory(school=school_a, subjects=[math])
    w.teacher_b = TeacherFactory(school=school_b, subjects=[math])
    w.student_a = StudentFactory(school=school_a)
    w.student_b = StudentFactory(school=school_b)
    w.school_admin_a = AdminFactory(level="school", school=school_a)
    w.school_admin_b = AdminFactory(level="school", school=school_b)
    w.county_admin_a = AdminFactory(level="county", region=county_a, school=None)
    w.county_admin_b = AdminFactory(level="county", region=county_b, school=None)
    w.city_admin = AdminFactory(level="city", region=city, school=None)
    w.other_city_admin = AdminFactory(level="city", region=other_city, school=None)
    return w


# --- courses (issue 5) ----------------------------------------------------------------------

class CourseFactory(factory.django.DjangoModelFactory):
    """A teacher's own published city-wide course (pass studio=... and owner=None for a studio's)."""

    class Meta:
        model = "courses.Course"

    title = factory.Sequence(lambda n: f"名师大讲堂{n}")
    owner = factory.SubFactory(TeacherFactory)
    studio = None
    city = factory.LazyAttribute(lambda o: (o.studio.host_school if o.studio else o.owner.school).city)
    visibility = "city"
    status = "published"
    created_by = factory.LazyAttribute(lambda o: o.owner.user if o.owner else UserFactory())


class LectureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "courses.Lecture"

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"第{n}讲")
    starts_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=1))
    state = "draft"
    stream_push_url = "rtmp://push.example.com/live/secret-key"
    stream_play_url = "https://play.example.com/live/stream.m3u8"
    created_by = factory.LazyAttribute(lambda o: o.course.created_by)


class LectureStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "courses.LectureStaff"

    lecture = factory.SubFactory(LectureFactory)
    teacher = factory.SubFactory(TeacherFactory)
    role = "lecturer"


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "courses.Enrolment"

    course = factory.SubFactory(CourseFactory)
    user = factory.SubFactory(UserFactory)

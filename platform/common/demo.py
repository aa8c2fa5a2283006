"""Demo data: a city with 3 counties, schools, ~50 teachers, ~500 students, 5 studios and one
administrator per scope. Idempotent: every object is found by its natural key, so running it
again changes nothing. Logins are listed in README.md (DEMO_PASSWORD for all)."""

from __future__ import annotations

import random

from django.contrib.auth.hashers import make_password
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from accounts.models import AdministratorProfile, StudentProfile, TeacherProfile, TeacherTier, User
from regions.models import Grade, Region, School, SchoolStage, Subject

DEMO_PASSWORD = "xuewen-demo-2026"  # noqa: S105 - documented demo login, never in production

STAGES = [("primary", "小学", 1), ("junior", "初中", 2), ("senior", "高中", 3)]
GRADES = [(f"g{n}", name, stage, n) for n, name, stage in [
    (1, "一年级", "primary"), (2, "二年级", "primary"), (3, "三年级", "primary"),
    (4, "四年级", "primary"), (5, "五年级", "primary"), (6, "六年级", "primary"),
    (7, "七年级", "junior"), (8, "八年级", "junior"), (9, "九年级", "junior"),
    (10, "高一", "senior"), (11, "高二", "senior"), (12, "高三", "senior"),
]]
SUBJECTS = [("chinese", "语文"), ("math", "数学"), ("english", "英语"), ("physics", "物理"),
            ("chemistry", "化学"), ("biology", "生物"), ("history", "历史"), ("geography", "地理"),
            ("morality", "道德与法治"), ("science", "科学")]
TIERS = [("city-famous", "市名师", 1, True), ("city-backbone", "市学科骨干", 2, True),
         ("city-newstar", "市教坛新秀", 3, True)]
CITY = ("WZ", "温州市")
COUNTIES = [("WZ-LC", "鹿城区"), ("WZ-RA", "瑞安市"), ("WZ-TS", "泰顺县")]
SCHOOLS = [  # code, name, county code, stages
    ("330302001", "鹿城实验小学", "WZ-LC", ["primary"]),
    ("330302002", "温州市第二中学", "WZ-LC", ["junior", "senior"]),
    ("330302003", "鹿城区绣山中学", "WZ-LC", ["junior"]),
    ("330381001", "瑞安市实验小学", "WZ-RA", ["primary"]),
    ("330381002", "瑞安中学", "WZ-RA", ["senior"]),
    ("330381003", "瑞安市安阳实验中学", "WZ-RA", ["junior"]),
    ("330329001", "泰顺县实验小学", "WZ-TS", ["primary"]),
    ("330329002", "泰顺中学", "WZ-TS", ["senior"]),
    ("330329003", "泰顺县育才初级中学", "WZ-TS", ["junior"]),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏浩宇轩然思琪涵睿博文雅欣怡"

TEACHER_COUNT = 54
STUDENT_COUNT = 504


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))


@transaction.atomic
def seed_demo() -> dict[str, int]:
    """Builds (or finds) the demo world. Returns how many of each thing exist afterwards."""
    rng = random.Random(20261123)  # noqa: S311 - deterministic demo names
    password = make_password(DEMO_PASSWORD)

    stages = {}
    for code, name, order in STAGES:
        stages[code], _ = SchoolStage.objects.get_or_create(code=code, defaults={"name": name,
                                                                                 "order": order})
    grades = {}
    for code, name, stage, order in GRADES:
        grades[code], _ = Grade.objects.get_or_create(
            code=code, defaults={"name": name, "stage": stages[stage], "order": order})
    subjects = []
    for order, (code, name) in enumerate(SUBJECTS):
        subject, _ = Subject.objects.get_or_create(code=code, defaults={"name": name, "order": order})
        subjects.append(subject)
    tiers = []
    for code, name, rank, three in TIERS:
        tier, _ = TeacherTier.objects.get_or_create(
            code=code, defaults={"name": name, "rank": rank, "is_three_tier": three})
        tiers.append(tier)

    city, _ = Region.objects.get_or_create(code=CITY[0], defaults={"name": CITY[1], "kind": "city"})
    counties = {}
    for code, name in COUNTIES:
        counties[code], _ = Region.objects.get_or_create(
            code=code, defaults={"name": name, "kind": "county", "parent": city})
    schools = []
    for code, name, county, stage_codes in SCHOOLS:
        school = School.objects.filter(code=code).first()
        if school is None:
            school = School.objects.create(code=code, name=name, county=counties[county])
            school.stages.set([stages[s] for s in stage_codes])
        schools.append(school)

    def user(username: str, display_name: str, **extra) -> User:
        obj, created = User.objects.get_or_create(
            username=username, defaults={"display_name": display_name, "password": password, **extra})
        return obj

    # Administrators: one per scope (city, each county, each school) and a superuser.
    user("root", "系统管理员", is_staff=True, is_superuser=True)
    admins = [("city_admin", "city", city, None)]
    admins += [(f"county_admin_{c.split('-')[1].lower()}", "county", counties[c], None)
               for c, _ in COUNTIES]
    admins += [(f"school_admin_{s.code}", "school", None, s) for s in schools]
    for username, level, region, school in admins:
        u = user(username, f"{level}管理员", is_staff=True)
        AdministratorProfile.objects.get_or_create(
            user=u, defaults={"level": level, "region": region, "school": school,
                              "real_name": _name(rng)})

    for n in range(TEACHER_COUNT):
        school = schools[n % len(schools)]
        u = user(f"teacher{n + 1:03d}", f"{SURNAMES[n % len(SURNAMES)]}老师")
        profile, created = TeacherProfile.objects.get_or_create(
            user=u, defaults={"school": school, "staff_number": f"T{n + 1:05d}",
                              "real_name": _name(rng),
                              # two in three teachers hold a tier, as in a famous-teacher programme
                              "tier": tiers[n % 3] if n % 3 != 2 or n < 9 else None})
        if created:
            profile.subjects.set([subjects[n % len(subjects)]])

    existing = set(StudentProfile.objects.values_list("user__username", flat=True))
    stage_of_grade = {code: stage for code, _, stage, _ in GRADES}
    grades_of_school = {
        school.pk: [code for code, _, _, _ in GRADES
                    if stage_of_grade[code] in {st.code for st in school.stages.all()}]
        for school in schools
    }
    new_users, new_profiles = [], []
    for n in range(STUDENT_COUNT):
        username = f"student{n + 1:03d}"
        if username in existing:
            continue
        school = schools[n % len(schools)]
        school_grades = grades_of_school[school.pk]
        grade = grades[school_grades[n % len(school_grades)]]
        u = User(username=username, display_name=f"同学{n + 1}", password=password)
        new_users.append(u)
        new_profiles.append(StudentProfile(
            user=u, school=school, grade=grade, class_name=f"{n % 4 + 1}班",
            student_number=f"G{school.code}{n + 1:05d}", real_name=_name(rng)))
    # With history rows, so the audit trail shows where every account came from.
    bulk_create_with_history(new_users, User, batch_size=500)
    users_by_name = User.objects.in_bulk([u.username for u in new_users], field_name="username")
    for profile in new_profiles:
        profile.user = users_by_name[profile.user.username]
    bulk_create_with_history(new_profiles, StudentProfile, batch_size=500)

    from common.demo_studios import seed_demo_studios

    seed_demo_studios(rng=rng)

    from service_records.assessment.demo_schemes import seed_demo_schemes

    seed_demo_schemes()

    from courses.demo import seed_demo_courses
    from studios.demo_activities import seed_demo_activities

    seed_demo_courses()
    seed_demo_activities()

    return {
        "counties": len(counties), "schools": len(schools),
        "teachers": TeacherProfile.objects.count(), "students": StudentProfile.objects.count(),
        "administrators": AdministratorProfile.objects.count(),
    }

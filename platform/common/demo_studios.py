"""Demo studios: the standard studio kinds and 5 studios with hosts, members and trainees, built
through the studios services (so the demo obeys the same limits). Idempotent: kinds are found
by code and studios by name; an existing studio is left as it is."""

from __future__ import annotations

import datetime

from accounts.models import TeacherProfile, User
from regions.models import School, SchoolStage, Subject
from studios.models import Membership, Studio, StudioKind
from studios.services import membership_add, studio_create

# code, name, cycle years, max members, min members, min from other schools, max trainees,
# min trainees. Seed 003 (Hangjin): 3-year cycle, 8 members of whom at least 5 from other
# schools, fewer than 10 trainees. Seed 004 (Wenzhou outreach): 2 years, 10 or more trainees.
KINDS = [
    ("subject", "学科工作室", 3, 8, 5, 5, 10, 0),
    ("principal", "名校长工作室", 3, 8, 5, 5, 10, 0),
    ("class-teacher", "名班主任工作室", 3, 8, 5, 5, 10, 0),
    ("outreach", "名师送教工作站", 2, None, 0, 0, None, 10),
]
# name, kind code, host's username, host school code (None: the host's school), subject code,
# stage code, cycle start, members, trainees
STUDIOS = [
    ("鹿城小学语文名师工作室", "subject", "teacher001", None, "chinese", "primary",
     datetime.date(2024, 9, 1), 6, 5),
    ("瑞安小学数学名师工作室", "subject", "teacher022", None, "math", "primary",
     datetime.date(2024, 9, 1), 5, 4),
    ("温州二中高中语文名师工作室", "subject", "teacher011", None, "chinese", "senior",
     datetime.date(2025, 9, 1), 5, 6),
    ("泰顺名班主任工作室", "class-teacher", "teacher007", None, None, None,
     datetime.date(2025, 2, 1), 5, 3),
    ("泰顺初中科学名师送教工作站", "outreach", "teacher010", "330329003", "science", "junior",
     datetime.date(2025, 9, 1), 2, 10),
]


def _kinds() -> dict[str, StudioKind]:
    kinds = {}
    for order, (code, name, years, max_m, min_m, min_other, max_t, min_t) in enumerate(KINDS):
        kinds[code], _ = StudioKind.objects.get_or_create(code=code, defaults={
            "name": name, "default_cycle_years": years, "max_members": max_m, "min_members": min_m,
            "min_members_from_other_schools": min_other, "max_trainees": max_t, "min_trainees": min_t,
            "order": order})
    return kinds


def seed_demo_studios(*, rng) -> None:
    kinds = _kinds()
    actor = User.objects.filter(is_superuser=True).order_by("pk").first()
    teachers = list(TeacherProfile.objects.select_related("school", "user").order_by("staff_number"))
    for name, kind_code, host_username, school_code, subject_code, stage_code, start, members, trainees \
            in STUDIOS:
        if Studio.objects.filter(name=name).exists():
            continue
        host = next(t for t in teachers if t.user.username == host_username)
        host_school = School.objects.get(code=school_code) if school_code else host.school
        studio = studio_create(
            actor=actor, name=name, kind=kinds[kind_code], host=host, host_school=host_school,
            subject=Subject.objects.filter(code=subject_code).first() if subject_code else None,
            stage=SchoolStage.objects.filter(code=stage_code).first() if stage_code else None,
            cycle_start=start, description=f"{name}：课例研讨、名师导教与在线答疑。")
        others = [t for t in teachers if t.pk != host.pk and t.school_id != host_school.pk]
        if kind_code == "outreach":  # trainees come from the county the station serves
            local = [t for t in teachers if t.pk != host.pk and t.school.county_id == host_school.county_id]
            trainee_pool, member_pool = local, [t for t in others if t not in local]
        else:
            trainee_pool = member_pool = others
        chosen_members = rng.sample(member_pool, members)
        trainee_pool = [t for t in trainee_pool if t not in chosen_members]
        chosen_trainees = rng.sample(trainee_pool, min(trainees, len(trainee_pool)))
        for teacher in chosen_members:
            membership_add(actor=actor, studio=studio, teacher=teacher, role=Membership.Role.MEMBER,
                           joined_on=start)
        for teacher in chosen_trainees:
            membership_add(actor=actor, studio=studio, teacher=teacher, role=Membership.Role.TRAINEE,
                           joined_on=start)

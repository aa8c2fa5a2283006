"""Row validation for the onboarding import: one pure function per kind turns the cells of a
row into a clean, compact row or a list of (field, message) errors. No database access here:
everything a row is checked against is in an :class:`ImportContext`, loaded once per import
(regions, schools, stages, grades, subjects, tiers, the caller's scope)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext as _

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}\Z")
LIST_SPLIT_RE = re.compile(r"[,，、;；/|\s]+")
# Prefixes of the derived usernames (see derive_username); a username given in a sheet may not
# start with them, so a chosen name can never take the name derived for another person.
RESERVED_USERNAME_PREFIXES = ("s.", "t.")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
NAME_MAX, CLASS_MAX, SCHOOL_NAME_MAX = 64, 32, 128

Errors = list[tuple[str, str]]


class SchoolRef(NamedTuple):
    id: int
    code: str
    county_id: int
    city_id: int
    stage_ids: frozenset


class CountyRef(NamedTuple):
    id: int
    code: str
    city_id: int


class GradeRef(NamedTuple):
    id: int
    stage_id: int


class SchoolRow(NamedTuple):
    row: int
    code: str
    name: str
    county_id: int
    city_id: int
    stage_ids: frozenset


class TeacherRow(NamedTuple):
    row: int
    school_id: int
    school_code: str
    staff_number: str
    real_name: str
    subject_ids: frozenset
    tier_id: int | None
    username: str
    password: str


class StudentRow(NamedTuple):
    row: int
    school_id: int
    school_code: str
    student_number: str
    real_name: str
    grade_id: int
    class_name: str


@dataclass
class Scope:
    """What the caller may import into: 'all' (superuser, command line), or their city,
    county or school (AdministratorProfile)."""

    level: str
    region_id: int | None = None
    school_id: int | None = None

    def holds_school(self, school: SchoolRef) -> bool:
        if self.level == "all":
            return True
        if self.level == "city":
            return school.city_id == self.region_id
        if self.level == "county":
            return school.county_id == self.region_id
        return school.id == self.school_id

    def holds_county(self, county: CountyRef) -> bool:
        if self.level == "all":
            return True
        if self.level == "city":
            return county.city_id == self.region_id
        if self.level == "county":
            return county.id == self.region_id
        return False


@dataclass
class ImportContext:
    """Reference data for validating rows, keyed by the texts a sheet may hold."""

    scope: Scope
    schools: dict[str, SchoolRef] = field(default_factory=dict)  # by code
    counties: dict[str, CountyRef] = field(default_factory=dict)  # by code (lower case)
    stages: dict[str, int] = field(default_factory=dict)  # by code or name (lower case)
    grades: dict[str, GradeRef] = field(default_factory=dict)  # by code or name (lower case)
    subjects: dict[str, int] = field(default_factory=dict)  # by code or name (lower case)
    tiers: dict[str, int] = field(default_factory=dict)  # by code or name (lower case)
    stage_names: dict[int, str] = field(default_factory=dict)


def derive_username(kind: str, school_code: str, number: str) -> str:
    """The login name of an imported account: ``s.<school code>.<student number>`` for a
    student, ``t.<school code>.<staff number>`` for a teacher. School codes are unique in the
    platform and numbers unique within a school and free of dots, so the name is unique
    platform-wide and the same on every re-import."""
    return f"{'s' if kind == 'students' else 't'}.{school_code}.{number}"


def clean_code(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def clean_text(value: str) -> str:
    return " ".join(value.replace("\u3000", " ").split())


def _key(value: str, field_name: str, label: str, errors: Errors) -> str:
    code = clean_code(value)
    if not code:
        errors.append((field_name, _("%(label)s is required.") % {"label": label}))
    elif not KEY_RE.match(code):
        errors.append((field_name, _("%(label)s '%(value)s' may hold only letters, digits, - and _ "
                                     "(at most 32).") % {"label": label, "value": code[:40]}))
    return code


def _name(value: str, field_name: str, errors: Errors, *, max_length: int = NAME_MAX) -> str:
    name = clean_text(value)
    if not name:
        errors.append((field_name, _("A name is required.")))
    elif len(name) > max_length:
        errors.append((field_name, _("The name is longer than %(max)s characters.") % {"max": max_length}))
    return name


def _split(value: str) -> list[str]:
    return [part for part in LIST_SPLIT_RE.split(clean_code(value)) if part]


def _school(value: str, ctx: ImportContext, errors: Errors) -> SchoolRef | None:
    code = clean_code(value)
    if not code:
        errors.append(("school_code", _("A school code is required.")))
        return None
    school = ctx.schools.get(code)
    if school is None:
        errors.append(("school_code", _("unknown school code '%(code)s'") % {"code": code[:40]}))
        return None
    if not ctx.scope.holds_school(school):
        errors.append(("school_code", _("school '%(code)s' is outside your scope") % {"code": code}))
        return None
    return school


def clean_school_row(row: int, cells: dict[str, str], ctx: ImportContext,
                     existing: SchoolRef | None = None) -> tuple[SchoolRow | None, Errors]:
    """A school: code (key), name, county in the caller's scope, stages. ``existing`` is the
    school already holding the code, if any: it must lie in the caller's scope too."""
    errors: Errors = []
    code = _key(cells.get("code", ""), "code", _("The school code"), errors)
    existing = existing or ctx.schools.get(code)
    if existing is not None and not ctx.scope.holds_school(existing):
        errors.append(("code", _("school '%(code)s' exists in a county outside your scope") % {"code": code}))
    name = _name(cells.get("name", ""), "name", errors, max_length=SCHOOL_NAME_MAX)
    county_code = clean_code(cells.get("county_code", ""))
    county = ctx.counties.get(county_code.lower())
    if not county_code:
        errors.append(("county_code", _("A county code is required.")))
    elif county is None:
        errors.append(("county_code", _("unknown county code '%(code)s'") % {"code": county_code[:40]}))
    elif not ctx.scope.holds_county(county):
        errors.append(("county_code", _("county '%(code)s' is outside your scope") % {"code": county_code}))
    stage_ids = set()
    for part in _split(cells.get("stages", "")):
        stage = ctx.stages.get(part.lower())
        if stage is None:
            errors.append(("stages", _("unknown school stage '%(stage)s'") % {"stage": part[:40]}))
        else:
            stage_ids.add(stage)
    if errors:
        return None, errors
    return SchoolRow(row, code, name, county.id, county.city_id, frozenset(stage_ids)), errors


def clean_teacher_row(row: int, cells: dict[str, str],
                      ctx: ImportContext) -> tuple[TeacherRow | None, Errors]:
    errors: Errors = []
    school = _school(cells.get("school_code", ""), ctx, errors)
    staff_number = _key(cells.get("staff_number", ""), "staff_number", _("The staff number"), errors)
    real_name = _name(cells.get("real_name", ""), "real_name", errors)
    subject_ids = set()
    for part in _split(cells.get("subjects", "")):
        subject = ctx.subjects.get(part.lower())
        if subject is None:
            errors.append(("subjects", _("unknown subject '%(subject)s'") % {"subject": part[:40]}))
        else:
            subject_ids.add(subject)
    tier_text = clean_text(cells.get("tier_code", ""))
    tier_id = None
    if tier_text:
        tier_id = ctx.tiers.get(tier_text.lower())
        if tier_id is None:
            errors.append(("tier_code", _("unknown teacher tier '%(tier)s'") % {"tier": tier_text[:40]}))
    username = clean_code(cells.get("username", ""))
    if username:
        if not USERNAME_RE.match(username):
            errors.append(("username", _("A username may hold only letters, digits and @ . + - _ "
                                         "(at most 150).")))
        elif username.lower().startswith(RESERVED_USERNAME_PREFIXES):
            errors.append(("username", _("Usernames starting with 's.' or 't.' are reserved for "
                                         "derived names; leave the cell empty to get one.")))
    password = cells.get("initial_password", "").strip()
    if password and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors.append(("initial_password", _("An initial password needs %(min)s to %(max)s characters.")
                       % {"min": PASSWORD_MIN, "max": PASSWORD_MAX}))
    if errors:
        return None, errors
    return TeacherRow(row, school.id, school.code, staff_number, real_name, frozenset(subject_ids),
                      tier_id, username, password), errors


def clean_student_row(row: int, cells: dict[str, str],
                      ctx: ImportContext) -> tuple[StudentRow | None, Errors]:
    errors: Errors = []
    school = _school(cells.get("school_code", ""), ctx, errors)
    number = _key(cells.get("student_number", ""), "student_number", _("The student number"), errors)
    real_name = _name(cells.get("real_name", ""), "real_name", errors)
    grade_text = clean_code(cells.get("grade", ""))
    grade = ctx.grades.get(grade_text.lower())
    if not grade_text:
        errors.append(("grade", _("A grade is required.")))
    elif grade is None:
        errors.append(("grade", _("unknown grade code '%(grade)s'") % {"grade": grade_text[:40]}))
    elif school is not None and school.stage_ids and grade.stage_id not in school.stage_ids:
        errors.append(("grade", _("grade '%(grade)s' is not taught at school '%(school)s' (stages: "
                                  "%(stages)s)") % {
            "grade": grade_text, "school": school.code,
            "stages": "、".join(sorted(ctx.stage_names.get(s, str(s)) for s in school.stage_ids))}))
    class_name = clean_code(cells.get("class_name", ""))
    if len(class_name) > CLASS_MAX:
        errors.append(("class_name", _("The class is longer than %(max)s characters.") % {"max": CLASS_MAX}))
    if errors:
        return None, errors
    return StudentRow(row, school.id, school.code, number, real_name, grade.id, class_name), errors


CLEANERS = {"schools": clean_school_row, "teachers": clean_teacher_row, "students": clean_student_row}

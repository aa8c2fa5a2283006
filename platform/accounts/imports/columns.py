"""The columns of each import kind: the canonical field, the headers accepted for it (Chinese
as the bureaus write them, and English), whether the column must be present and whether a
value is required. docs/onboarding.md documents the same table; the API serves a template
per kind built from it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # the header written in templates (Chinese, as the bureaus use)
    aliases: tuple[str, ...]  # other headers accepted (compared after normalize_header)
    help: str
    required_column: bool = True
    required_value: bool = True
    example: str = ""


_SCHOOL_CODE = ("学校代码", "学校编码", "学校标识码", "学校编号", "school_code", "schoolcode", "school")

COLUMNS: dict[str, tuple[Column, ...]] = {
    "schools": (
        Column("code", "学校代码", ("学校编码", "学校标识码", "学校编号", "code", "school_code"),
               _("School code, unique in the platform (letters, digits, - and _)."), example="330302004"),
        Column("name", "学校名称", ("学校名", "校名", "name", "school_name"),
               _("Full name of the school."), example="鹿城区第四中学"),
        Column("county_code", "县区代码", ("县市区代码", "区县代码", "县区", "county_code", "county"),
               _("Code of the county (县市区) the school belongs to."), example="WZ-LC"),
        Column("stages", "学段", ("stages", "stage"),
               _("School stages (codes or names), separated by 、 , or ;."), required_value=False,
               example="初中、高中"),
    ),
    "teachers": (
        Column("school_code", "学校代码", _SCHOOL_CODE[1:], _("Code of the teacher's school."),
               example="330302002"),
        Column("staff_number", "工号", ("教师工号", "职工号", "教职工号", "staff_number", "staff_no"),
               _("Staff number, unique within the school (letters, digits, - and _)."), example="T00123"),
        Column("real_name", "姓名", ("教师姓名", "real_name", "name"), _("Real name."), example="王芳"),
        Column("subjects", "学科", ("任教学科", "subjects", "subject"),
               _("Subjects taught (codes or names), separated by 、 , or ;."), required_value=False,
               example="数学、科学"),
        Column("tier_code", "层次", ("名师层次", "三层次", "教师层次", "tier", "tier_code"),
               _("Teacher tier (code or name); empty for none."), required_value=False,
               example="市学科骨干"),
        Column("username", "用户名", ("账号", "登录名", "username"),
               _("Optional login name for a new account; derived from the keys when empty."),
               required_column=False, required_value=False),
        Column("initial_password", "初始密码", ("密码", "initial_password", "password"),
               _("Optional initial password for a new account (8 to 128 characters); generated "
                 "when empty."), required_column=False, required_value=False),
    ),
    "students": (
        Column("school_code", "学校代码", _SCHOOL_CODE[1:], _("Code of the student's school."),
               example="330302002"),
        Column("student_number", "学籍号", ("学生学籍号", "全国学籍号", "student_number", "student_no"),
               _("Student number (学籍号), unique within the school (letters, digits, - and _)."),
               example="G330302201301010001"),
        Column("real_name", "姓名", ("学生姓名", "real_name", "name"), _("Real name."), example="李明"),
        Column("grade", "年级", ("年级代码", "grade", "grade_code"),
               _("Grade (code such as g7, or name such as 七年级)."), example="七年级"),
        Column("class_name", "班级", ("班级名称", "班", "class", "class_name"),
               _("Class within the grade."), required_value=False, example="3班"),
    ),
}

KINDS = tuple(COLUMNS)

_PARENTHESES = re.compile(r"[(（\[【].*?[)）\]】]")


def normalize_header(value: object) -> str:
    """'学籍号*' / ' Student Number ' / '年级（代码）' → '学籍号' / 'student_number' / '年级'."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    text = _PARENTHESES.sub("", text)
    text = text.replace("*", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def _lookup(kind: str) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for column in COLUMNS[kind]:
        for name in (column.header, column.field, *column.aliases):
            table.setdefault(normalize_header(name), column)
    return table


LOOKUP: dict[str, dict[str, Column]] = {kind: _lookup(kind) for kind in KINDS}


def match_header(kind: str, cells: tuple) -> dict[int, tuple[Column, str]]:
    """Positions of the recognised columns in a header row: {index: (column, header as written)}.
    Unrecognised columns are ignored (bureau sheets carry many we do not keep)."""
    lookup = LOOKUP[kind]
    found: dict[int, tuple[Column, str]] = {}
    for index, cell in enumerate(cells):
        column = lookup.get(normalize_header(cell))
        if column is not None:
            found[index] = (column, str(cell).strip())
    return found

"""The row validators (accounts.imports.rows) and the sheet readers, without a database."""

import io
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from accounts.imports.columns import match_header, normalize_header
from accounts.imports.readers import UnreadableFile, cell_text, detect_encoding, iter_rows, sniff
from accounts.imports.rows import (
    KEY_RE,
    CountyRef,
    GradeRef,
    ImportContext,
    SchoolRef,
    Scope,
    StudentRow,
    clean_school_row,
    clean_student_row,
    clean_teacher_row,
    derive_username,
)
from tests.accounts.test_imports_support import csv_bytes, xlsx_bytes

SCHOOL_A = SchoolRef(1, "S-A", county_id=10, city_id=100, stage_ids=frozenset({7}))
SCHOOL_B = SchoolRef(2, "S-B", county_id=11, city_id=100, stage_ids=frozenset())
SCHOOL_O = SchoolRef(3, "S-O", county_id=20, city_id=200, stage_ids=frozenset())


def context(scope=None) -> ImportContext:
    return ImportContext(
        scope=scope or Scope("all"),
        schools={s.code: s for s in (SCHOOL_A, SCHOOL_B, SCHOOL_O)},
        counties={"wz-lc": CountyRef(10, "WZ-LC", 100), "wz-ts": CountyRef(11, "WZ-TS", 100),
                  "ot-1": CountyRef(20, "OT-1", 200)},
        stages={"junior": 7, "初中": 7, "primary": 1, "小学": 1},
        grades={"g7": GradeRef(70, 7), "七年级": GradeRef(70, 7), "g1": GradeRef(10, 1)},
        subjects={"math": 5, "数学": 5},
        tiers={"city-famous": 9, "市名师": 9},
        stage_names={7: "初中", 1: "小学"},
    )


STUDENT_FIELDS = {"school_code", "student_number", "real_name", "grade", "class_name"}
key_text = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
name_text = st.text(st.characters(categories=["Lo", "Lu", "Ll"]), min_size=1, max_size=64)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(STUDENT_FIELDS)), st.text(max_size=80)))
def test_any_student_row_is_either_clean_or_has_errors_naming_its_fields(cells):
    cleaned, errors = clean_student_row(7, cells, context())
    assert (cleaned is None) == bool(errors)
    assert {field for field, _message in errors} <= STUDENT_FIELDS
    assert all(isinstance(message, str) and message for _field, message in errors)


@settings(max_examples=200, deadline=None)
@given(number=key_text, name=name_text, grade=st.sampled_from(["g7", "G7", "七年级", " g7 "]),
       class_name=st.sampled_from(["", "1班", "（2）班"]))
def test_a_valid_student_row_comes_out_clean(number, name, grade, class_name):
    cleaned, errors = clean_student_row(3, {"school_code": "S-A", "student_number": number,
                                            "real_name": name, "grade": grade, "class_name": class_name},
                                        context())
    assert errors == []
    expected_class = class_name.replace("（", "(").replace("）", ")")
    assert cleaned == StudentRow(3, 1, "S-A", number, name, 70, expected_class)


@settings(max_examples=300, deadline=None)
@given(number=st.one_of(st.text(max_size=40), key_text))
def test_a_student_number_is_refused_exactly_when_it_leaves_the_key_alphabet(number):
    cells = {"school_code": "S-A", "student_number": number, "real_name": "张三", "grade": "g7"}
    _cleaned, errors = clean_student_row(2, cells, context())
    normalized = unicodedata.normalize("NFKC", number).strip()  # full-width digits are digits
    assert ([f for f, _m in errors] == ["student_number"]) == (not KEY_RE.match(normalized))


@pytest.mark.parametrize(("scope", "allowed"), [
    (Scope("all"), {"S-A", "S-B", "S-O"}),
    (Scope("city", region_id=100), {"S-A", "S-B"}),
    (Scope("county", region_id=10), {"S-A"}),
    (Scope("school", school_id=2), {"S-B"}),
])
def test_rows_outside_the_scope_are_errors_on_the_school_column(scope, allowed):
    for school in ("S-A", "S-B", "S-O"):
        cells = {"school_code": school, "staff_number": "T1", "real_name": "王"}
        _cleaned, errors = clean_teacher_row(2, cells, context(scope))
        assert (errors == []) == (school in allowed)
        if errors:
            assert errors == [("school_code", f"school '{school}' is outside your scope")]


def test_a_grade_outside_the_schools_stages_is_refused_but_any_grade_fits_a_school_without_stages():
    cells = {"student_number": "G1", "real_name": "张三", "grade": "g1"}
    assert clean_student_row(2, {**cells, "school_code": "S-A"}, context())[1][0][0] == "grade"
    assert clean_student_row(2, {**cells, "school_code": "S-B"}, context())[1] == []


def test_school_rows_check_the_county_scope_and_the_existing_schools_county():
    county = context(Scope("county", region_id=10))
    cells = {"code": "S-N", "name": "新校", "county_code": "wz-lc", "stages": "初中、小学"}
    ok, errors = clean_school_row(2, cells, county)
    assert errors == [] and ok.stage_ids == frozenset({1, 7}) and ok.city_id == 100
    _ok, errors = clean_school_row(2, {"code": "S-B", "name": "改", "county_code": "WZ-LC"}, county)
    assert [f for f, _m in errors] == ["code"]
    cells = {"code": "S-N", "name": "新校", "county_code": "WZ-TS", "stages": "大学"}
    _ok, errors = clean_school_row(2, cells, county)
    assert [f for f, _m in errors] == ["county_code", "stages"]


def test_teacher_usernames_may_not_take_the_derived_prefixes():
    cells = {"school_code": "S-A", "staff_number": "T1", "real_name": "王", "username": "s.S-A.G1"}
    assert [f for f, _m in clean_teacher_row(2, cells, context())[1]] == ["username"]


@given(school=key_text, a=key_text, b=key_text)
def test_derived_usernames_are_distinct_for_distinct_keys(school, a, b):
    assert (derive_username("students", school, a) == derive_username("students", school, b)) == (a == b)
    assert derive_username("students", school, a) != derive_username("teachers", school, a)


# --- headers and readers ------------------------------------------------------------------------

def test_headers_are_matched_loosely():
    assert normalize_header(" 学籍号* ") == "学籍号"
    assert normalize_header("年级（代码）") == "年级"
    assert normalize_header("Student Number") == "student_number"
    found = match_header("students", ("序号", "学校代码", "学籍号", "姓名", "年级", "班级", "身份证号"))
    assert sorted(column.field for column, _h in found.values()) == sorted(
        ["school_code", "student_number", "real_name", "grade", "class_name"])


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (330302, "330302"), (330302.0, "330302"), (1.5, "1.5"), ("七年级", "七年级"), (True, "1"),
])
def test_cells_read_as_the_text_a_person_sees(value, text):
    assert cell_text(value) == text


def test_encodings_are_detected_over_the_whole_file():
    late_gbk = ("a,b\n" + "x,y\n" * 400_000).encode() + "张三,李四\n".encode("gbk")
    assert detect_encoding(io.BytesIO(late_gbk)) == "gb18030"
    assert detect_encoding(io.BytesIO("张三".encode())) == "utf-8"
    assert detect_encoding(io.BytesIO("张三".encode("utf-8-sig"))) == "utf-8-sig"
    assert detect_encoding(io.BytesIO("张三".encode("utf-16"))) == "utf-16"


def test_utf16_tab_separated_text_as_excel_saves_it_is_read():
    content = "学校代码\t学籍号\nS-A\tG1\n".encode("utf-16")
    assert list(iter_rows(io.BytesIO(content), "x.csv")) == [(1, ("学校代码", "学籍号")), (2, ("S-A", "G1"))]


def test_xlsx_rows_keep_their_excel_numbers_across_gaps_and_a_wrong_dimension():
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["A2"], sheet["B5"] = "h", 1, "x"
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = list(iter_rows(io.BytesIO(buffer.getvalue()), "x.xlsx"))
    assert rows[0] == (1, ("h",)) and rows[-1][0] == 5 and rows[-1][1][-1] == "x"


def test_csv_and_xlsx_give_the_same_rows():
    data = [["学校代码", "学籍号"], ["S-A", "G0001"], ["S-A", "0002"]]
    from_csv = list(iter_rows(io.BytesIO(csv_bytes(data, encoding="gb18030")), "a.csv"))
    from_xlsx = list(iter_rows(io.BytesIO(xlsx_bytes(data)), "a.xlsx"))
    assert from_csv == from_xlsx == [(n, tuple(r)) for n, r in enumerate(data, start=1)]


def test_a_damaged_workbook_is_refused_when_sniffed():
    with pytest.raises(UnreadableFile):
        sniff(io.BytesIO(b"PK\x03\x04garbage"), "a.xlsx", max_bytes=10**6)
    assert sniff(io.BytesIO(xlsx_bytes([["a"]])), "a.xlsx", max_bytes=10**6) == "xlsx"


def test_a_workbook_damaged_inside_a_sheet_is_an_unreadable_file():
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["a"], ["b"]])))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    with pytest.raises(UnreadableFile):
        list(iter_rows(io.BytesIO(damaged.getvalue()), "a.xlsx"))

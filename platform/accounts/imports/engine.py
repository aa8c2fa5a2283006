"""The onboarding import engine: read a sheet row by row, validate every row, and write schools,
teachers or students in bulk, all or nothing.

How it stays fast and small at city scale (636,000 students):
- rows are streamed from the file (readers.py) and validated against reference data loaded
  once into dicts (schools, counties, stages, grades, subjects, tiers: a few thousand rows);
- valid rows are handled in batches of BATCH_SIZE: one query finds which keys of the batch
  already exist, one which derived usernames are taken, then bulk_create / bulk_update (with
  simple-history rows, so the audit trail shows every account an import created or changed);
- the only thing kept for the whole file is the set of keys seen (to report duplicates).

All or nothing: everything runs in one transaction. After the first error the engine keeps
validating (to report every error, up to ERROR_CAP listed) but stops writing, and the
transaction is rolled back at the end. A dry run validates and counts the same way and rolls back.

Idempotent: rows are matched on their natural keys (school code; school + staff number; school +
student number). A row equal to what is stored changes nothing; a changed row updates the
fields the sheet carries. Usernames and passwords of existing accounts are never touched.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from accounts.imports.columns import COLUMNS, match_header
from accounts.imports.credentials import CredentialsSpool
from accounts.imports.readers import UnreadableFile, iter_rows
from accounts.imports.rows import (
    CLEANERS,
    CountyRef,
    GradeRef,
    ImportContext,
    SchoolRef,
    Scope,
    derive_username,
)
from accounts.models import StudentProfile, TeacherProfile, TeacherTier, User
from accounts.services import initial_password_generate, initial_password_hash
from common.errors import Forbidden
from regions.models import Grade, Region, School, SchoolStage, Subject

BATCH_SIZE = 2000
ERROR_CAP = 1000
HEADER_SEARCH_ROWS = 10  # bureau sheets often carry a title row or two above the header

KEY_FIELD = {"schools": "code", "teachers": "staff_number", "students": "student_number"}


@dataclass
class ImportReport:
    """What an import did (or, for a dry run or a failed import, would have done)."""

    kind: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    new_accounts: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < ERROR_CAP:
            self.errors.append({"row": row, "column": column, "message": str(message)})

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "dry_run": self.dry_run, "rows": self.rows, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "error_count": self.error_count,
            "errors": self.errors, "new_accounts": self.new_accounts,
        }


def import_scope(user: User | None) -> Scope:
    """The caller's import scope. ``None`` is the command line (everything). Raises Forbidden
    for anybody who is not an administrator."""
    if user is None or user.is_superuser:
        return Scope("all")
    profile = getattr(user, "admin_profile", None)
    if profile is None or not user.is_active:
        raise Forbidden(_("Only administrators may import schools, teachers and students."))
    return Scope(profile.level, region_id=profile.region_id, school_id=profile.school_id)


def access_import_kind(*, scope: Scope, kind: str) -> None:
    """School administrators import their own teachers and students, not schools."""
    if kind == "schools" and scope.level == "school":
        raise Forbidden(_("Schools are imported by city or county administrators."))


def load_context(*, kind: str, scope: Scope) -> ImportContext:
    """Reference data, one query per table (every table here has at most a few thousand rows)."""
    ctx = ImportContext(scope=scope)
    school_stages: dict[int, set[int]] = defaultdict(set)
    for school_id, stage_id in School.stages.through.objects.values_list("school_id", "schoolstage_id"):
        school_stages[school_id].add(stage_id)
    for pk, code, county_id, city_id in School.objects.values_list("pk", "code", "county_id", "city_id"):
        ctx.schools[code] = SchoolRef(pk, code, county_id, city_id, frozenset(school_stages.get(pk, ())))
    for pk, code, name in SchoolStage.objects.values_list("pk", "code", "name"):
        ctx.stages.setdefault(code.lower(), pk)
        ctx.stages.setdefault(name.lower(), pk)
        ctx.stage_names[pk] = name
    if kind == "schools":
        for pk, code, parent_id in Region.objects.filter(kind=Region.Kind.COUNTY).values_list(
                "pk", "code", "parent_id"):
            ctx.counties[code.lower()] = CountyRef(pk, code, parent_id)
    if kind == "students":
        for pk, code, name, stage_id in Grade.objects.values_list("pk", "code", "name", "stage_id"):
            ctx.grades.setdefault(code.lower(), GradeRef(pk, stage_id))
            ctx.grades.setdefault(name.lower(), GradeRef(pk, stage_id))
    if kind == "teachers":
        for pk, code, name in Subject.objects.values_list("pk", "code", "name"):
            ctx.subjects.setdefault(code.lower(), pk)
            ctx.subjects.setdefault(name.lower(), pk)
        for pk, code, name in TeacherTier.objects.values_list("pk", "code", "name"):
            ctx.tiers.setdefault(code.lower(), pk)
            ctx.tiers.setdefault(name.lower(), pk)
    return ctx


class _Sheet:
    """The header of a sheet and its cleaned rows, streamed."""

    def __init__(self, kind: str, report: ImportReport):
        self.kind = kind
        self.report = report
        self.header_of = {column.field: column.header for column in COLUMNS[kind]}
        self.positions: list[tuple[int, str]] = []

    def _find_header(self, rows: Iterator[tuple[int, tuple[str, ...]]]) -> bool:
        first = None
        for number, cells in itertools.islice(rows, HEADER_SEARCH_ROWS):
            if not any(c.strip() for c in cells):
                continue
            first = first or number
            found = match_header(self.kind, cells)
            if len(found) < 2:
                continue
            fields = [column.field for column, _header in found.values()]
            for column, header in found.values():
                if fields.count(column.field) > 1:
                    self.report.error(number, header, _("Two columns hold %(column)s: keep one.")
                                      % {"column": column.header})
                    return False
            missing = [c for c in COLUMNS[self.kind] if c.required_column and c.field not in fields]
            for column in missing:
                self.report.error(number, column.header, _("The column '%(column)s' is missing.")
                                  % {"column": column.header})
            if missing:
                return False
            self.positions = [(index, column.field) for index, (column, _h) in found.items()]
            self.header_of.update({column.field: header for column, header in found.values()})
            return True
        expected = "、".join(c.header for c in COLUMNS[self.kind] if c.required_column)
        self.report.error(first or 1, None, _("No header row found in the first %(n)s rows; expected "
                                              "the columns %(columns)s.") % {"n": HEADER_SEARCH_ROWS,
                                                                             "columns": expected})
        return False

    def clean_rows(self, file: BinaryIO, filename: str, ctx: ImportContext) -> Iterator[tuple]:
        rows = iter_rows(file, filename)
        if not self._find_header(rows):
            return
        cleaner = CLEANERS[self.kind]
        key_field = KEY_FIELD[self.kind]
        seen: dict[tuple, int] = {}
        for number, cells in rows:
            width = len(cells)
            values = {f: (cells[i] if i < width else "") for i, f in self.positions}
            if not any(v.strip() for v in values.values()):
                continue  # blank lines between blocks are common in hand-kept sheets
            self.report.rows += 1
            cleaned, errors = cleaner(number, values, ctx)
            for field_name, message in errors:
                self.report.error(number, self.header_of[field_name], message)
            if cleaned is None:
                continue
            key = (cleaned.code,) if self.kind == "schools" else (cleaned.school_id, cleaned[3])
            first = seen.get(key)
            if first is not None:
                self.report.error(number, self.header_of[key_field],
                                  _("'%(key)s' appears twice in the file (first in row %(row)s)")
                                  % {"key": key[-1], "row": first})
                continue
            seen[key] = number
            yield cleaned


def _batches(iterable, size: int):
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _link(through, owner: str, target: str, targets: dict[int, frozenset]) -> None:
    """Many-to-many rows (owner id → target ids) in bulk."""
    through.objects.bulk_create(
        [through(**{owner: owner_id, target: target_id})
         for owner_id, target_ids in targets.items() for target_id in target_ids],
        batch_size=BATCH_SIZE)


class _Writer:
    def __init__(self, *, ctx: ImportContext, report: ImportReport, sheet: _Sheet, actor: User | None,
                 reason: str, credentials: CredentialsSpool | None):
        self.ctx = ctx
        self.report = report
        self.sheet = sheet
        self.actor = actor
        self.reason = reason[:100]
        self.credentials = credentials

    def history_kwargs(self) -> dict:
        return {"default_user": self.actor, "default_change_reason": self.reason}

    def taken_usernames(self, wanted: dict[str, tuple]) -> set[str]:
        return set(User.objects.filter(username__in=list(wanted)).values_list("username", flat=True))

    def new_users(self, rows: list, kind: str) -> tuple[list[User], list[tuple]]:
        """Users for new accounts with cheap-hashed initial passwords (accounts.hashers)."""
        users, secrets_out = [], []
        for row, username, password in rows:
            generated = not password
            raw = password or initial_password_generate()
            if kind == "students":
                display = "同学" + hashlib.sha256(username.encode()).hexdigest()[:6]
            else:
                display = f"{row.real_name[:1]}老师"
            users.append(User(username=username, display_name=display, password=initial_password_hash(raw),
                              must_change_password=True))
            number = row.student_number if kind == "students" else row.staff_number
            secrets_out.append((row.school_code, number, row.real_name, username,
                                raw if generated else _("(as given in the file)")))
        users = bulk_create_with_history(users, User, batch_size=BATCH_SIZE, **self.history_kwargs())
        return users, secrets_out


class _StudentWriter(_Writer):
    def handle(self, batch: list, *, write: bool) -> None:
        existing = {
            (school_id, number): (user_id, real_name, grade_id, class_name)
            for user_id, school_id, number, real_name, grade_id, class_name in StudentProfile.objects.filter(
                school_id__in={r.school_id for r in batch},
                student_number__in={r.student_number for r in batch},
            ).values_list("user_id", "school_id", "student_number", "real_name", "grade_id", "class_name")
        }
        creates, updates = {}, []
        for r in batch:
            found = existing.get((r.school_id, r.student_number))
            if found is None:
                creates[derive_username("students", r.school_code, r.student_number)] = r
            elif found[1:] == (r.real_name, r.grade_id, r.class_name):
                self.report.unchanged += 1
            else:
                updates.append((found[0], r))
        for username in self.taken_usernames(creates):
            r = creates.pop(username)
            self.report.error(r.row, self.sheet.header_of["student_number"],
                              _("the username '%(username)s' already belongs to another account")
                              % {"username": username})
        self.report.created += len(creates)
        self.report.updated += len(updates)
        if not (write and self.report.ok):
            return
        if creates:
            users, secrets_out = self.new_users([(r, u, "") for u, r in creates.items()], "students")
            profiles = [
                StudentProfile(user_id=user.pk, school_id=r.school_id, grade_id=r.grade_id,
                               class_name=r.class_name, student_number=r.student_number,
                               real_name=r.real_name)
                for user, r in zip(users, creates.values(), strict=True)
            ]
            bulk_create_with_history(profiles, StudentProfile, batch_size=BATCH_SIZE, **self.history_kwargs())
            self.credentials.add_batch(secrets_out)
            self.report.new_accounts += len(users)
        if updates:
            profiles = [
                StudentProfile(user_id=user_id, school_id=r.school_id, grade_id=r.grade_id,
                               class_name=r.class_name, student_number=r.student_number,
                               real_name=r.real_name)
                for user_id, r in updates
            ]
            StudentProfile.objects.bulk_update(profiles, ["real_name", "grade", "class_name"],
                                               batch_size=BATCH_SIZE)
            StudentProfile.history.bulk_history_create(profiles, batch_size=BATCH_SIZE, update=True,
                                                       **self.history_kwargs())


class _TeacherWriter(_Writer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.chosen_usernames: dict[str, int] = {}  # usernames given in the sheet → row
        self.through = TeacherProfile.subjects.through
        self.subject_history = apps.get_model("accounts", "HistoricalTeacherProfile_subjects")

    def _history(self, profiles: list[TeacherProfile], *, update: bool) -> None:
        """History rows for the profiles plus their subject sets (simple-history's m2m table,
        which copies the link rows as they are after the write)."""
        rows = TeacherProfile.history.bulk_history_create(profiles, batch_size=BATCH_SIZE, update=update,
                                                          **self.history_kwargs())
        links = defaultdict(list)
        for pk, teacher_id, subject_id in self.through.objects.filter(
                teacherprofile_id__in=[p.user_id for p in profiles]).values_list(
                "pk", "teacherprofile_id", "subject_id"):
            links[teacher_id].append((pk, subject_id))
        self.subject_history.objects.bulk_create(
            [self.subject_history(history_id=h.pk, id=pk, teacherprofile_id=h.user_id, subject_id=subject_id)
             for h in rows for pk, subject_id in links[h.user_id]],
            batch_size=BATCH_SIZE,
        )

    def handle(self, batch: list, *, write: bool) -> None:
        existing = {
            (school_id, number): (user_id, real_name, tier_id)
            for user_id, school_id, number, real_name, tier_id in TeacherProfile.objects.filter(
                school_id__in={r.school_id for r in batch},
                staff_number__in={r.staff_number for r in batch},
            ).values_list("user_id", "school_id", "staff_number", "real_name", "tier_id")
        }
        subjects_of: dict[int, set[int]] = defaultdict(set)
        for teacher_id, subject_id in self.through.objects.filter(
                teacherprofile_id__in=[e[0] for e in existing.values()]).values_list(
                "teacherprofile_id", "subject_id"):
            subjects_of[teacher_id].add(subject_id)
        creates, updates = {}, []
        for r in batch:
            found = existing.get((r.school_id, r.staff_number))
            if found is None:
                username = r.username or derive_username("teachers", r.school_code, r.staff_number)
                if r.username:
                    first = self.chosen_usernames.setdefault(r.username, r.row)
                    if first != r.row:
                        self.report.error(r.row, self.sheet.header_of["username"],
                                          _("'%(key)s' appears twice in the file (first in row %(row)s)")
                                          % {"key": r.username, "row": first})
                        continue
                creates[username] = r
            elif found[1:] == (r.real_name, r.tier_id) and subjects_of[found[0]] == r.subject_ids:
                self.report.unchanged += 1
            else:
                updates.append((found[0], r))
        for username in self.taken_usernames(creates):
            r = creates.pop(username)
            column = "username" if r.username else "staff_number"
            self.report.error(r.row, self.sheet.header_of[column],
                              _("the username '%(username)s' already belongs to another account")
                              % {"username": username})
        self.report.created += len(creates)
        self.report.updated += len(updates)
        if not (write and self.report.ok):
            return
        if creates:
            users, secrets_out = self.new_users([(r, u, r.password) for u, r in creates.items()], "teachers")
            profiles = [
                TeacherProfile(user_id=user.pk, school_id=r.school_id, staff_number=r.staff_number,
                               real_name=r.real_name, tier_id=r.tier_id)
                for user, r in zip(users, creates.values(), strict=True)
            ]
            TeacherProfile.objects.bulk_create(profiles, batch_size=BATCH_SIZE)
            subjects = {p.user_id: r.subject_ids for p, r in zip(profiles, creates.values(), strict=True)}
            _link(self.through, "teacherprofile_id", "subject_id", subjects)
            self._history(profiles, update=False)
            self.credentials.add_batch(secrets_out)
            self.report.new_accounts += len(users)
        if updates:
            profiles = [
                TeacherProfile(user_id=user_id, school_id=r.school_id, staff_number=r.staff_number,
                               real_name=r.real_name, tier_id=r.tier_id)
                for user_id, r in updates
            ]
            TeacherProfile.objects.bulk_update(profiles, ["real_name", "tier"], batch_size=BATCH_SIZE)
            changed = {user_id: r.subject_ids for user_id, r in updates
                       if subjects_of[user_id] != r.subject_ids}
            if changed:
                self.through.objects.filter(teacherprofile_id__in=list(changed)).delete()
                _link(self.through, "teacherprofile_id", "subject_id", changed)
            self._history(profiles, update=True)


class _SchoolWriter(_Writer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.names = dict(School.objects.values_list("code", "name"))
        self.through = School.stages.through

    def handle(self, batch: list, *, write: bool) -> None:
        creates, updates = [], []
        for r in batch:
            found = self.ctx.schools.get(r.code)
            if found is None:
                creates.append(r)
            elif (self.names[r.code], found.county_id, found.stage_ids) == (r.name, r.county_id, r.stage_ids):
                self.report.unchanged += 1
            else:
                updates.append((found, r))
        self.report.created += len(creates)
        self.report.updated += len(updates)
        if not (write and self.report.ok):
            return
        if creates:
            schools = bulk_create_with_history(
                [School(code=r.code, name=r.name, county_id=r.county_id, city_id=r.city_id) for r in creates],
                School, batch_size=BATCH_SIZE, **self.history_kwargs())
            _link(self.through, "school_id", "schoolstage_id",
                  {s.pk: r.stage_ids for s, r in zip(schools, creates, strict=True)})
        if updates:
            schools = [School(pk=found.id, code=r.code, name=r.name, county_id=r.county_id, city_id=r.city_id)
                       for found, r in updates]
            School.objects.bulk_update(schools, ["name", "county", "city"], batch_size=BATCH_SIZE)
            School.history.bulk_history_create(schools, batch_size=BATCH_SIZE, update=True,
                                               **self.history_kwargs())
            changed = {found.id: r.stage_ids for found, r in updates if found.stage_ids != r.stage_ids}
            if changed:
                self.through.objects.filter(school_id__in=list(changed)).delete()
                _link(self.through, "school_id", "schoolstage_id", changed)


WRITERS = {"schools": _SchoolWriter, "teachers": _TeacherWriter, "students": _StudentWriter}


def people_import(
    *,
    kind: str,
    file: BinaryIO,
    filename: str,
    actor: User | None,
    dry_run: bool = False,
    credentials: CredentialsSpool | None = None,
    before_commit: Callable[[ImportReport], None] | None = None,
    reason: str = "import",
) -> ImportReport:
    """Imports one sheet of ``kind`` ('schools', 'teachers', 'students') as ``actor`` (None: the
    command line, no scope limit). Guarantees: every row is validated and every error reported
    with its row number and column header; if there is any error, or on a dry run, nothing is
    written; otherwise everything is written in one transaction, and ``before_commit`` runs inside
    it (so what it records commits or rolls back with the import). Initial passwords of new
    accounts go only to ``credentials``. Raises Forbidden if ``actor`` may not import ``kind``."""
    if kind not in WRITERS:
        raise ValueError(kind)
    scope = import_scope(actor)
    access_import_kind(scope=scope, kind=kind)
    report = ImportReport(kind=kind, dry_run=dry_run)
    own_spool = credentials is None and kind != "schools"
    if own_spool:
        credentials = CredentialsSpool(kind)  # a dry run or a caller that does not want them
    try:
        ctx = load_context(kind=kind, scope=scope)
        sheet = _Sheet(kind, report)
        writer = WRITERS[kind](ctx=ctx, report=report, sheet=sheet, actor=actor, reason=reason,
                               credentials=credentials)
        with transaction.atomic():
            for batch in _batches(sheet.clean_rows(file, filename, ctx), BATCH_SIZE):
                writer.handle(batch, write=not dry_run and report.ok)
            if report.written and before_commit is not None:
                before_commit(report)
            if not report.written:
                transaction.set_rollback(True)
    except UnreadableFile as exc:
        report.error(None, None, exc.message)
    except IntegrityError:
        # Another import or an administrator wrote the same keys while this one ran.
        report.error(None, None, _("Some of these rows were changed by someone else while the import ran; "
                                   "nothing was written. Run the import again."))
    finally:
        if own_spool:
            credentials.close()
    if not report.ok:
        report.new_accounts = 0
    return report

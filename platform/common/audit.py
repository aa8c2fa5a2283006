"""The audit trail: changes to people, roles, places and studios, read from the history tables
django-simple-history writes (who, when, which object, what kind of change, each changed field
before and after), in one list scoped to the administrator who reads it.

Which models are in the trail, and who sees which rows, is the registry ``AUDITED``: adding a
model is one line, naming the model (it must carry ``HistoricalRecords``) and its scope. Scopes
are judged on the row as it was after the change (a teacher's change is visible to the
administrators of the school they were at then; a deletion to those of the school they were
at last), except for accounts, whose rows follow the person's current roles
(``accounts.selectors.user_list_visible``). A scope is never applied to superusers.

Reads only: the list is a UNION ALL of the registered history tables (id, date, type, user,
object id), ordered newest first and paginated by the database; a page's rows are then loaded
with their previous version (one query per model, not per row) to compute the changes.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import CharField, F, Model, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from regions.selectors import school_scope_q

ScopeRule = Callable[[Model], Q]  # the administrator -> a Q over the model's history rows


@dataclass(frozen=True)
class Audited:
    """One model in the audit trail. ``model`` is "app_label.ModelName"; ``scope`` gives, for a
    non-superuser administrator, the Q over the model's historical rows they may see;
    ``related`` names foreign keys that the object's name (``__str__``) reads, loaded with the
    rows so that naming a page of objects costs no query per row."""

    model: str
    scope: ScopeRule
    related: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.model.lower()


# --- scope rules --------------------------------------------------------------------------------


def everyone(user) -> Q:
    """Reference data (tiers, studio kinds): every administrator sees its changes."""
    return Q()


def via_school(path: str) -> ScopeRule:
    """Rows whose ``path`` (a School relation on the row, e.g. "school", "host_school",
    "studio__host_school") is a school the administrator governs."""
    return lambda user: school_scope_q(user, prefix=f"{path}__")


def _profile(user):
    return getattr(user, "admin_profile", None)


def _nothing() -> Q:
    return Q(pk__in=[])


def _users(user) -> Q:
    from accounts.selectors import user_list_visible

    return Q(id__in=user_list_visible(user=user).values("pk"))


def _administrators(user) -> Q:
    """The rule of accounts.selectors.administrator_list_visible, on the row's own scope."""
    profile = _profile(user)
    if profile is None:
        return _nothing()
    own = Q(user_id=user.pk)
    if profile.level == "city":
        return own | Q(region_id=profile.region_id) | Q(region__parent_id=profile.region_id) | Q(
            school__city_id=profile.region_id)
    if profile.level == "county":
        return own | Q(region_id=profile.region_id) | Q(school__county_id=profile.region_id)
    return own | Q(school_id=profile.school_id)


def _regions(user) -> Q:
    profile = _profile(user)
    if profile is None or profile.level == "school":
        return _nothing()
    if profile.level == "city":
        return Q(id=profile.region_id) | Q(parent_id=profile.region_id)
    return Q(id=profile.region_id)


def _schools(user) -> Q:
    profile = _profile(user)
    if profile is None:
        return _nothing()
    if profile.level == "city":
        return Q(city_id=profile.region_id)
    if profile.level == "county":
        return Q(county_id=profile.region_id)
    return Q(id=profile.school_id)


# --- the registry -----------------------------------------------------------------------------

AUDITED: tuple[Audited, ...] = (
    Audited("accounts.User", _users),
    Audited("accounts.StudentProfile", via_school("school")),
    Audited("accounts.TeacherProfile", via_school("school")),
    Audited("accounts.AdministratorProfile", _administrators),
    Audited("accounts.TeacherTier", everyone),
    Audited("regions.Region", _regions),
    Audited("regions.School", _schools),
    Audited("studios.StudioKind", everyone),
    Audited("studios.Studio", via_school("host_school")),
    Audited("studios.Membership", via_school("studio__host_school"), related=("teacher", "studio")),
)

AUDITED_LABELS: tuple[str, ...] = tuple(entry.label for entry in AUDITED)

CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
_HISTORY_TYPES = {name: code for code, name in CHANGE_TYPES.items()}


@cache
def _registry() -> dict[str, Audited]:
    return {entry.label: entry for entry in AUDITED}


def audited_model(label: str) -> type[Model]:
    return apps.get_model(_registry()[label].model)


def history_model(label: str) -> type[Model]:
    """The historical model of a registered model; LookupError for a model without history."""
    model = audited_model(label)
    manager = getattr(model._meta, "simple_history_manager_attribute", None)
    if manager is None:
        raise LookupError(f"{model._meta.label} is in the audit registry but has no HistoricalRecords")
    return getattr(model, manager).model


# --- the list -----------------------------------------------------------------------------------


def audit_index(*, user, model: str | None = None, object_id: int | None = None,
                changed_by: int | None = None, change_type: str | None = None,
                since: datetime.datetime | None = None,
                until: datetime.datetime | None = None) -> QuerySet:
    """The changes ``user`` may see, newest first, as rows of (audit_model, history_id,
    history_date, history_type, history_user_id, audit_object_id): a queryset the caller
    paginates, then loads a page of with ``audit_entries``. Filters: one registered model (label, e.g.
    "accounts.teacherprofile"), an object's id, who made the change, the kind of change
    ("created", "changed", "deleted") and a time range [since, until)."""
    from accounts.selectors import user_is_admin

    labels = [model] if model else list(AUDITED_LABELS)
    parts = []
    for label in labels:
        entry = _registry()[label]
        history = history_model(label)
        pk_name = audited_model(label)._meta.pk.attname
        qs = history.objects.order_by()
        if not user_is_admin(user):
            qs = qs.none()
        elif not user.is_superuser:
            qs = qs.filter(entry.scope(user))
        if object_id is not None:
            qs = qs.filter(**{pk_name: object_id})
        if changed_by is not None:
            qs = qs.filter(history_user_id=changed_by)
        if change_type is not None:
            qs = qs.filter(history_type=_HISTORY_TYPES[change_type])
        if since is not None:
            qs = qs.filter(history_date__gte=since)
        if until is not None:
            qs = qs.filter(history_date__lt=until)
        parts.append(
            # Names no audited model uses for a field of its own.
            qs.annotate(audit_object_id=F(pk_name), audit_model=Value(label, output_field=CharField()))
            .values("history_id", "history_date", "history_type", "history_user_id", "audit_object_id",
                    "audit_model")
        )
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("-history_date", "-history_id", "audit_model")


@dataclass
class FieldChange:
    field: str
    label: str
    old: object
    new: object
    old_display: str | None = None
    new_display: str | None = None


@dataclass
class AuditEntry:
    model: str
    model_name: str
    history_id: int
    object_id: int
    object_repr: str
    change_type: str
    changed_at: datetime.datetime
    changed_by: Model | None
    reason: str | None
    changes: list[FieldChange]


def audit_entries(rows: Iterable[dict]) -> list[AuditEntry]:
    """Loads a page of ``audit_index`` rows: each change with its changed fields, old and new
    (names of related objects and labels of choices beside the raw values)."""
    rows = list(rows)
    ids_by_model: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        ids_by_model[row["audit_model"]].append(row["history_id"])
    loaded: dict[tuple[str, int], tuple] = {}
    for label, ids in ids_by_model.items():
        for record, previous, m2m in _load_records(label, ids):
            loaded[(label, record.history_id)] = (record, previous, m2m)

    entries = []
    pending_names: dict[type[Model], set] = defaultdict(set)
    for row in rows:
        label = row["audit_model"]
        record, previous, m2m = loaded[(label, row["history_id"])]
        entry = _entry(label, record, previous, m2m, pending_names)
        entries.append(entry)
    names = {model: {pk: str(obj) for pk, obj in model._default_manager.in_bulk(list(pks)).items()}
             for model, pks in pending_names.items() if pks}
    for entry in entries:
        for change in entry.changes:
            _resolve_display(change, names)
    return entries


def _load_records(label: str, ids: list[int]):
    entry = _registry()[label]
    history = history_model(label)
    pk_name = audited_model(label)._meta.pk.attname
    previous_id = (
        history.objects.filter(**{pk_name: OuterRef(pk_name)}, history_id__lt=OuterRef("history_id"))
        .order_by("-history_id").values("history_id")[:1]
    )
    records = list(
        history.objects.filter(history_id__in=ids)
        .select_related("history_user", *entry.related)
        .annotate(previous_history_id=Subquery(previous_id))
    )
    previous = history.objects.in_bulk([r.previous_history_id for r in records if r.previous_history_id])
    m2m = _load_m2m(history, records, list(previous.values()))
    for record in records:
        yield record, previous.get(record.previous_history_id), m2m


def _load_m2m(history, records, previous) -> dict[tuple[str, int], list]:
    """{(field name, history_id): sorted related ids} for the m2m fields the history tracks."""
    out: dict[tuple[str, int], list] = {}
    fields = getattr(history, "_history_m2m_fields", [])
    if not fields or not records:
        return out
    history_ids = [r.history_id for r in [*records, *previous]]
    for field in fields:
        through = getattr(records[0], field.name).model
        target = f"{field.m2m_reverse_field_name()}_id"
        for history_id in history_ids:
            out[(field.name, history_id)] = []
        pairs = through.objects.filter(history_id__in=history_ids).values_list("history_id", target)
        for history_id, related_id in pairs:
            out[(field.name, history_id)].append(related_id)
        for key in out:
            out[key].sort()
    return out


def _jsonable(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _entry(label, record, previous, m2m, pending_names) -> AuditEntry:
    model = audited_model(label)
    change_type = CHANGE_TYPES.get(record.history_type, "changed")
    before = previous if change_type == "changed" else None
    changes: list[FieldChange] = []
    for field in record.tracked_fields:
        if field.primary_key:
            continue  # the object's id, given once as object_id
        value = getattr(record, field.attname)
        if before is not None:
            old, new = getattr(before, field.attname), value
        elif change_type == "deleted":
            old, new = value, None
        else:  # created (or the first version recorded): every field that has a value
            old, new = None, value
        if old == new or (before is None and (old if change_type == "deleted" else new) in (None, "")):
            continue
        change = FieldChange(field.name, str(field.verbose_name), _jsonable(old), _jsonable(new))
        if field.is_relation and field.related_model is not None:
            change.old_display, change.new_display = (field.related_model, old), (field.related_model, new)
            pending_names[field.related_model].update(v for v in (old, new) if v is not None)
        elif field.choices:
            choices = dict(field.flatchoices)
            change.old_display = None if old is None else str(choices.get(old, old))
            change.new_display = None if new is None else str(choices.get(new, new))
        changes.append(change)
    for field in getattr(record, "_history_m2m_fields", []):
        value = m2m.get((field.name, record.history_id), [])
        if before is not None:
            old, new = m2m.get((field.name, before.history_id), []), value
        elif change_type == "deleted":
            old, new = value, []
        else:
            old, new = [], value
        if old == new:
            continue
        change = FieldChange(field.name, str(field.verbose_name), old, new)
        change.old_display, change.new_display = (field.related_model, old), (field.related_model, new)
        pending_names[field.related_model].update([*old, *new])
        changes.append(change)
    return AuditEntry(
        model=label,
        model_name=str(model._meta.verbose_name),
        history_id=record.history_id,
        object_id=getattr(record, model._meta.pk.attname),
        object_repr=_object_repr(label, record),
        change_type=change_type,
        changed_at=timezone.localtime(record.history_date),
        changed_by=record.history_user,
        reason=record.history_change_reason,
        changes=changes,
    )


def _resolve_display(change: FieldChange, names: dict) -> None:
    """Turns the (related model, id or ids) placeholders left by ``_entry`` into names."""
    for attr in ("old_display", "new_display"):
        value = getattr(change, attr)
        if not isinstance(value, tuple):
            continue
        model, key = value
        if key is None:
            setattr(change, attr, None)
        elif isinstance(key, list):
            setattr(change, attr, ", ".join(names.get(model, {}).get(k, f"#{k}") for k in key))
        else:
            setattr(change, attr, names.get(model, {}).get(key, f"#{key}"))


def _object_repr(label: str, record) -> str:
    instance = record.instance
    for name in _registry()[label].related:
        # Reuse the row's loaded relation; one deleted since leaves the name to fall back below.
        with contextlib.suppress(ObjectDoesNotExist):
            setattr(instance, name, getattr(record, name))
    try:
        return str(instance)
    except ObjectDoesNotExist:
        return f"#{instance.pk}"

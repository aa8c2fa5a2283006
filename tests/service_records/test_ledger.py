import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from common.errors import Conflict, ServiceError
from service_records.models import LedgerHead, ServiceEvent
from service_records.selectors import ledger_digest, ledger_verify, service_total
from service_records.services import service_event_correct, service_event_record
from tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def record(teacher, key, kind="answer_given", quantity=1, **kw):
    return service_event_record(teacher_id=teacher.user_id, kind=kind, idempotency_key=key,
                                occurred_at=NOW, quantity=quantity, **kw)


def _raw_update(sql, params):
    """Edits a row behind the service's back, as an attacker with SQL access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a superuser switching triggers off
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def test_recording_twice_with_one_key_records_once():
    teacher = TeacherFactory()
    first = record(teacher, "qa:answer:1")
    again = record(teacher, "qa:answer:1")
    assert first.created and not again.created
    assert again.event.pk == first.event.pk
    assert ServiceEvent.objects.count() == 1
    assert LedgerHead.objects.get(teacher=teacher.user).sequence == 1


def test_events_chain_per_teacher_and_verify():
    a, b = TeacherFactory(), TeacherFactory()
    e1 = record(a, "k1").event
    record(b, "k2")
    e3 = record(a, "k3", quantity=Decimal("2.5")).event
    assert (e1.sequence, e3.sequence) == (1, 2)
    assert e3.prev_hash == e1.hash
    assert ledger_verify() is None
    assert service_total(teacher_id=a.user_id) == Decimal("3.5")


def test_a_key_reused_for_another_teacher_is_a_conflict():
    a, b = TeacherFactory(), TeacherFactory()
    record(a, "same")
    with pytest.raises(Conflict):
        record(b, "same")


def test_unknown_kind_and_naive_time_are_refused():
    teacher = TeacherFactory()
    with pytest.raises(ServiceError, match="Unknown"):
        record(teacher, "k", kind="no_such_kind")
    with pytest.raises(ServiceError):
        service_event_record(teacher_id=teacher.user_id, kind="answer_given", idempotency_key="k",
                             occurred_at=NOW.replace(tzinfo=None))


def test_recording_rolls_back_with_the_callers_transaction():
    teacher = TeacherFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        record(teacher, "rolled-back")
        raise RuntimeError("the action failed")
    assert not ServiceEvent.objects.exists()
    assert ledger_verify() is None


def test_correction_is_a_compensating_event_with_who_and_why():
    teacher, admin = TeacherFactory(), TeacherFactory()
    original = record(teacher, "k").event
    fix = service_event_correct(event=original, actor_id=admin.user_id, reason="duplicate answer",
                                idempotency_key="fix:1").event
    assert fix.corrects == original and fix.quantity == Decimal("-1.00")
    assert fix.recorded_by_id == admin.user_id
    assert service_total(teacher_id=teacher.user_id) == 0
    with pytest.raises(ServiceError):
        service_event_correct(event=original, actor_id=admin.user_id, reason=" ",
                              idempotency_key="fix:2")
    assert ledger_verify() is None


@pytest.mark.parametrize("column,value", [("quantity", "99.00"), ("rating", "5.00"),
                                          ("occurred_at", None), ("reason", "edited")])
def test_an_edited_row_is_caught(column, value):
    teacher = TeacherFactory()
    record(teacher, "k1")
    target = record(teacher, "k2").event
    record(teacher, "k3")
    if column == "occurred_at":
        value = NOW - timedelta(days=30)
    _raw_update(f"UPDATE service_records_serviceevent SET {column} = %s WHERE id = %s",  # noqa: S608
                [value, target.pk])
    broken = ledger_verify()
    assert broken is not None and broken.event_id == target.pk and broken.sequence == 2
    with pytest.raises(CommandError, match="link 2"):
        call_command("service_ledger_verify")


def test_a_removed_event_is_caught():
    teacher = TeacherFactory()
    record(teacher, "k1")
    last = record(teacher, "k2").event
    _raw_update("DELETE FROM service_records_serviceevent WHERE id = %s", [last.pk])
    assert ledger_verify() is not None


def test_digest_changes_with_every_append():
    teacher = TeacherFactory()
    before = ledger_digest()
    record(teacher, "k1")
    assert ledger_digest() != before


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_update_and_delete():
    from django.db import DatabaseError

    teacher = TeacherFactory()
    event = record(teacher, "k1").event
    for statement in ["UPDATE service_records_serviceevent SET quantity = 5 WHERE id = %s",
                      "DELETE FROM service_records_serviceevent WHERE id = %s"]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        ServiceEvent.objects.filter(pk=event.pk).update(quantity=7)
    assert ServiceEvent.objects.get(pk=event.pk).quantity == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_concurrent_recordings_of_overlapping_keys_record_each_key_once():
    teachers = [TeacherFactory() for _ in range(3)]
    keys = [(teachers[i % 3].user_id, f"race:{i}") for i in range(30)]
    barrier = threading.Barrier(8)
    errors = []

    def worker(seed):
        try:
            barrier.wait()
            for offset in range(len(keys)):
                teacher_id, key = keys[(seed * 7 + offset) % len(keys)]
                with transaction.atomic():
                    service_event_record(teacher_id=teacher_id, kind="answer_given",
                                         idempotency_key=key, occurred_at=NOW)
        except Exception as exc:  # reported below; a thread must not die silently
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ServiceEvent.objects.count() == len(keys)
    assert ledger_verify() is None
    for teacher in teachers:
        assert LedgerHead.objects.get(teacher_id=teacher.user_id).sequence == 10

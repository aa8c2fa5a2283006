"""Hypothesis: totals equal the sum of recordings (corrections included); replays change nothing;
any edited column of any row is caught by verification, at that row."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from service_records.models import ServiceEvent
from service_records.selectors import ledger_digest, ledger_verify, service_total
from service_records.services import service_event_correct, service_event_record
from tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()
quantities = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=2)


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.savepoint = transaction.savepoint()
        self.teachers = [TeacherFactory().user_id for _ in range(3)]
        self.recorded: dict[str, tuple[int, Decimal]] = {}

    @rule(teacher=st.integers(0, 2), key=st.integers(0, 30), quantity=quantities)
    def record(self, teacher, key, quantity):
        name = f"k{key}"
        if name in self.recorded:
            teacher_id, _ = self.recorded[name]
        else:
            teacher_id = self.teachers[teacher]
        result = service_event_record(teacher_id=teacher_id, kind="answer_given",
                                      idempotency_key=name, occurred_at=NOW, quantity=quantity)
        if name in self.recorded:
            assert not result.created  # a replay records nothing
        else:
            assert result.created
            self.recorded[name] = (teacher_id, quantity)

    @rule(data=st.data())
    def correct(self, data):
        """A compensating event (who, why) for any recorded event, itself replayable."""
        originals = [name for name in self.recorded if not name.startswith("fix:")]
        if not originals:
            return
        name = data.draw(st.sampled_from(originals))
        original = ServiceEvent.objects.get(idempotency_key=name)
        key = f"fix:{name}:{sum(1 for k in self.recorded if k.startswith(f'fix:{name}:'))}"
        fix = service_event_correct(event=original, actor_id=self.teachers[0], reason="duplicate",
                                    idempotency_key=key)
        assert fix.created and fix.event.corrects_id == original.pk
        self.recorded[key] = (original.teacher_id, -original.quantity)

    @rule(data=st.data())
    def replay_everything(self, data):
        if not self.recorded:
            return
        digest = ledger_digest()
        for name, (teacher_id, quantity) in data.draw(st.permutations(list(self.recorded.items()))):
            assert not service_event_record(teacher_id=teacher_id, kind="answer_given",
                                            idempotency_key=name, occurred_at=NOW,
                                            quantity=quantity).created
        assert ledger_digest() == digest

    @invariant()
    def totals_equal_the_sum_of_recordings(self):
        if not hasattr(self, "teachers"):
            return
        for teacher_id in self.teachers:
            expected = sum((q for t, q in self.recorded.values() if t == teacher_id), Decimal(0))
            assert Decimal(service_total(teacher_id=teacher_id)) == expected
        assert ServiceEvent.objects.count() == len(self.recorded)

    @invariant()
    def chains_verify(self):
        assert ledger_verify() is None

    def teardown(self):
        if hasattr(self, "savepoint"):
            transaction.savepoint_rollback(self.savepoint)


def test_ledger_state_machine():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=25, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))


MOMENTS = st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2100, 1, 1),
                       timezones=st.just(datetime.UTC))
FIELDS = {
    "quantity": st.decimals(min_value=Decimal("-9999"), max_value=Decimal("9999"), places=2),
    "rating": st.decimals(min_value=Decimal("0"), max_value=Decimal("5"), places=2),
    "accepted": st.booleans(),
    "review_outcome": st.text(alphabet="abcxyz", min_size=1, max_size=8),
    "source_id": st.text(alphabet="0123456789", min_size=1, max_size=6),
    "occurred_at": MOMENTS,
    "recorded_at": MOMENTS,
    "idempotency_key": st.text(alphabet="abcxyz:", min_size=1, max_size=20),
    "reason": st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(n_events=st.integers(1, 6), target=st.integers(0, 5), field=st.sampled_from(sorted(FIELDS)),
       data=st.data())
def test_any_edited_row_is_caught(n_events, target, field, data):
    sid = transaction.savepoint()
    try:
        teacher = TeacherFactory().user_id
        events = [service_event_record(teacher_id=teacher, kind="answer_given",
                                       idempotency_key=f"e{i}", occurred_at=NOW).event
                  for i in range(n_events)]
        victim = events[target % n_events]
        value = data.draw(FIELDS[field])
        if str(getattr(victim, field) or "") == str(value):
            return  # not an edit
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"UPDATE service_records_serviceevent SET {field} = %s WHERE id = %s",  # noqa: S608
                           [value, victim.pk])
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL session_replication_role = origin")
        broken = ledger_verify()
        assert broken is not None and broken.event_id == victim.pk
    finally:
        transaction.savepoint_rollback(sid)

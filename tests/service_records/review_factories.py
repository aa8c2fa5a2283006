"""Builders for the review tests (tests/service_records/test_review_*.py): events recorded
through the ledger service, schemes and assessment runs made by hand."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from service_records.models import (
    AssessmentResult,
    AssessmentRun,
    AssessmentScheme,
    Indicator,
    ServiceEventKind,
)
from service_records.services import service_event_record

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = Decimal
_keys = itertools.count(1)


def at(year, month, day, hour=10) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def record(teacher, kind="answer_given", when=None, quantity=1, source=None, **signals):
    """One event for ``teacher`` (a TeacherProfile) with a fresh idempotency key."""
    return service_event_record(
        teacher_id=teacher.user_id, kind=kind, idempotency_key=f"review-test:{next(_keys)}",
        occurred_at=when or timezone.now() - datetime.timedelta(hours=1), quantity=quantity,
        source=source, **signals).event


def scheme(region, *, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31), code="s",
           status=AssessmentScheme.Status.PUBLISHED, tiers=()) -> AssessmentScheme:
    made = AssessmentScheme.objects.create(
        region=region, code=code, name=f"方案{code}", period_label=f"{start.year}年度",
        period_start=start, period_end=end, status=status, excellent_min=D("80"), qualified_min=D("50"))
    if tiers:
        made.tiers.set(tiers)
    return made


def indicator(scheme_, code, *, parent=None, level="C", kinds=(), credit="0", cap=None, max_points=None,
              minimum=None, per="period", accepted="1", low_below=None, low="1",
              consequence="none") -> Indicator:
    made = Indicator.objects.create(
        scheme=scheme_, parent=parent, level=level, code=code, name=f"指标{code}",
        credit_per_unit=D(credit), cap_per_period=None if cap is None else D(cap),
        max_points=None if max_points is None else D(max_points),
        required_minimum=None if minimum is None else D(minimum), minimum_per=per,
        accepted_weight=D(accepted), low_rating_below=None if low_below is None else D(low_below),
        low_rating_weight=D(low), consequence=consequence)
    if kinds:
        made.event_kinds.set(ServiceEventKind.objects.filter(code__in=kinds))
    return made


def final_run(scheme_, results: dict) -> AssessmentRun:
    """A finalized run of ``scheme_`` with ``{teacher_profile: duties_met}`` results."""
    run = AssessmentRun.objects.create(
        scheme=scheme_, region=scheme_.region, status=AssessmentRun.Status.FINAL, ledger_digest="0" * 64,
        finalized_at=timezone.now(), teacher_count=len(results))
    for teacher, met in results.items():
        AssessmentResult.objects.create(
            run=run, teacher=teacher.user, points=D("60"), duties_met=met, grade_by_points="qualified",
            grade="qualified" if met else "unqualified", awards_eligible=met)
    return run

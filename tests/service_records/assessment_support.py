"""Builders for the assessment tests: scheme documents, ledgers made by hand."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from service_records.assessment.services import scheme_import, scheme_publish
from service_records.services import service_event_record

SHANGHAI = ZoneInfo("Asia/Shanghai")
_keys = itertools.count(1)


def at(year, month, day, hour=10) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def record(teacher, kind, when, quantity=1, **signals):
    """Records one event for ``teacher`` (a TeacherProfile) with a fresh idempotency key."""
    return service_event_record(teacher_id=teacher.user_id, kind=kind, idempotency_key=f"t:{next(_keys)}",
                                occurred_at=when, quantity=quantity, **signals).event


def leaf(code, kinds, credit, *, level="C", cap=None, max_points=None, accepted="1.00",
         low_below=None, low="1.00", duty=None):
    return {"code": code, "level": level, "name": f"指标{code}", "max_points": max_points,
            "event_kinds": list(kinds), "credit_per_unit": str(credit), "cap_per_period": cap,
            "weights": {"accepted": accepted, "low_rating_below": low_below, "low_rating": low},
            "duty": duty}


def node(code, level, children, max_points=None):
    return {"code": code, "level": level, "name": f"指标{code}", "max_points": max_points,
            "children": children}


def duty(minimum, per="period", consequence="no_awards_and_grade_down"):
    return {"minimum": str(minimum), "per": per, "consequence": consequence}


def document(region, indicators, *, code="scheme", excellent="80.00", qualified="50.00",
             start="2026-01-01", end="2026-12-31", tiers=(), version=None, name="测试考核方案"):
    doc = {"format": "xuewen.assessment-scheme/1", "region": region.code, "code": code, "name": name,
           "period": {"label": "2026年度", "start": start, "end": end}, "tiers": list(tiers),
           "thresholds": {"excellent": excellent, "qualified": qualified}, "indicators": indicators}
    if version is not None:
        doc["version"] = version
    return doc


def published_scheme(region, indicators, **kw):
    scheme = scheme_import(data=document(region, indicators, **kw)).scheme
    return scheme_publish(scheme=scheme)


def results_by_teacher(run):
    return {r.teacher_id: r for r in run.results.all()}


def scores_of(result):
    """The result's drill-down of its leaves by code (stored rows, or derived on demand)."""
    from service_records.assessment.selectors import result_scores

    return {row["code"]: SimpleNamespace(**row) for row in result_scores(result) if row["leaf"]}


D = Decimal

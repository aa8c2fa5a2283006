"""The buckets duties are counted in: months, terms (ASSESSMENT_TERM_STARTS) and years, with
short fragments at either end of a period joining their neighbour."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from service_records.assessment.periods import Bucket, buckets, period_bounds

D = datetime.date


def spans(per, start, end):
    return [(b.start, b.end) for b in buckets(per, start, end)]


def test_terms_of_a_calendar_year():
    # January is the tail of the autumn term: it joins the spring term.
    assert spans("term", D(2026, 1, 1), D(2026, 12, 31)) == [
        (D(2026, 1, 1), D(2026, 8, 1)), (D(2026, 8, 1), D(2027, 1, 1))]


def test_terms_of_a_school_year():
    assert spans("term", D(2025, 9, 1), D(2026, 8, 31)) == [
        (D(2025, 9, 1), D(2026, 2, 1)), (D(2026, 2, 1), D(2026, 9, 1))]


def test_terms_of_a_two_year_cycle():
    assert len(buckets("term", D(2025, 9, 1), D(2027, 8, 31))) == 4


def test_months_and_years():
    assert len(buckets("month", D(2026, 1, 1), D(2026, 12, 31))) == 12
    assert spans("month", D(2026, 1, 10), D(2026, 3, 5)) == [
        (D(2026, 1, 10), D(2026, 2, 1)), (D(2026, 2, 1), D(2026, 3, 6))]
    assert spans("year", D(2025, 9, 1), D(2026, 8, 31)) == [(D(2025, 9, 1), D(2026, 9, 1))]
    assert spans("year", D(2025, 1, 1), D(2027, 12, 31)) == [
        (D(2025, 1, 1), D(2026, 1, 1)), (D(2026, 1, 1), D(2027, 1, 1)), (D(2027, 1, 1), D(2028, 1, 1))]
    assert buckets("period", D(2026, 1, 1), D(2026, 6, 30)) == [Bucket(D(2026, 1, 1), D(2026, 7, 1))]


def test_a_period_shorter_than_half_a_unit_is_one_bucket():
    assert spans("term", D(2026, 3, 1), D(2026, 3, 31)) == [(D(2026, 3, 1), D(2026, 4, 1))]


def test_period_bounds_are_local_midnights():
    start, end = period_bounds(D(2026, 1, 1), D(2026, 12, 31))
    assert start.isoformat() == "2026-01-01T00:00:00+08:00"
    assert end.isoformat() == "2027-01-01T00:00:00+08:00"


def test_term_starts_are_configurable(settings):
    settings.ASSESSMENT_TERM_STARTS = ["09-01", "03-01"]
    assert spans("term", D(2026, 1, 1), D(2026, 12, 31)) == [
        (D(2026, 1, 1), D(2026, 9, 1)), (D(2026, 9, 1), D(2027, 1, 1))]
    settings.ASSESSMENT_TERM_STARTS = ["13-01"]
    with pytest.raises(ImproperlyConfigured):
        buckets("term", D(2026, 1, 1), D(2026, 12, 31))

"""Reads on courses, lectures and resources."""

from __future__ import annotations

import datetime


def studio_course_figures(
    studio_ids, *, start: datetime.date, end: datetime.date,
) -> dict[int, dict[str, int]]:
    """Per studio, for lectures and resources dated in [start, end): ``{"lectures": n,
    "live_lectures": n, "resources": n}``. Studio statistics (studios.selectors) read this."""
    # Placeholder until resources land; the courses work replaces it with real counts.
    return {studio_id: {"lectures": 0, "live_lectures": 0, "resources": 0} for studio_id in studio_ids}

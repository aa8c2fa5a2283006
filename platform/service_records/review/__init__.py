"""Review of service records (issue 4, items 4 and 5).

- a teacher's own record: events with links to their evidence, credit per indicator and
  progress toward the period's required minimums, disputes of recorded events and reports of
  missing ones;
- administrators' review scoped to city / county / school: teachers in scope with totals,
  drill-down to evidence, flags, resolving disputes and flags with compensating events;
- the county adoption report (seed 000): registration rate, visits and active users per
  county per ISO week, share of three-tier teachers meeting their duty. Visits are counted in
  the cache by ``middleware.UsageCountingMiddleware`` and written to ``DailyUsage`` by the
  periodic task ``tasks.flush_daily_usage``.

Modules: ``services`` (writes), ``selectors`` (reads and permission answers), ``apis``,
``urls``, ``evidence`` (the registry of evidence links), ``usage`` (the cache counters),
``middleware``, ``tasks``.
"""

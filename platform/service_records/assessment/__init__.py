"""Assessment (考核): schemes as data, set-based computation of runs, finalization and the
incentives that follow from a final run.

- ``schemes_io``: the JSON document format of a scheme (import / export, validation).
- ``services``: writes (draft, publish, new version, import; compute, finalize; incentives).
- ``selectors``: reads and permission answers, ``period_is_frozen`` and ``payout_rows``.
- ``periods``: assessment periods and the month / term / year buckets duties are counted in.
- ``engine``: the SQL that computes a run (a few INSERT ... SELECT / UPDATE statements).
"""

"""Exports, certificates and the dashboard (issue 4, items 7 and 8).

- exports: assessment results, evidence and payout lists as CSV (UTF-8 with BOM) or XLSX,
  streamed for a whole city with memory held flat (``writers``, ``streaming``);
- service certificates: issued by a teacher or an administrator in scope, recording the
  teacher's ledger head and the period's totals; HTML page, PDF (``pdf``), and a public
  verification at ``/verify/<code>/`` that checks them against the ledger again;
- the administrators' dashboard at ``/dashboard/``: SVG charts drawn in the browser by
  ``static/service_records/exports/dashboard.js`` from the figures API.

Modules: ``selectors`` (reads and permissions), ``services`` (issuing), ``apis`` and ``urls``
(under /api/v1/), ``views`` and ``page_urls`` (pages at the site's root), ``admin``.
"""

"""Browser pages of the exports part: the administrators' dashboard, a service certificate,
and the public verification of a certificate code (``/verify/``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from common.errors import NotFound
from service_records.exports import selectors
from service_records.exports.apis import VerifyRateThrottle

TEMPLATES = "service_records/exports/"


def _throttle_wait(request) -> int | None:
    """Seconds to wait when the caller checked too many codes lately, else None."""
    throttle = VerifyRateThrottle()
    if throttle.allow_request(request, None):
        return None
    return max(1, int(throttle.wait() or 1))


@require_GET
@login_required
def dashboard_page(request):
    """Charts of the service in the administrator's scope (figures from the dashboard API)."""
    if not selectors.can_view_dashboard(request.user):
        raise PermissionDenied
    first, last = selectors.dashboard_default_months()
    return render(request, TEMPLATES + "dashboard.html", {
        "figures_url": reverse("dashboard-figures"),
        "evidence_url": reverse("export-evidence", kwargs={"fmt": "xlsx"}),
        "evidence_csv_url": reverse("export-evidence", kwargs={"fmt": "csv"}),
        "results_url": reverse("export-results", kwargs={"pk": 0, "fmt": "xlsx"}),
        "payouts_url": reverse("export-payouts", kwargs={"pk": 0, "fmt": "xlsx"}),
        "first_month": f"{first:%Y-%m}",
        "last_month": f"{last:%Y-%m}",
        "labels": {
            "events": _("Service events"), "hours": _("Hours of service"),
            "active": _("Teachers with service"), "teachers": _("Registered teachers"),
            "assessed": _("Teachers assessed"), "meeting": _("Teachers meeting their duties"),
            "visits": _("Visits"), "byCounty": _("Per county"), "byMonth": _("Per month"),
            "byTier": _("Per teacher tier"), "noRun": _("No assessment run yet: duty figures appear once "
                                                           "a run is computed."),
            "run": _("Duties from the assessment run"), "error": _("The figures could not be loaded."),
            "showFigures": _("Show the figures"), "noData": _("No data"),
        },
    })


@require_GET
@login_required
@never_cache
def certificate_page(request, code: str):
    """A certificate for its teacher or an administrator in scope (404 for anyone else)."""
    try:
        certificate = selectors.certificate_get_visible(user=request.user, code=code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    document = selectors.certificate_document(certificate)
    return render(request, TEMPLATES + "certificate.html", {
        "document": document,
        "pdf_url": reverse("certificate-pdf", kwargs={"code": document.code}),
        "verify_url": request.build_absolute_uri(
            reverse("certificate-verify-page", kwargs={"code": document.code})),
    })


@require_GET
@never_cache
def verify_form(request):
    """Where a code is typed in: ``/verify/?code=...`` goes to the code's page."""
    raw = request.GET.get("code", "").strip()
    if raw:
        code = selectors.certificate_code_normalize(raw)
        if code is not None:
            return HttpResponseRedirect(reverse("certificate-verify-page",
                                                kwargs={"code": selectors.certificate_code_display(code)}))
        return render(request, TEMPLATES + "verify.html", {
            "typed": raw, "error": _("A verification code has 12 letters and digits, e.g. ABCD-EFGH-JKMN.")},
            status=400)
    return render(request, TEMPLATES + "verify.html", {})


@require_GET
@never_cache
def verify_page(request, code: str):
    """Public: whether the certificate with this code is genuine, checked against the ledger
    now; the teacher's name, school, period and totals. Throttled per client address."""
    wait = _throttle_wait(request)
    if wait is not None:
        response = render(request, TEMPLATES + "verify.html", {
            "typed": code, "error": _("Too many checks from your address; try again in %(n)s seconds.")
            % {"n": wait}}, status=429)
        response["Retry-After"] = str(wait)
        return response
    verification = selectors.certificate_verify(code=code)
    if verification is None:
        return render(request, TEMPLATES + "verify.html", {
            "typed": code, "error": _("No certificate has this verification code.")}, status=404)
    return render(request, TEMPLATES + "verify.html", {"verification": verification,
                                                       "document": verification.document})

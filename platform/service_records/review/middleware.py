"""Counts visits for the county adoption report (seed 000), without a database write."""

import logging

from service_records.review.usage import usage_count_visit

logger = logging.getLogger(__name__)

# Not visits: assets, probes, API documentation.
_NOT_COUNTED = ("/static/", "/media/", "/healthz", "/readyz", "/api/schema", "/api/docs", "/favicon")


class UsageCountingMiddleware:
    """After the response, counts one visit of the signed-in user in the cache
    (``service_records.review.usage``); ``tasks.flush_daily_usage`` writes the day's figures.

    The user is read after the view ran, so API token sign-ins (authenticated by DRF inside
    the view) count too. Counting never fails a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        try:
            user = getattr(request, "user", None)
            if (user is not None and user.is_authenticated and request.method != "OPTIONS"
                    and not request.path.startswith(_NOT_COUNTED)):
                usage_count_visit(user=user)
        except Exception:  # a cache outage must not turn a served page into an error
            logger.warning("usage counting failed", exc_info=True)
        return response

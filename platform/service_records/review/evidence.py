"""Links from a service event to the object it is evidence of.

An event names its source generically (content type + id). What URL shows that object is
known only to the app that owns it, so apps register a URL builder for their models here,
typically in their ``AppConfig.ready()``::

    from service_records.review.evidence import evidence_url_register_route
    evidence_url_register_route("qa.answer", "answer-detail")          # reverse(name, kwargs={"pk": id})

    from service_records.review.evidence import evidence_url_register
    evidence_url_register("live.session", lambda source_id: f"/api/v1/live/{source_id}/")

A builder takes the source id (a string) and returns a path, or None when there is no page
for it. Events whose source type has no builder still show the type and the id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

logger = logging.getLogger(__name__)

UrlBuilder = Callable[[str], "str | None"]
_builders: dict[str, UrlBuilder] = {}


@dataclass(frozen=True)
class EvidenceLink:
    type: str  # "app_label.model"
    id: str
    url: str | None


def evidence_url_register(model_label: str, builder: UrlBuilder) -> None:
    """Registers (or replaces) the URL builder for ``model_label`` ("app_label.model")."""
    _builders[model_label.lower()] = builder


def evidence_url_register_route(model_label: str, url_name: str, *, kwarg: str = "pk") -> None:
    """Registers a builder that reverses ``url_name`` with the source id as ``kwarg``. A route
    that does not exist (yet) or does not accept the id yields no URL, never an error."""

    def build(source_id: str) -> str | None:
        try:
            return reverse(url_name, kwargs={kwarg: source_id})
        except NoReverseMatch:
            return None

    evidence_url_register(model_label, build)


def evidence_url_unregister(model_label: str) -> None:
    _builders.pop(model_label.lower(), None)


def evidence_link(*, app_label: str | None, model: str | None, source_id: str,
                  request=None) -> EvidenceLink | None:
    """The link of one event's source (None for an event without a source). A builder that
    fails is logged and gives no URL: a broken link must not hide the teacher's record."""
    if not app_label or not model:
        return None
    label = f"{app_label}.{model}".lower()
    url = None
    builder = _builders.get(label)
    if builder is not None and source_id:
        try:
            url = builder(source_id)
        except Exception:  # a bug in another app's builder must not break the record
            logger.exception("evidence URL builder for %s failed on %s", label, source_id)
            url = None
        if url and request is not None:
            url = request.build_absolute_uri(url)
    return EvidenceLink(type=label, id=source_id, url=url)


# What exists today. Other apps add theirs in AppConfig.ready().
evidence_url_register_route("studios.studio", "studio-detail")
evidence_url_register_route("service_records.servicedispute", "service-review-dispute-detail")

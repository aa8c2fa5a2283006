"""Writes of the exports part: issuing service certificates."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict, ServiceError
from service_records.exports import selectors
from service_records.models import GENESIS_HASH, LedgerHead, ServiceCertificate

MAX_PERIOD_DAYS = 4 * 366  # a studio cycle is two or three years
CODE_ATTEMPTS = 5


def _default_label(start: datetime.date, end: datetime.date) -> str:
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return str(start.year)
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _check_period(start: datetime.date, end: datetime.date, label: str) -> None:
    for name, day in (("period_start", start), ("period_end", end)):
        if not selectors.EARLIEST_DAY <= day <= selectors.LATEST_DAY:
            raise ServiceError(_("The period lies outside the years the platform keeps records for."),
                               code="invalid", fields={name: [_("Must lie between %(first)s and %(last)s.")
                                                              % {"first": selectors.EARLIEST_DAY,
                                                                 "last": selectors.LATEST_DAY}]})
    if end < start:
        raise ServiceError(_("The period ends before it starts."), code="invalid",
                           fields={"period_end": [_("Must not be before the period start.")]})
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ServiceError(_("A certificate covers at most four years."), code="invalid",
                           fields={"period_end": [_("Choose a period of at most four years.")]})
    if start > timezone.localdate():
        raise ServiceError(_("The period has not started yet."), code="invalid",
                           fields={"period_start": [_("Must not be in the future.")]})
    if len(label) > ServiceCertificate._meta.get_field("period_label").max_length:
        raise ServiceError(_("The period label is too long."), code="invalid",
                           fields={"period_label": [_("At most 32 characters.")]})


@transaction.atomic
def certificate_issue(*, actor, teacher_id: int, period_start: datetime.date, period_end: datetime.date,
                      period_label: str = "") -> ServiceCertificate:
    """Issues a service certificate (服务证明) of a teacher for a period of local days.

    Allowed to the teacher themself and to administrators whose scope holds the teacher's
    school. The certificate records the teacher's chain head at issue (position and hash) and
    the totals by kind of the period's events up to that position, with a random 12-character
    verification code. Anyone can later check it against the ledger
    (``selectors.certificate_verify``); events recorded afterwards never change what it states.
    If a final assessment run covers exactly this period, the teacher's result is attached.
    """
    teacher = selectors.teacher_for_certificate(teacher_id)
    selectors.access_issue_certificate(actor, teacher)
    label = (period_label or "").strip() or _default_label(period_start, period_end)
    _check_period(period_start, period_end, label)
    # The head names the last committed link; events appended while we read have a higher
    # position and are left out of the totals, so position, hash and totals agree.
    sequence, last_hash = LedgerHead.objects.filter(teacher_id=teacher.user_id).values_list(
        "sequence", "last_hash").first() or (0, GENESIS_HASH)
    totals = selectors.ledger_totals(teacher_id=teacher.user_id, start=period_start, end=period_end,
                                     through_sequence=sequence)
    result = selectors.final_result_for_period(teacher_id=teacher.user_id, start=period_start, end=period_end)
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return ServiceCertificate.objects.create(
                    code=selectors.certificate_code_new(), teacher_id=teacher.user_id, period_label=label,
                    period_start=period_start, period_end=period_end, result=result,
                    chain_sequence=sequence, chain_hash=last_hash, totals=totals,
                    issued_by=actor if actor.is_authenticated else None,
                )
        except IntegrityError:  # a code collision (60 random bits): draw again
            continue
    raise Conflict(_("Could not draw a unique verification code; please try again."), code="code_collision")

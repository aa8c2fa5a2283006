"""Hooks other apps attach to. Both are sent after the transaction that caused them commits
(``transaction.on_commit``), with ``send_robust``: a failing receiver is logged and never
undoes, nor fails, the write that happened.

- ``lecture_ended`` (``lecture=``): the lecture went from live to ended. The live rooms record
  lecturers' and assistants' live minutes from attendance here (in their own transaction).
- ``course_changed`` (``course_id=``): a course was created or changed (search indexes it; see
  ``courses.search``).
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

lecture_ended = Signal()
course_changed = Signal()


def send_after_commit_now(signal: Signal, sender, **kwargs) -> None:
    """Sends ``signal`` robustly (called from an on_commit callback); logs receivers' errors."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("receiver %r of %s failed: %r", receiver, sender, result,
                         exc_info=(type(result), result, result.__traceback__))

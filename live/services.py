"""Writes of the live rooms. Synchronous (the room calls them through ``database_sync_to_async``).

Batches, not rows: chat, quiz answers, votes and attendance arrive here as lists collected by
the room over seconds, and each list is one or a few statements whatever its length.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import Conflict, NotFound
from courses.models import Lecture, LectureStaff
from live.models import Attendance, ChatMessage, Question, Quiz, QuizAnswer, RoomBan
from service_records.services import service_event_record

logger = logging.getLogger(__name__)

BULK_SIZE = 500


# --- chat ------------------------------------------------------------------------------------

def chat_messages_persist(*, messages: list[dict], deleted: dict[int, set[int]]) -> int:
    """Inserts buffered chat (``{lecture_id, number, author_id, text, offset_ms, sent_at}``)
    and marks those a moderator deleted meanwhile (``deleted``: lecture id -> numbers, read
    AFTER the insert, so a deletion racing the flush is never lost). Safe to repeat."""
    if not messages:
        return 0
    ChatMessage.objects.bulk_create([ChatMessage(**m) for m in messages], batch_size=BULK_SIZE,
                                    ignore_conflicts=True)
    chat_messages_mark_deleted(deleted=deleted)
    return len(messages)


def chat_messages_mark_deleted(*, deleted: dict[int, set[int]], by_id: int | None = None) -> int:
    """Marks the numbered messages of each lecture deleted (those not deleted yet)."""
    condition = Q()
    for lecture_id, numbers in deleted.items():
        if numbers:
            condition |= Q(lecture_id=lecture_id, number__in=sorted(numbers))
    if not condition:
        return 0
    return ChatMessage.objects.filter(condition, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), deleted_by_id=by_id)


# --- questions -------------------------------------------------------------------------------

def question_create(*, lecture_id: int, author_id: int, text: str, offset_ms: int) -> Question:
    """A question to the lecturer, written at once (questions are few; votes come in batches)."""
    return Question.objects.create(lecture_id=lecture_id, author_id=author_id, text=text,
                                   offset_ms=offset_ms, asked_at=timezone.now())


def question_pin(*, question_id: int, pinned: bool) -> None:
    Question.objects.filter(pk=question_id).update(pinned=pinned)


def question_mark_answered(*, question_id: int) -> None:
    Question.objects.filter(pk=question_id, answered_at__isnull=True).update(answered_at=timezone.now())


def question_votes_save(*, votes: dict[int, int]) -> int:
    """Saves vote counts (question id -> votes) in one bulk update."""
    questions = [Question(pk=pk, votes=int(n)) for pk, n in votes.items()]
    Question.objects.bulk_update(questions, ["votes"], batch_size=BULK_SIZE)
    return len(questions)


# --- quizzes ---------------------------------------------------------------------------------

def quiz_create(*, lecture_id: int, created_by_id: int, prompt: str, options: list[str], correct: int,
                seconds: int, bank_question_id: int | None = None) -> Quiz:
    now = timezone.now()
    return Quiz.objects.create(
        lecture_id=lecture_id, created_by_id=created_by_id, prompt=prompt, options=options,
        correct_option=correct, seconds=seconds, opened_at=now,
        closes_at=now + datetime.timedelta(seconds=seconds), bank_question_id=bank_question_id)


def quiz_delete_unopened(*, quiz_id: int) -> None:
    """Undoes a quiz that lost the race to open (another quiz opened first)."""
    Quiz.objects.filter(pk=quiz_id, answer_count=0, closed_at__isnull=True).delete()


@transaction.atomic
def quiz_close_persist(*, quiz_id: int, answers: dict[int, tuple[int, float]]) -> Quiz | None:
    """Closes the quiz once: grades ``answers`` (user id -> (option, unix time)) against the
    correct option, inserts them in bulk and stores the final counts. None if it was closed
    already (another process closed it first)."""
    quiz = Quiz.objects.select_for_update().filter(pk=quiz_id, closed_at__isnull=True).first()
    if quiz is None:
        return None
    counts = [0] * len(quiz.options)
    rows = []
    for user_id, (option, at) in answers.items():
        if not 0 <= option < len(counts):
            continue
        counts[option] += 1
        rows.append(QuizAnswer(quiz=quiz, user_id=user_id, option=option,
                               is_correct=option == quiz.correct_option,
                               answered_at=datetime.datetime.fromtimestamp(at, tz=datetime.UTC)))
    QuizAnswer.objects.bulk_create(rows, batch_size=BULK_SIZE, ignore_conflicts=True)
    quiz.closed_at = timezone.now()
    quiz.counts = counts
    quiz.answer_count = len(rows)
    quiz.save(update_fields=["closed_at", "counts", "answer_count"])
    return quiz


# --- bans ------------------------------------------------------------------------------------

def room_ban_create(*, lecture_id: int, user_id: int, banned_by_id: int, reason: str = "") -> RoomBan:
    """Bans the user from the lecture's room (a current ban is kept, not duplicated)."""
    with transaction.atomic():
        ban = RoomBan.objects.filter(lecture_id=lecture_id, user_id=user_id, lifted_at__isnull=True).first()
        if ban is not None:
            return ban
        return RoomBan.objects.create(lecture_id=lecture_id, user_id=user_id, banned_by_id=banned_by_id,
                                      reason=reason)


@transaction.atomic
def room_ban_lift(*, ban: RoomBan, actor) -> RoomBan:
    """Lifts a ban: the user may enter the room again."""
    ban = RoomBan.objects.select_for_update().filter(pk=ban.pk).first()
    if ban is None:
        raise NotFound(_("No such ban."))
    if ban.lifted_at is not None:
        raise Conflict(_("This ban has been lifted already."), code="ban_lifted")
    ban.lifted_at = timezone.now()
    ban.lifted_by = actor
    ban.save(update_fields=["lifted_at", "lifted_by"])
    return ban


# --- attendance ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttendanceRow:
    lecture_id: int
    user_id: int
    seconds: int
    joins: int
    first_joined_at: datetime.datetime
    last_seen_at: datetime.datetime


_UPSERT = """
INSERT INTO {table} (lecture_id, user_id, seconds_watched, joins, first_joined_at, last_seen_at)
VALUES {values}
ON CONFLICT (lecture_id, user_id) DO UPDATE SET
    seconds_watched = {table}.seconds_watched + excluded.seconds_watched,
    joins = {table}.joins + excluded.joins,
    first_joined_at = CASE WHEN excluded.first_joined_at < {table}.first_joined_at
                           THEN excluded.first_joined_at ELSE {table}.first_joined_at END,
    last_seen_at = CASE WHEN excluded.last_seen_at > {table}.last_seen_at
                        THEN excluded.last_seen_at ELSE {table}.last_seen_at END
"""


def attendance_add(*, rows: Iterable[AttendanceRow]) -> int:
    """Adds watched seconds and joins to each (lecture, user)'s attendance: one INSERT ... ON
    CONFLICT DO UPDATE per 500 rows (PostgreSQL and SQLite share the syntax), atomic per row,
    so two processes adding to the same viewer never lose an update."""
    rows = list(rows)
    table = connection.ops.quote_name(Attendance._meta.db_table)
    to_db = Attendance._meta.get_field("first_joined_at").get_db_prep_value
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), BULK_SIZE):
            chunk = rows[start:start + BULK_SIZE]
            params: list = []
            for row in chunk:
                params += [row.lecture_id, row.user_id, row.seconds, row.joins,
                           to_db(row.first_joined_at, connection), to_db(row.last_seen_at, connection)]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(_UPSERT.format(table=table, values=values), params)
    return len(rows)


def lecture_peak_viewers_record(*, peaks: dict[int, int]) -> None:
    """Raises each lecture's ``peak_viewers`` to the hub's peak (never lowers it), through
    courses' own service (the column is courses'); one conditional UPDATE per lecture."""
    from courses.services import lecture_peak_viewers_record as record

    for lecture_id, peak in peaks.items():
        record(lecture_id=lecture_id, viewers=peak)


# --- lecture end -----------------------------------------------------------------------------

def _minutes(seconds: float) -> int:
    return max(0, int(seconds // 60))


def live_lecture_close(*, lecture: Lecture) -> list:
    """Records ``live_minutes`` for the lecture's staff once the lecture has ended (receiver of
    ``courses.signals.lecture_ended``; idempotent keys ``lecture:{id}:live_minutes:{teacher}``).

    Lecturers are credited the minutes the room was live (went live → ended); assistants the
    minutes they were present in the room (their attendance, flushed every 30 s, so up to the
    last flush), at most the minutes live. Nothing is recorded for zero minutes."""
    lecture = Lecture.objects.get(pk=lecture.pk)
    if lecture.went_live_at is None or lecture.ended_at is None:
        return []
    live_seconds = (lecture.ended_at - lecture.went_live_at).total_seconds()
    staff = list(LectureStaff.objects.filter(lecture=lecture).values_list("teacher_id", "role"))
    attended = dict(Attendance.objects.filter(lecture=lecture, user_id__in=[t for t, _ in staff])
                    .values_list("user_id", "seconds_watched"))
    recorded = []
    with transaction.atomic():
        for teacher_id, role in staff:
            seconds = live_seconds if role == LectureStaff.Role.LECTURER else min(
                live_seconds, attended.get(teacher_id, 0))
            minutes = _minutes(seconds)
            if minutes <= 0:
                continue
            recorded.append(service_event_record(
                teacher_id=teacher_id, kind="live_minutes", occurred_at=lecture.ended_at, quantity=minutes,
                idempotency_key=f"lecture:{lecture.pk}:live_minutes:{teacher_id}", source=lecture,
            ))
    transaction.on_commit(lambda: _announce_end(lecture.pk))
    return recorded


def _announce_end(lecture_id: int) -> None:
    """Tells the room (every process, through the hub) that the lecture ended. Best effort: a
    failure is logged and never undoes the close."""
    from asgiref.sync import SyncToAsync, async_to_sync

    from live.room import announce_lecture_ended

    # Under the ASGI server (a sync view in its thread pool) this runs on the server's loop and
    # hub; in a plain sync process (gunicorn, a command, a test) on a loop of its own, whose hub
    # and Redis client are closed afterwards.
    server_loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    temporary = server_loop is None or not server_loop.is_running()

    async def announce():
        try:
            await announce_lecture_ended(lecture_id)
        finally:
            if temporary:
                from live.hub import reset_hub
                from live.redis import close_redis

                await reset_hub()
                await close_redis()

    try:
        async_to_sync(announce)()
    except Exception:
        logger.exception("could not announce the end of lecture %s to its room", lecture_id)


def on_lecture_ended(sender, *, lecture: Lecture, **kwargs) -> None:
    """Receiver of ``courses.signals.lecture_ended`` (connected in live.apps)."""
    live_lecture_close(lecture=lecture)

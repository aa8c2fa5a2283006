"""What a live room (直播间) keeps: chat and questions for the replay, pushed quizzes and their
answers, attendance, and bans.

Nothing here is written once per websocket message: the room (live/room.py) keeps the hot state
in the shared store (live/state.py) and writes these tables in batches (chat, votes, answers,
attendance) or for rare actions (a question asked, a quiz pushed, a ban).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ChatMessage(models.Model):
    """A chat message, written in batches; ``number`` is its id in the room's protocol."""

    lecture = models.ForeignKey("courses.Lecture", on_delete=models.CASCADE, related_name="chat_messages",
                                verbose_name=_("lecture"))
    number = models.PositiveBigIntegerField(_("number in the room"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("author"))
    text = models.CharField(_("text"), max_length=500)
    offset_ms = models.BigIntegerField(_("offset into the lecture (ms)"))
    sent_at = models.DateTimeField(_("sent at"))
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+", verbose_name=_("deleted by"))

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        ordering = ["lecture_id", "offset_ms", "number"]
        constraints = [
            models.UniqueConstraint(fields=["lecture", "number"], name="live_chat_number_once"),
        ]
        indexes = [models.Index(fields=["lecture", "offset_ms", "number"], name="live_chat_replay")]

    def __str__(self) -> str:
        return f"#{self.number} {self.text[:40]}"


class Question(models.Model):
    """A question to the lecturer (向主讲提问), apart from chat; ``votes`` is saved in batches."""

    lecture = models.ForeignKey("courses.Lecture", on_delete=models.CASCADE, related_name="questions",
                                verbose_name=_("lecture"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("author"))
    text = models.CharField(_("text"), max_length=500)
    offset_ms = models.BigIntegerField(_("offset into the lecture (ms)"))
    asked_at = models.DateTimeField(_("asked at"))
    votes = models.PositiveIntegerField(_("votes"), default=0)
    pinned = models.BooleanField(_("pinned"), default=False)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("question to the lecturer")
        verbose_name_plural = _("questions to the lecturer")
        ordering = ["lecture_id", "offset_ms", "id"]
        indexes = [models.Index(fields=["lecture", "offset_ms", "id"], name="live_question_replay")]

    def __str__(self) -> str:
        return self.text[:60]


class Quiz(models.Model):
    """A question the lecturer pushes to the room (随堂测验), answered within ``seconds``.

    ``bank_question_id`` is the hook for the question bank: until it lands, the quiz carries its
    own prompt and options."""

    lecture = models.ForeignKey("courses.Lecture", on_delete=models.CASCADE, related_name="quizzes",
                                verbose_name=_("lecture"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("pushed by"))
    bank_question_id = models.PositiveBigIntegerField(_("question bank question"), null=True, blank=True)
    prompt = models.CharField(_("question"), max_length=1000)
    options = models.JSONField(_("options"))
    correct_option = models.PositiveSmallIntegerField(_("correct option (index)"))
    seconds = models.PositiveIntegerField(_("time limit (seconds)"))
    opened_at = models.DateTimeField(_("opened at"))
    closes_at = models.DateTimeField(_("closes at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    counts = models.JSONField(_("answers per option"), default=list, blank=True)
    answer_count = models.PositiveIntegerField(_("answers"), default=0)

    class Meta:
        verbose_name = _("live quiz")
        verbose_name_plural = _("live quizzes")
        ordering = ["lecture_id", "opened_at", "id"]
        indexes = [models.Index(fields=["lecture", "closed_at"], name="live_quiz_open")]

    def __str__(self) -> str:
        return self.prompt[:60]


class QuizAnswer(models.Model):
    """One viewer's answer to a quiz, graded on the server; written in bulk when the quiz closes."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="answers", verbose_name=_("quiz"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    option = models.PositiveSmallIntegerField(_("option (index)"))
    is_correct = models.BooleanField(_("correct"))
    answered_at = models.DateTimeField(_("answered at"))

    class Meta:
        verbose_name = _("quiz answer")
        verbose_name_plural = _("quiz answers")
        ordering = ["quiz_id", "answered_at", "id"]
        constraints = [models.UniqueConstraint(fields=["quiz", "user"], name="live_quiz_answer_once")]

    def __str__(self) -> str:
        return f"{self.quiz_id} · {self.user_id} · {self.option}"


class Attendance(models.Model):
    """How long a user watched a lecture (考勤): summed join/leave intervals, upserted in batches."""

    lecture = models.ForeignKey("courses.Lecture", on_delete=models.CASCADE, related_name="attendance",
                                verbose_name=_("lecture"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    seconds_watched = models.PositiveIntegerField(_("seconds watched"), default=0)
    joins = models.PositiveIntegerField(_("times joined"), default=0)
    first_joined_at = models.DateTimeField(_("first joined at"))
    last_seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["lecture_id", "user_id"]
        constraints = [models.UniqueConstraint(fields=["lecture", "user"], name="live_attendance_once")]
        indexes = [models.Index(fields=["user", "lecture"], name="live_attendance_user")]

    def __str__(self) -> str:
        return f"{self.lecture_id} · {self.user_id} · {self.seconds_watched}s"

    @property
    def minutes_watched(self) -> int:
        return self.seconds_watched // 60


class RoomBan(models.Model):
    """A user banned from a lecture's room by a moderator; lifted by setting ``lifted_at``."""

    lecture = models.ForeignKey("courses.Lecture", on_delete=models.CASCADE, related_name="bans",
                                verbose_name=_("lecture"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    banned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("banned by"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("banned at"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("lifted by"))

    class Meta:
        verbose_name = _("room ban")
        verbose_name_plural = _("room bans")
        ordering = ["lecture_id", "-created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["lecture", "user"], condition=Q(lifted_at__isnull=True),
                                    name="live_ban_one_current"),
        ]

    def __str__(self) -> str:
        return f"{self.lecture_id} · {self.user_id}"

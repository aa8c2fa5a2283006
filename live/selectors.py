"""Reads for the live rooms: who enters a room and with which role, bans, replay windows.

The role in a room comes from ``courses.selectors.lecture_role`` (the one home of "who may see a
lecture"); the room adds its own refusals (banned, lecture not open).

Roles: ``viewer``; ``lecturer`` and ``assistant`` (the lecture's staff; assistants moderate);
``admin`` (an administrator whose scope holds the course: moderates, does not teach).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from courses.models import Lecture, LectureStaff
from courses.selectors import lecture_role as courses_lecture_role
from live.models import ChatMessage, Question, RoomBan

VIEWER, LECTURER, ASSISTANT, ADMIN = "viewer", "lecturer", "assistant", "admin"
# Who moderates chat (delete, mute, ban, slow mode) and may see staff-only frames.
MODERATOR_ROLES = frozenset({LECTURER, ASSISTANT, ADMIN})
# Who runs the lecture's content: pins and answers questions, pushes and closes quizzes.
TEACHING_ROLES = frozenset({LECTURER, ASSISTANT})
# Lecture states in which the room admits people.
OPEN_STATES = frozenset({Lecture.State.SCHEDULED, Lecture.State.LIVE})


def lecture_role(user, lecture: Lecture, **known) -> str | None:
    """``viewer`` / ``lecturer`` / ``assistant`` / ``admin``, or None for someone who may not enter
    (``known``: ``staff_role=`` when already read, see courses.selectors.lecture_role)."""
    return courses_lecture_role(user, lecture, **known)


def lecture_for_room(lecture_id: int) -> Lecture | None:
    """The lecture with what deciding a role needs (course and its school of record): one query."""
    return (Lecture.objects.select_related("course__studio__host_school", "course__owner__school")
            .filter(pk=lecture_id).first())


def room_entrants(*, user_ids, lecture_id: int) -> dict:
    """The users at the room's door by id, in ONE query: those active and past their initial
    password (the others are missing: their ticket is no longer good), with the profiles
    ``lecture_role`` reads, annotated with ``room_staff_role`` (their ``LectureStaff`` role in
    the lecture, or None) and ``room_banned`` (an active ban from the room). Read on every
    connect, never cached, so a ban or a deactivation takes effect at the next connect."""
    from accounts.models import User

    # LectureStaff is courses' table, read here only as this subquery so the door takes one
    # query (courses.selectors.lecture_staff_role is the same filter).
    staff = LectureStaff.objects.filter(lecture_id=lecture_id, teacher_id=OuterRef("pk")).values("role")[:1]
    banned = RoomBan.objects.filter(lecture_id=lecture_id, user_id=OuterRef("pk"), lifted_at__isnull=True)
    users = (User.objects.filter(pk__in=user_ids, is_active=True, must_change_password=False)
             .select_related("student_profile__school", "teacher_profile__school",
                             "admin_profile__region", "admin_profile__school")
             .annotate(room_staff_role=Subquery(staff), room_banned=Exists(banned)))
    return {user.pk: user for user in users}


def room_ban_list(*, lecture: Lecture) -> QuerySet[RoomBan]:
    return (RoomBan.objects.filter(lecture=lecture, lifted_at__isnull=True)
            .select_related("user", "banned_by").order_by("-created_at", "-id"))


def can_moderate(user, lecture: Lecture) -> bool:
    return lecture_role(user, lecture) in MODERATOR_ROLES


def replay_chat(*, lecture: Lecture, start_ms: int, end_ms: int) -> QuerySet[ChatMessage]:
    """Chat in [start_ms, end_ms) into the lecture, deleted messages left out, in replay order."""
    return (ChatMessage.objects.filter(lecture=lecture, deleted_at__isnull=True,
                                       offset_ms__gte=start_ms, offset_ms__lt=end_ms)
            .select_related("author").order_by("offset_ms", "number"))


def replay_questions(*, lecture: Lecture, start_ms: int, end_ms: int) -> QuerySet[Question]:
    return (Question.objects.filter(lecture=lecture, offset_ms__gte=start_ms, offset_ms__lt=end_ms)
            .select_related("author").order_by("offset_ms", "id"))


def room_state_saved(*, lecture_id: int, recent: int, questions: int) -> dict:
    """What the database holds of a room, to refill an empty shared store (a restarted
    single-process server, expired keys): the highest chat number, the last ``recent`` chat
    messages not deleted (oldest first) and up to ``questions`` questions (most votes first)."""
    from django.db.models import Max

    chat = ChatMessage.objects.filter(lecture_id=lecture_id)
    last = list(chat.filter(deleted_at__isnull=True).select_related("author").order_by("-number")[:recent])
    return {
        "max_number": chat.aggregate(n=Max("number"))["n"] or 0,
        "chat": last[::-1],
        "deleted": list(chat.filter(deleted_at__isnull=False).order_by("-number")
                        .values_list("number", flat=True)[:1000]),
        "questions": list(Question.objects.filter(lecture_id=lecture_id).select_related("author")
                          .order_by("-votes", "id")[:questions]),
    }

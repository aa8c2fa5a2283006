"""Browser page of the live room (``/live/<lecture_id>/``): the lecture's watch state, chat,
questions to the lecturer and pushed quizzes, for a student and for the lecture's staff.

The page is plain HTML and vanilla JS (live/static/live/room.js) talking to the room over the
websocket protocol of docs/live-protocol.md; this view only decides who may open it and hands
the script what it needs (the ticket URL, the websocket path, the user's role, the labels).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from courses.models import Lecture
from courses.selectors import lecture_role

# Who sees which controls (docs/live-protocol.md; the server enforces the same split):
# moderators delete chat messages, mute and set slow mode; teachers also pin and answer
# questions and push and close quizzes.
_MODERATORS = frozenset({"lecturer", "assistant", "admin"})
_TEACHERS = frozenset({"lecturer", "assistant"})


def _labels() -> dict:
    """The texts room.js shows (gettext here, so the page speaks the request's language)."""
    return {
        "connecting": _("Connecting…"), "connected": _("Connected"),
        "reconnecting": _("Connection lost; reconnecting…"), "closed": _("Disconnected."),
        "refused": _("You may not enter this room."), "banned": _("You have been removed from this room."),
        "notOpen": _("The room is open only while the lecture is scheduled or live."),
        "notFound": _("No such lecture."), "ended": _("The lecture has ended."),
        "signedOut": _("You are signed out: reload the page to sign in again."),
        "delete": _("Delete"), "mute": _("Mute 10 min"), "muteDone": _("Muted"),
        "muted": _("You are muted in this room until %(time)s."),
        "slowMode": _("Slow mode: one message every %(seconds)s s."),
        "pin": _("Pin"), "unpin": _("Unpin"), "pinned": _("Pinned"),
        "markAnswered": _("Mark answered"), "answered": _("Answered"),
        "upvote": _("Upvote"), "votes": _("votes"),
        "quizOpen": _("Quiz"), "quizSubmit": _("Submit answer"),
        "quizAnswered": _("Answer received; results after the close."),
        "quizSecondsLeft": _("%(seconds)s s left"), "quizTimeUp": _("Time is up"),
        "quizClosed": _("Quiz results"), "quizAnswers": _("%(total)s answers"),
        "quizCorrect": _("Correct!"), "quizWrong": _("Wrong: the correct answer is %(option)s."),
        "quizNotAnswered": _("You did not answer; the correct answer is %(option)s."),
        "quizPushOptions": _("Give 2 to 6 options, one per line."),
        "error": _("Error"),
        "state": {choice.value: str(choice.label) for choice in Lecture.State},
    }


_ROLE_LABELS = {"viewer": _lazy("viewer"), "lecturer": _lazy("lecturer"), "assistant": _lazy("assistant"),
                "admin": _lazy("administrator")}


@require_GET
@login_required
@never_cache
@ensure_csrf_cookie
def room_page(request, lecture_id: int):
    """The live room of one lecture. 404 for a lecture that does not exist; 403 for someone who
    has no role in its room (courses.selectors.lecture_role), and for a
    viewer while the lecture is still a draft."""
    lecture = Lecture.objects.select_related("course").filter(pk=lecture_id).first()
    if lecture is None:
        raise Http404(_("No such lecture."))
    role = lecture_role(request.user, lecture)
    if role is None or (role == "viewer" and lecture.state == Lecture.State.DRAFT):
        raise PermissionDenied(_("You may not enter this lecture's room."))
    return render(request, "live/room.html", {
        "lecture": lecture,
        "role": role,
        "role_label": _ROLE_LABELS.get(role, role),
        "is_moderator": role in _MODERATORS,
        "is_teacher": role in _TEACHERS,
        "play_url": lecture.stream_play_url if lecture.state == Lecture.State.LIVE else "",
        "replay_url": lecture.replay_url if lecture.state == Lecture.State.REPLAY else "",
        "config": {
            "lectureId": lecture.pk,
            "userId": request.user.pk,
            "role": role,
            "moderator": role in _MODERATORS,
            "teacher": role in _TEACHERS,
            "state": lecture.state,
            "ticketUrl": reverse("auth-ws-ticket"),
            "socketPath": f"/ws/live/{lecture.pk}/",
        },
        "labels": _labels(),
    })

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    """Live rooms over websockets: chat, questions, quizzes, presence, attendance."""

    name = "live"
    verbose_name = _("Live rooms")

    def ready(self):
        # When a lecture ends (courses.services.lecture_end, after commit): staff live minutes,
        # the room told, the batches written.
        from courses.signals import lecture_ended
        from live.services import on_lecture_ended

        lecture_ended.connect(on_lecture_ended, dispatch_uid="live.on_lecture_ended")

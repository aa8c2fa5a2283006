from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuestionBankConfig(AppConfig):
    """The micro question bank (微题库): questions, practice, wrong-answer notebook."""

    name = "question_bank"
    verbose_name = _("Question bank")

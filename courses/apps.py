from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoursesConfig(AppConfig):
    """Studio-run lecture courses (名师大讲堂): courses, lectures, resources."""

    name = "courses"
    verbose_name = _("Courses")

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyUsage(models.Model):
    """Visits and active users per county, day and role (seed 000 watches county adoption).
    Counted in the cache as requests arrive and written here in batches by a periodic task."""

    class Role(models.TextChoices):
        STUDENT = "student", _("student")
        TEACHER = "teacher", _("teacher")
        ADMIN = "admin", _("administrator")

    county = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("county"))
    day = models.DateField(_("day"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    visits = models.PositiveIntegerField(_("visits"), default=0)
    active_users = models.PositiveIntegerField(_("active users"), default=0)

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        constraints = [
            models.UniqueConstraint(fields=["county", "day", "role"], name="daily_usage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.county_id} {self.day} {self.role}: {self.visits}"

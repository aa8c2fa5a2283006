from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class CountyEnrolment(models.Model):
    """How many students are enrolled and teachers employed in a county in a school year
    (在籍学生数 / 在编教师数), reported by the bureau. The denominators of the county adoption
    report (seed 000: 85.93% of students registered): they are data, not constants."""

    county = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="enrolments",
                               limit_choices_to={"kind": "county"}, verbose_name=_("county"))
    school_year = models.PositiveSmallIntegerField(
        _("school year"), help_text=_("The year the school year starts in, e.g. 2025 for 2025-2026."))
    students_enrolled = models.PositiveIntegerField(_("students enrolled"))
    teachers_employed = models.PositiveIntegerField(_("teachers employed"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("county enrolment")
        verbose_name_plural = _("county enrolments")
        ordering = ["county_id", "-school_year"]
        constraints = [
            models.UniqueConstraint(fields=["county", "school_year"], name="county_enrolment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.county_id} {self.school_year}: {self.students_enrolled}"

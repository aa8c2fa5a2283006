from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from service_records.models.assessments import Grade


class IncentiveRule(models.Model):
    """What follows from a finalized grade, as data: a stipend by studio role and grade
    (seed 003: host 10,000 CNY and member 5,000 CNY a year, nothing when unqualified) and
    whether the grade keeps the teacher eligible for awards (评优评先) and title review (职称评审)."""

    class Role(models.TextChoices):
        STUDIO_HOST = "studio_host", _("studio host")
        STUDIO_MEMBER = "studio_member", _("studio member")
        STUDIO_TRAINEE = "studio_trainee", _("studio trainee")
        ANY_TEACHER = "any_teacher", _("any assessed teacher")

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT,
                               related_name="incentive_rules", verbose_name=_("region"))
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=128)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    grades = models.JSONField(_("grades"), default=list,
                              help_text=_("Grades the rule applies to, e.g. [\"excellent\", \"qualified\"]."))
    stipend = models.DecimalField(_("stipend (CNY per year)"), max_digits=12, decimal_places=2,
                                  default=0)
    awards_eligible = models.BooleanField(_("keeps award eligibility"), default=True)
    title_review_eligible = models.BooleanField(_("counts for title review"), default=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("incentive rule")
        verbose_name_plural = _("incentive rules")
        ordering = ["region_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region", "code", "valid_from"],
                                    name="incentive_rule_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class IncentiveOutcome(models.Model):
    """What one teacher gets from a finalized run: every figure names the result and the rule
    that produced it, so the finance office's payout list can be traced back to the ledger."""

    run = models.ForeignKey("service_records.AssessmentRun", on_delete=models.PROTECT,
                            related_name="incentives", verbose_name=_("run"))
    result = models.ForeignKey("service_records.AssessmentResult", on_delete=models.PROTECT,
                               related_name="incentives", verbose_name=_("result"))
    rule = models.ForeignKey(IncentiveRule, on_delete=models.PROTECT, related_name="outcomes",
                             verbose_name=_("rule"))
    teacher = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("teacher"))
    studio_name = models.CharField(_("studio"), max_length=128, blank=True,
                                   help_text=_("The studio whose role the rule paid for."))
    grade = models.CharField(_("grade"), max_length=16, choices=Grade.choices)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=12, decimal_places=2)
    awards_eligible = models.BooleanField(_("eligible for awards"))
    title_review_eligible = models.BooleanField(_("counts for title review"))
    explanation = models.TextField(_("explanation"))

    class Meta:
        verbose_name = _("incentive outcome")
        verbose_name_plural = _("incentive outcomes")
        constraints = [
            models.UniqueConstraint(fields=["run", "teacher", "rule", "studio_name"],
                                    name="incentive_outcome_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher_id}: {self.amount}"

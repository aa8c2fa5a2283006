from django.db import models
from django.utils.translation import gettext_lazy as _


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("excellent")  # 优秀
    QUALIFIED = "qualified", _("qualified")  # 合格
    UNQUALIFIED = "unqualified", _("unqualified")  # 不合格


class AssessmentRun(models.Model):
    """One computation of a scheme version over the ledger, for the teachers of a region.

    Reproducible: it stores the scheme version and the ledger digest it was computed at.
    Finalizing a run makes it the period's snapshot (with grades); the period is then frozen:
    no further runs are finalized for that scheme and period, and the snapshot never changes.
    """

    class Status(models.TextChoices):
        COMPUTED = "computed", _("computed")
        FINAL = "final", _("final")
        SUPERSEDED = "superseded", _("superseded")

    scheme = models.ForeignKey("service_records.AssessmentScheme", on_delete=models.PROTECT,
                               related_name="runs", verbose_name=_("scheme version"))
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("region"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.COMPUTED)
    ledger_digest = models.CharField(_("ledger digest"), max_length=64)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)
    computed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("computed by"))
    finalized_at = models.DateTimeField(_("finalized at"), null=True, blank=True)
    finalized_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+", verbose_name=_("finalized by"))
    teacher_count = models.PositiveIntegerField(_("teachers"), default=0)

    class Meta:
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        ordering = ["-computed_at"]
        constraints = [
            # One final snapshot per scheme (a scheme is one region's period).
            models.UniqueConstraint(fields=["scheme"], condition=models.Q(status="final"),
                                    name="one_final_run_per_scheme"),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} @ {self.computed_at:%Y-%m-%d %H:%M} ({self.status})"


class AssessmentResult(models.Model):
    """A teacher's result in a run: points, duties met, grade after consequences."""

    run = models.ForeignKey(AssessmentRun, on_delete=models.CASCADE, related_name="results",
                            verbose_name=_("run"))
    teacher = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                                related_name="assessment_results", verbose_name=_("teacher"))
    points = models.DecimalField(_("points"), max_digits=12, decimal_places=2)
    duties_met = models.BooleanField(_("duties met"))
    missed_duties = models.JSONField(_("missed duties"), default=list, blank=True,
                                     help_text=_("Codes of the duty indicators not met."))
    grade_by_points = models.CharField(_("grade by points"), max_length=16, choices=Grade.choices)
    grade = models.CharField(_("grade"), max_length=16, choices=Grade.choices)
    awards_eligible = models.BooleanField(_("eligible for awards"))

    class Meta:
        verbose_name = _("assessment result")
        verbose_name_plural = _("assessment results")
        constraints = [
            models.UniqueConstraint(fields=["run", "teacher"], name="one_result_per_teacher_per_run"),
        ]
        indexes = [models.Index(fields=["teacher", "run"])]

    def __str__(self) -> str:
        return f"{self.teacher_id}: {self.points} {self.grade}"


class IndicatorScore(models.Model):
    """A teacher's units and points on one leaf indicator in a run (the drill-down)."""

    result = models.ForeignKey(AssessmentResult, on_delete=models.CASCADE, related_name="scores",
                               verbose_name=_("result"))
    indicator = models.ForeignKey("service_records.Indicator", on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("indicator"))
    units = models.DecimalField(_("units"), max_digits=12, decimal_places=2)
    points = models.DecimalField(_("points"), max_digits=12, decimal_places=2)
    capped = models.BooleanField(_("capped"), default=False)
    minimum_met = models.BooleanField(_("minimum met"), null=True)

    class Meta:
        verbose_name = _("indicator score")
        verbose_name_plural = _("indicator scores")
        constraints = [
            models.UniqueConstraint(fields=["result", "indicator"], name="one_score_per_indicator"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id}: {self.points}"

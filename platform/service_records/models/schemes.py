from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class AssessmentScheme(models.Model):
    """An assessment scheme (考核方案) of a region for a period: a tree of indicators.

    Schemes are data: they differ between regions and change between cycles (Anning cut its
    C-level indicators from 27 to 19). A published scheme is never edited; editing makes a new
    version (``supersedes`` the old one). Results always name the version they used.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        RETIRED = "retired", _("retired")

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="schemes",
                               verbose_name=_("region"))
    code = models.SlugField(_("code"), max_length=64,
                            help_text=_("Stable across versions, e.g. wz-three-tier-2026."))
    name = models.CharField(_("name"), max_length=128)
    version = models.PositiveIntegerField(_("version"), default=1)
    period_label = models.CharField(_("period"), max_length=32, help_text=_("e.g. 2026年度"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("inclusive"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.DRAFT)
    tiers = models.ManyToManyField("accounts.TeacherTier", blank=True, related_name="schemes",
                                   verbose_name=_("assessed tiers"),
                                   help_text=_("Empty: every three-tier teacher in the region."))
    excellent_min = models.DecimalField(_("excellent from (points)"), max_digits=10, decimal_places=2)
    qualified_min = models.DecimalField(_("qualified from (points)"), max_digits=10, decimal_places=2)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by", verbose_name=_("supersedes"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+", verbose_name=_("published by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["region_id", "code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["region", "code", "version"],
                                    name="scheme_version_unique"),
            models.CheckConstraint(name="scheme_period_ordered",
                                   condition=models.Q(period_end__gte=models.F("period_start"))),
            models.CheckConstraint(name="scheme_thresholds_ordered",
                                   condition=models.Q(excellent_min__gte=models.F("qualified_min"))),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.period_label})"


class Indicator(models.Model):
    """A node of a scheme's tree: A-level (一级), B-level (二级) or C-level (三级) indicator.

    Leaves say how service counts: which event kinds, credit per unit, a cap per period,
    quality weights, and an optional required minimum (a duty) with its consequence when missed
    (seed 004 art. 10: no awards that year and the grade drops one level).
    """

    class Level(models.TextChoices):
        A = "A", _("A-level")
        B = "B", _("B-level")
        C = "C", _("C-level")

    class MinimumPer(models.TextChoices):
        PERIOD = "period", _("per assessment period")
        YEAR = "year", _("per year")
        TERM = "term", _("per term")
        MONTH = "month", _("per month")

    class Consequence(models.TextChoices):
        NONE = "none", _("none")
        NO_AWARDS = "no_awards", _("no awards that year")
        GRADE_DOWN = "grade_down", _("grade drops one level")
        NO_AWARDS_AND_GRADE_DOWN = (
            "no_awards_and_grade_down",
            _("no awards that year and the grade drops one level"),
        )

    scheme = models.ForeignKey(AssessmentScheme, on_delete=models.CASCADE,
                               related_name="indicators", verbose_name=_("scheme"))
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="children", verbose_name=_("parent"))
    level = models.CharField(_("level"), max_length=1, choices=Level.choices)
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=128)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    max_points = models.DecimalField(_("most points"), max_digits=10, decimal_places=2, null=True,
                                     blank=True, help_text=_("Cap on this subtree's points."))
    # --- leaf rules (only on indicators without children) ---
    event_kinds = models.ManyToManyField("service_records.ServiceEventKind", blank=True,
                                         related_name="indicators", verbose_name=_("event kinds"))
    credit_per_unit = models.DecimalField(_("credit per unit"), max_digits=10, decimal_places=4,
                                          default=Decimal("0"))
    cap_per_period = models.DecimalField(_("cap per period (points)"), max_digits=10,
                                         decimal_places=2, null=True, blank=True)
    accepted_weight = models.DecimalField(
        _("weight when accepted"), max_digits=5, decimal_places=2, default=Decimal("1"),
        help_text=_("Multiplier for events marked accepted (e.g. an accepted answer counts more)."))
    low_rating_below = models.DecimalField(
        _("low rating below"), max_digits=3, decimal_places=2, null=True, blank=True,
        help_text=_("Events rated below this are weighted by the low-rating weight."))
    low_rating_weight = models.DecimalField(_("weight when low-rated"), max_digits=5,
                                            decimal_places=2, default=Decimal("1"))
    required_minimum = models.DecimalField(
        _("required minimum (units)"), max_digits=10, decimal_places=2, null=True, blank=True,
        help_text=_("A duty: at least this many units of the kinds, per the period below."))
    minimum_per = models.CharField(_("minimum per"), max_length=16, choices=MinimumPer.choices,
                                   default=MinimumPer.PERIOD)
    consequence = models.CharField(_("consequence when missed"), max_length=32,
                                   choices=Consequence.choices, default=Consequence.NONE)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["scheme_id", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="indicator_code_unique_in_scheme"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

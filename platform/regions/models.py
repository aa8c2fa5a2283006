from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Region(models.Model):
    """A city (市) or a county (县市区) in the education bureaus' tree: city → county → school."""

    class Kind(models.TextChoices):
        CITY = "city", _("city")
        COUNTY = "county", _("county")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="region_city_is_root_county_has_parent",
                condition=(Q(kind="city", parent__isnull=True) | Q(kind="county", parent__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SchoolStage(models.Model):
    """A school stage (学段): primary, junior secondary, senior secondary, ..."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("school stage")
        verbose_name_plural = _("school stages")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class Subject(models.Model):
    """A subject (学科)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("subject")
        verbose_name_plural = _("subjects")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class Grade(models.Model):
    """A grade (年级) within a school stage."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    stage = models.ForeignKey(SchoolStage, on_delete=models.PROTECT, related_name="grades",
                              verbose_name=_("school stage"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class School(models.Model):
    """A school (学校), the leaf of the region tree. ``city`` repeats ``county.parent`` so that
    scoping a list to a city is one indexed filter."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="schools",
                               limit_choices_to={"kind": Region.Kind.COUNTY}, verbose_name=_("county"))
    city = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                             limit_choices_to={"kind": Region.Kind.CITY}, verbose_name=_("city"),
                             editable=False)
    stages = models.ManyToManyField(SchoolStage, blank=True, related_name="schools",
                                    verbose_name=_("school stages"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # The denormalised city must always follow the county; derive it, never accept it.
        self.city_id = Region.objects.only("parent_id").get(pk=self.county_id).parent_id
        super().save(*args, **kwargs)

"""The service ledger: every piece of a teacher's online service as append-only evidence.

Each teacher's events form a hash chain (``sequence`` 1, 2, 3 ... with ``prev_hash`` →
``hash``), ended by the teacher's ``LedgerHead``. Chains are per teacher so that recording
service for 1,500 teachers at once never serialises on one global lock: appending locks only
that teacher's head row. ``ledger_digest`` folds every head into one hash that assessments
store as "the ledger as it was". On PostgreSQL a trigger refuses UPDATE and DELETE of events
(migration 0002); corrections are new, compensating events.
"""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

GENESIS_HASH = "0" * 64


class ServiceEventKind(models.Model):
    """A kind of online service (lecture delivered, answer given, ...). Kinds are data."""

    class Unit(models.TextChoices):
        COUNT = "count", _("count")
        MINUTES = "minutes", _("minutes")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=64)
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.COUNT)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service event kind")
        verbose_name_plural = _("service event kinds")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class LedgerHead(models.Model):
    """The last link of one teacher's chain; its row lock serialises that teacher's appends."""

    teacher = models.OneToOneField("accounts.User", on_delete=models.PROTECT, primary_key=True,
                                   related_name="ledger_head", verbose_name=_("teacher"))
    sequence = models.PositiveBigIntegerField(_("sequence"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")

    def __str__(self) -> str:
        return f"{self.teacher_id}@{self.sequence}"


class ServiceEvent(models.Model):
    """One fact of online service (服务记录), evidence for the teacher's assessment. Never
    updated or deleted: a correction is a new event that ``corrects`` this one."""

    teacher = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                                related_name="service_events", verbose_name=_("teacher"))
    sequence = models.PositiveBigIntegerField(_("sequence"))
    kind = models.ForeignKey(ServiceEventKind, on_delete=models.PROTECT, related_name="events",
                             verbose_name=_("kind"))
    source_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("evidence type"))
    source_id = models.CharField(_("evidence id"), max_length=64, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    occurred_at = models.DateTimeField(_("occurred at"))
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    rating = models.DecimalField(_("rating"), max_digits=3, decimal_places=2, null=True, blank=True)
    accepted = models.BooleanField(_("accepted"), null=True, blank=True)
    review_outcome = models.CharField(_("review outcome"), max_length=32, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("recorded by"))
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="corrections", verbose_name=_("corrects"))
    reason = models.TextField(_("reason"), blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("service event")
        verbose_name_plural = _("service events")
        ordering = ["teacher_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["teacher", "sequence"], name="service_event_chain_position"),
        ]
        indexes = [
            models.Index(fields=["occurred_at", "kind"], name="service_event_time_kind"),
            models.Index(fields=["teacher", "occurred_at"], name="service_event_teacher_time"),
            models.Index(fields=["source_type", "source_id"], name="service_event_source"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher_id}#{self.sequence} {self.kind_id} {self.quantity}"

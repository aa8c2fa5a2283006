from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class ServiceDispute(models.Model):
    """A teacher disputes a recorded event, or reports one that is missing. An administrator
    in scope resolves it; an accepted dispute becomes a compensating event in the ledger."""

    class Type(models.TextChoices):
        WRONG = "wrong", _("a recorded event is wrong")
        MISSING = "missing", _("an event is missing")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    teacher = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                                related_name="service_disputes", verbose_name=_("teacher"))
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    event = models.ForeignKey("service_records.ServiceEvent", on_delete=models.PROTECT, null=True,
                              blank=True, related_name="disputes", verbose_name=_("event"))
    # For a missing event: what the teacher says happened.
    kind = models.ForeignKey("service_records.ServiceEventKind", on_delete=models.PROTECT,
                             null=True, blank=True, related_name="+", verbose_name=_("kind"))
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, null=True,
                                   blank=True)
    description = models.TextField(_("description"))
    evidence_url = models.URLField(_("evidence link"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("resolved by"))
    resolution_note = models.TextField(_("resolution note"), blank=True)
    compensating_event = models.OneToOneField("service_records.ServiceEvent",
                                              on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="+", verbose_name=_("compensating event"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service dispute")
        verbose_name_plural = _("service disputes")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.get_status_display()})"


class EventFlag(models.Model):
    """An administrator flags an event for review (suspected duplicate, doubtful evidence)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLEARED = "cleared", _("cleared")
        CORRECTED = "corrected", _("corrected")

    event = models.ForeignKey("service_records.ServiceEvent", on_delete=models.PROTECT,
                              related_name="flags", verbose_name=_("event"))
    flagged_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("flagged by"))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+", verbose_name=_("resolved by"))
    resolution_note = models.TextField(_("resolution note"), blank=True)
    compensating_event = models.OneToOneField("service_records.ServiceEvent",
                                              on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="+", verbose_name=_("compensating event"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("event flag")
        verbose_name_plural = _("event flags")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"flag on {self.event_id} ({self.status})"

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceCertificate(models.Model):
    """A teacher's service certificate (服务证明) for a period. Anyone can check its
    verification code at a public URL: the certificate names the teacher's chain position and
    hash at issue, which must still be in the ledger, unchanged."""

    code = models.CharField(_("verification code"), max_length=32, unique=True)
    teacher = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                                related_name="service_certificates", verbose_name=_("teacher"))
    period_label = models.CharField(_("period"), max_length=32)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    result = models.ForeignKey("service_records.AssessmentResult", on_delete=models.PROTECT,
                               null=True, blank=True, related_name="+", verbose_name=_("result"))
    chain_sequence = models.PositiveBigIntegerField(_("chain position"))
    chain_hash = models.CharField(_("chain hash"), max_length=64)
    totals = models.JSONField(_("totals"), default=dict)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("issued by"))

    class Meta:
        verbose_name = _("service certificate")
        verbose_name_plural = _("service certificates")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.code

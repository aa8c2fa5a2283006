"""service_records models, one module per part of the issue: the ledger, assessment schemes,
assessment results, reviews (disputes, flags), incentives, certificates, adoption figures."""

from service_records.models.adoption import CountyEnrolment as CountyEnrolment
from service_records.models.assessments import AssessmentResult, AssessmentRun, IndicatorScore
from service_records.models.certificates import ServiceCertificate
from service_records.models.exports import ExportJob
from service_records.models.incentives import IncentiveOutcome, IncentiveRule
from service_records.models.ledger import GENESIS_HASH, LedgerHead, ServiceEvent, ServiceEventKind
from service_records.models.reviews import EventFlag, ServiceDispute
from service_records.models.schemes import AssessmentScheme, Indicator
from service_records.models.usage import DailyUsage

__all__ = [
    "GENESIS_HASH", "AssessmentResult", "AssessmentRun", "AssessmentScheme", "DailyUsage",
    "EventFlag", "ExportJob", "IncentiveOutcome", "IncentiveRule", "Indicator", "IndicatorScore",
    "LedgerHead", "ServiceCertificate", "ServiceDispute", "ServiceEvent", "ServiceEventKind",
]

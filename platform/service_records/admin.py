"""service_records in the Django admin: each part of the app registers its own models."""

from service_records.assessment.admin import register as register_assessment
from service_records.exports.admin import register as register_exports
from service_records.review.admin import register as register_review

register_assessment()
register_review()
register_exports()

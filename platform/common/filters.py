"""Filter fields shared by the list endpoints (django-filter)."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

# The largest value of a bigint primary key (DEFAULT_AUTO_FIELD is BigAutoField).
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """An id in the query string (``?school=12``). Only whole numbers in the key range pass;
    ``abc``, ``1.5``, ``1e400`` and out-of-range numbers are a 400 naming the parameter (the
    plain NumberFilter takes decimals, and a number too large for the database is a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class InstantFormField(forms.DateTimeField):
    """An ISO 8601 instant, turned to UTC: PostgreSQL refuses offsets beyond ±15:59 that Python
    parses (a 500 otherwise), and an instant too close to year 1 or 9999 is a 400."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            if timezone.is_naive(value):
                value = timezone.make_aware(value)
            value = value.astimezone(datetime.UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError(_("Give a time between the years 1900 and 9999.")) from exc
        if not 1900 <= value.year <= 9998:
            raise forms.ValidationError(_("Give a time between the years 1900 and 9999."))
        return value


@extend_schema_field({"type": "string", "format": "date-time"})
class InstantFilter(filters.DateTimeFilter):
    field_class = InstantFormField

"""Filter fields shared by the list endpoints (django-filter)."""

from django import forms
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

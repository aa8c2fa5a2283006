"""Serializer bases shared by every app's APIs."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    """Base for request bodies: a field the operation does not take is a 400 naming it, not
    silently dropped (a misspelt optional field would otherwise look accepted)."""

    # Sent by Django's HTML forms next to the real fields; never an error.
    ignored_fields = frozenset({"csrfmiddlewaretoken"})

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {
                str(name): [_("Unknown field.")]
                for name in data
                if name not in writable and name not in self.ignored_fields
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

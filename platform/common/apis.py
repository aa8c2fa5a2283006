"""Cross-cutting API: the audit trail (administrators only)."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission, IsAuthenticated

from accounts.permissions import PasswordIsCurrent
from accounts.selectors import user_is_admin
from common.audit import AUDITED_LABELS, CHANGE_TYPES, audit_entries, audit_index
from common.filters import MAX_ID


class IsAdministrator(BasePermission):
    message = _("Only administrators may read the audit trail.")
    code = "not_an_administrator"

    def has_permission(self, request, view) -> bool:
        return user_is_admin(request.user)


# Dates in the filters: the time zone's days, within a range every database handles.
_FIRST_DAY = datetime.date(1970, 1, 1)
_LAST_DAY = datetime.date(9998, 12, 31)


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class AuditEntryListApi(generics.ListAPIView):
    """Changes to people, roles, places and studios in the caller's scope, newest first: who
    made each change, when, to which object, whether it created, changed or deleted it, and
    every changed field with its old and new value (and, for related objects and choices, a
    readable name). A county administrator sees the changes to their county's schools, teachers,
    students, administrators and studios; a school administrator their school's; a city
    administrator their city's; superusers everything. Students, teachers and anybody else: 403.
    """

    permission_classes = [IsAuthenticated, PasswordIsCurrent, IsAdministrator]
    filter_backends: list = []

    class FilterSerializer(serializers.Serializer):
        model = serializers.ChoiceField(choices=AUDITED_LABELS, required=False,
                                        help_text="Only changes to this kind of object.")
        object_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                             help_text="Only changes to the object with this id.")
        user = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                        help_text="Only changes made by the user with this id.")
        change_type = serializers.ChoiceField(choices=list(CHANGE_TYPES.values()), required=False)
        date_from = serializers.DateField(required=False, help_text="First day (Asia/Shanghai), inclusive.")
        date_to = serializers.DateField(required=False, help_text="Last day (Asia/Shanghai), inclusive.")

        def validate_date_from(self, value):
            return self._in_range(value)

        def validate_date_to(self, value):
            return self._in_range(value)

        @staticmethod
        def _in_range(value):
            if not _FIRST_DAY <= value <= _LAST_DAY:
                message = _("Give a day between %(first)s and %(last)s.")
                raise serializers.ValidationError(message % {"first": _FIRST_DAY, "last": _LAST_DAY})
            return value

        def validate(self, attrs):
            first, last = attrs.get("date_from"), attrs.get("date_to")
            if first and last and first > last:
                raise serializers.ValidationError({"date_to": [_("The last day comes before the first.")]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        class ChangedBySerializer(serializers.Serializer):
            id = serializers.IntegerField()
            username = serializers.CharField()
            display_name = serializers.CharField()

        class FieldChangeSerializer(serializers.Serializer):
            field = serializers.CharField(help_text="The field's name in the model.")
            label = serializers.CharField(help_text="The field's name for people (translated).")
            old = serializers.JSONField(allow_null=True, help_text="Value before (null when created).")
            new = serializers.JSONField(allow_null=True, help_text="Value after (null when deleted).")
            old_display = serializers.CharField(allow_null=True,
                                                help_text="Name of the related object(s) or choice, if any.")
            new_display = serializers.CharField(allow_null=True)

        id = serializers.SerializerMethodField(help_text='"<model>:<history id>", unique in the trail.')
        model = serializers.CharField(help_text='e.g. "accounts.teacherprofile".')
        model_name = serializers.CharField(help_text="The kind of object, for people (translated).")
        object_id = serializers.IntegerField()
        object_repr = serializers.CharField()
        change_type = serializers.ChoiceField(choices=list(CHANGE_TYPES.values()))
        changed_at = serializers.DateTimeField()
        changed_by = ChangedBySerializer(allow_null=True, help_text="Null for changes made by the system.")
        reason = serializers.CharField(allow_null=True)
        changes = FieldChangeSerializer(many=True)

        def get_id(self, entry) -> str:
            return f"{entry.model}:{entry.history_id}"

    serializer_class = OutputSerializer

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request, *args, **kwargs):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        index = audit_index(
            user=request.user,
            model=data.get("model"),
            object_id=data.get("object_id"),
            changed_by=data.get("user"),
            change_type=data.get("change_type"),
            since=_start_of(data["date_from"]) if "date_from" in data else None,
            until=_start_of(data["date_to"] + datetime.timedelta(days=1)) if "date_to" in data else None,
        )
        page = self.paginate_queryset(index)
        return self.get_paginated_response(self.get_serializer(audit_entries(page), many=True).data)

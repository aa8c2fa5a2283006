"""Notifications API: my notifications (newest first, optionally unread only), the unread
count, marking one or all read. Nobody sees anybody else's notifications (404)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.models import Notification
from notifications.selectors import notification_list, notification_unread_count
from notifications.services import notification_mark_read


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read_at", "is_read"]

    def get_is_read(self, notification) -> bool:
        return notification.read_at is not None


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull",
                                   help_text="Only unread (true) or read (false) notifications.")
    kind = filters.CharFilter(max_length=64)

    class Meta:
        model = Notification
        fields = []


class NotificationListApi(generics.ListAPIView):
    """My notifications, newest first."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return notification_list(user=self.request.user)


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications became read.")


class NotificationUnreadCountApi(APIView):
    """How many of my notifications are unread."""

    @extend_schema(responses={200: UnreadCountSerializer})
    def get(self, request):
        return Response({"unread": notification_unread_count(user=request.user)})


class NotificationReadApi(APIView):
    """Mark one of my notifications read (again: no change)."""

    @extend_schema(request=None, responses={200: NotificationSerializer})
    def post(self, request, pk: int):
        notification = get_object_or_404(notification_list(user=request.user), pk=pk)
        notification_mark_read(user=request.user, ids=[notification.pk])
        notification.refresh_from_db()
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllApi(APIView):
    """Mark all my unread notifications read."""

    @extend_schema(request=None, responses={200: MarkedSerializer})
    def post(self, request):
        return Response({"marked": notification_mark_read(user=request.user)})

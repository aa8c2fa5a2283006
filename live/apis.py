"""Live rooms over HTTP: the replay timeline (chat and questions by time window, for a replay
player), and the moderators' pages: bans (list, lift) and attendance.

A lecture the caller may not see is a 404 (``live.selectors.lecture_role``); the moderators'
endpoints answer 403 to viewers."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ErrorResponseSerializer, Forbidden, NotFound
from common.serializers import StrictInputSerializer
from courses.models import Lecture
from live.models import Attendance, RoomBan
from live.protocol import display_name
from live.replay import CHAT, decode_cursor, replay_page
from live.selectors import MODERATOR_ROLES, lecture_role, room_ban_list
from live.services import room_ban_lift

MAX_OFFSET_SECONDS = 10**7  # ~115 days: far beyond any lecture


def _lecture_and_role(request, pk: int) -> tuple[Lecture, str]:
    lecture = Lecture.objects.select_related("course").filter(pk=pk).first()
    role = lecture_role(request.user, lecture) if lecture is not None else None
    if role is None:
        raise NotFound(_("No such lecture."))
    return lecture, role


def _moderated_lecture(request, pk: int) -> Lecture:
    lecture, role = _lecture_and_role(request, pk)
    if role not in MODERATOR_ROLES:
        raise Forbidden(_("Only the lecture's staff and administrators may do this."))
    return lecture


class LiveUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="Display name (never a student's real name).")


extend_schema_field_user = extend_schema_field(LiveUserSerializer)


def _user(user) -> dict:
    return {"id": user.pk, "name": display_name(user)}


# --- replay ----------------------------------------------------------------------------------

class ReplayItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["chat", "question"])
    id = serializers.IntegerField(help_text="The chat message's number in the room, or the question's id.")
    offset = serializers.FloatField(help_text="Seconds into the lecture (from when it went live).")
    at = serializers.DateTimeField()
    user = LiveUserSerializer()
    text = serializers.CharField()
    votes = serializers.IntegerField(required=False, help_text="Questions only.")
    pinned = serializers.BooleanField(required=False, help_text="Questions only.")
    answered = serializers.BooleanField(required=False, help_text="Questions only.")


class ReplayPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page.")
    results = ReplayItemSerializer(many=True)


class LectureReplayMessagesApi(APIView):
    """Chat (deleted messages left out) and questions of a lecture with offset in [from, to)
    seconds, in order, a page at a time (cursor). Whoever may see the lecture."""

    class QuerySerializer(StrictInputSerializer):
        ignored_fields = frozenset({"csrfmiddlewaretoken", "format"})

        from_ = serializers.FloatField(min_value=0, max_value=MAX_OFFSET_SECONDS, required=False, default=0,
                                       help_text="Start (seconds into the lecture, inclusive).")
        to = serializers.FloatField(min_value=0, max_value=MAX_OFFSET_SECONDS, required=False,
                                    default=MAX_OFFSET_SECONDS, help_text="End (seconds, exclusive).")
        cursor = serializers.CharField(required=False, max_length=100)
        page_size = serializers.IntegerField(min_value=1, max_value=200, required=False, default=100)

        def get_fields(self):
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")
            return fields

        def validate_cursor(self, value):
            decoded = decode_cursor(value)
            if decoded is None:
                raise serializers.ValidationError(_("Not a cursor this API gave."))
            return decoded

    @extend_schema(parameters=[QuerySerializer],
                   responses={200: ReplayPageSerializer,
                              404: OpenApiResponse(ErrorResponseSerializer, description="No such lecture.")})
    def get(self, request, pk: int):
        lecture, _role = _lecture_and_role(request, pk)
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        items, next_cursor = replay_page(lecture=lecture, start_ms=int(data["from"] * 1000),
                                         end_ms=int(data["to"] * 1000), after=data.get("cursor"),
                                         size=data["page_size"])
        results = []
        for kind, obj in items:
            if kind == CHAT:
                results.append({"kind": "chat", "id": obj.number, "offset": obj.offset_ms / 1000,
                                "at": obj.sent_at, "user": _user(obj.author), "text": obj.text})
            else:
                results.append({"kind": "question", "id": obj.pk, "offset": obj.offset_ms / 1000,
                                "at": obj.asked_at, "user": _user(obj.author), "text": obj.text,
                                "votes": obj.votes, "pinned": obj.pinned,
                                "answered": obj.answered_at is not None})
        return Response(ReplayPageSerializer({"next": next_cursor, "results": results}).data)


# --- moderators ------------------------------------------------------------------------------

class RoomBanSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    banned_by = serializers.SerializerMethodField()

    class Meta:
        model = RoomBan
        fields = ["id", "user", "banned_by", "reason", "created_at", "lifted_at"]

    @extend_schema_field_user
    def get_user(self, ban) -> dict:
        return _user(ban.user)

    @extend_schema_field_user
    def get_banned_by(self, ban) -> dict:
        return _user(ban.banned_by)


class LectureBanListApi(generics.ListAPIView):
    """Current bans of the lecture's room (its staff and administrators in scope)."""

    serializer_class = RoomBanSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RoomBan.objects.none()
        return room_ban_list(lecture=_moderated_lecture(self.request, self.kwargs["pk"]))


class LectureBanLiftApi(APIView):
    """Lift a ban: the user may enter the room again (its staff and administrators in scope)."""

    @extend_schema(request=None, responses={
        200: RoomBanSerializer,
        409: OpenApiResponse(ErrorResponseSerializer, description="ban_lifted: lifted already.")})
    def post(self, request, pk: int, ban_id: int):
        lecture = _moderated_lecture(request, pk)
        ban = RoomBan.objects.filter(lecture=lecture, pk=ban_id).first()
        if ban is None:
            raise NotFound(_("No such ban."))
        ban = room_ban_lift(ban=ban, actor=request.user)
        ban = RoomBan.objects.select_related("user", "banned_by").get(pk=ban.pk)
        return Response(RoomBanSerializer(ban).data)


class LiveAttendanceSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    minutes_watched = serializers.IntegerField(read_only=True)

    class Meta:
        model = Attendance
        fields = ["user", "minutes_watched", "seconds_watched", "joins", "first_joined_at", "last_seen_at"]

    @extend_schema_field_user
    def get_user(self, row) -> dict:
        return _user(row.user)


class LectureAttendanceListApi(generics.ListAPIView):
    """Who watched the lecture and for how long (written every 30 s while it is live); its
    staff and administrators in scope. Display names only."""

    serializer_class = LiveAttendanceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attendance.objects.none()
        lecture = _moderated_lecture(self.request, self.kwargs["pk"])
        return (Attendance.objects.filter(lecture=lecture).select_related("user")
                .order_by("-seconds_watched", "user_id"))

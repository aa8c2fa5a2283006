"""Studios API: kinds, studios (list, create, detail, change, close, host change) and their
rosters (list, add, end). Reads are open to every signed-in user; every write is checked by
``studios.selectors`` before the input is read, and again by the service on the locked row."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import TeacherProfile
from common.errors import ErrorResponseSerializer
from common.filters import MAX_ID, IdFilter
from common.serializers import StrictInputSerializer
from regions.models import School, SchoolStage, Subject
from studios.models import MANUAL_LEAVE_REASON_CHOICES, Membership, Studio, StudioKind
from studios.selectors import (
    access_administer_studio,
    access_create_studios,
    access_edit_studio,
    access_manage_members,
    can_administer_studio,
    can_edit_studio,
    can_manage_members,
    can_see_leave_details,
    membership_list,
    studio_composition,
    studio_host,
    studio_kind_list,
    studio_list_visible,
)
from studios.services import (
    membership_add,
    membership_end,
    studio_close,
    studio_create,
    studio_host_change,
    studio_update,
)


def _conflict(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorResponseSerializer, description=description)


CONFLICT_NAME = _conflict("studio_name_taken: the host school has an active studio of this name.")
CONFLICT_CHANGE = _conflict("studio_closed: the studio is closed; studio_name_taken: the name is in use.")
CONFLICT_CLOSED = _conflict("studio_closed: the studio is closed already.")
CONFLICT_HOST = _conflict("studio_closed: the studio is closed; studio_host_unchanged: already the host.")
CONFLICT_ADD = _conflict("studio_closed: the studio is closed; studio_already_member: the teacher "
                         "already holds a role in this studio.")
CONFLICT_END = _conflict("membership_ended: the membership has ended already.")


class TeacherField(serializers.PrimaryKeyRelatedField):
    """A teacher by user id. TeacherProfile's key is its user link, and lookups through a
    relation skip Django's integer range check, so an id out of range is refused here (it would
    be a 500 on SQLite)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", TeacherProfile.objects.select_related("user", "school"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and data.isascii() and data.isdigit():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def _visible_studio(request, pk: int) -> Studio:
    return get_object_or_404(studio_list_visible(user=request.user), pk=pk)


# --- output serializers shared by several views ---------------------------------------------

class StudioKindSerializer(serializers.ModelSerializer):
    cycle_years = serializers.IntegerField(read_only=True, help_text="Effective cycle length in years.")
    max_members_from_host_school = serializers.IntegerField(
        read_only=True, allow_null=True,
        help_text="Members who may teach at the host school so that the other-schools minimum "
                  "stays reachable; null when members are unlimited.")

    class Meta:
        model = StudioKind
        fields = ["id", "code", "name", "description", "cycle_years", "max_members", "min_members",
                  "min_members_from_other_schools", "max_members_from_host_school", "max_trainees",
                  "min_trainees", "trainee_absence_limit", "member_reports_per_year",
                  "research_lessons_per_term", "offline_activities_per_cycle", "is_active"]


class StudioKindBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = StudioKind
        fields = ["id", "code", "name"]


class StudioSchoolSerializer(serializers.ModelSerializer):
    county_name = serializers.CharField(source="county.name", read_only=True)

    class Meta:
        model = School
        fields = ["id", "code", "name", "county", "county_name", "city"]


class StudioTeacherSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id", read_only=True)
    school_name = serializers.CharField(source="school.name", read_only=True)

    class Meta:
        model = TeacherProfile
        fields = ["id", "real_name", "school", "school_name"]


class StudioHostSerializer(serializers.ModelSerializer):
    membership_id = serializers.IntegerField(source="id", read_only=True)
    teacher = StudioTeacherSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["membership_id", "teacher", "joined_on", "left_on"]


class StudioSerializer(serializers.ModelSerializer):
    kind = StudioKindBriefSerializer(read_only=True)
    host_school = StudioSchoolSerializer(read_only=True)
    host = serializers.SerializerMethodField(
        help_text="The current host; for a closed studio, the host when it closed.")
    member_count = serializers.IntegerField(read_only=True, help_text="Current members (成员).")
    trainee_count = serializers.IntegerField(read_only=True, help_text="Current trainees (学员).")

    class Meta:
        model = Studio
        fields = ["id", "name", "kind", "host_school", "host", "subject", "stage", "description",
                  "cycle_start", "cycle_end", "status", "closed_on", "member_count", "trainee_count"]

    @extend_schema_field(StudioHostSerializer(allow_null=True))
    def get_host(self, studio) -> dict | None:
        host = studio_host(studio)
        return StudioHostSerializer(host).data if host is not None else None


class StudioCompositionSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    members_from_host_school = serializers.IntegerField()
    members_from_other_schools = serializers.IntegerField()
    trainees = serializers.IntegerField()
    max_members = serializers.IntegerField(allow_null=True)
    min_members = serializers.IntegerField()
    min_members_from_other_schools = serializers.IntegerField()
    max_members_from_host_school = serializers.IntegerField(allow_null=True)
    max_trainees = serializers.IntegerField(allow_null=True)
    min_trainees = serializers.IntegerField()


class StudioAbilitiesSerializer(serializers.Serializer):
    edit = serializers.BooleanField(help_text="May change the studio (the host: its description).")
    administer = serializers.BooleanField(
        help_text="May close the studio, change its host, cycle, name or host school.")
    manage_members = serializers.BooleanField(help_text="May add and end members and trainees.")


class StudioDetailSerializer(StudioSerializer):
    composition = serializers.SerializerMethodField(
        help_text="Current head counts next to the kind's limits (null: no limit).")
    can = serializers.SerializerMethodField(help_text="What the caller may do with this studio.")

    class Meta(StudioSerializer.Meta):
        fields = [*StudioSerializer.Meta.fields, "composition", "can"]

    @extend_schema_field(StudioCompositionSerializer)
    def get_composition(self, studio) -> dict:
        composition = studio_composition(studio=studio)
        data = {field: getattr(composition, field) for field in StudioCompositionSerializer().fields}
        return StudioCompositionSerializer(data).data

    @extend_schema_field(StudioAbilitiesSerializer)
    def get_can(self, studio) -> dict:
        user = self.context["request"].user
        open_ = studio.is_active
        return {"edit": open_ and can_edit_studio(user, studio),
                "administer": open_ and can_administer_studio(user, studio),
                "manage_members": open_ and can_manage_members(user, studio)}


class MembershipSerializer(serializers.ModelSerializer):
    teacher = StudioTeacherSerializer(read_only=True)
    left_reason = serializers.SerializerMethodField(
        help_text="Why the membership ended; null when the caller may not see it (only the roster's "
                  "managers and the teacher concerned may).")
    left_note = serializers.SerializerMethodField(help_text="Shown like left_reason.")

    class Meta:
        model = Membership
        fields = ["id", "studio", "teacher", "role", "joined_on", "left_on", "left_reason", "left_note"]

    def _shown(self, membership) -> bool:
        manages = self.context.get("manages_roster")
        return can_see_leave_details(self.context["request"].user, membership, manages=manages)

    @extend_schema_field(serializers.ChoiceField(choices=[("", "—"), *Membership.LeaveReason.choices],
                                                 allow_null=True))
    def get_left_reason(self, membership) -> str | None:
        return membership.left_reason if self._shown(membership) else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_left_note(self, membership) -> str | None:
        return membership.left_note if self._shown(membership) else None


def _studio_detail(request, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    studio = _visible_studio(request, pk)
    return Response(StudioDetailSerializer(studio, context={"request": request}).data, status=status_code)


# --- kinds ----------------------------------------------------------------------------------

class StudioKindFilter(filters.FilterSet):
    is_active = filters.BooleanFilter(help_text="Only kinds open (true) or closed (false) for new studios.")

    class Meta:
        model = StudioKind
        fields = []


class StudioKindListApi(generics.ListAPIView):
    """Studio kinds (学科工作室, 名校长工作室, 名班主任工作室, ...) with their cycle and role limits."""

    serializer_class = StudioKindSerializer
    filterset_class = StudioKindFilter
    ordering_fields = ["order", "code", "name"]
    ordering = ["order", "code"]

    def get_queryset(self):
        return studio_kind_list(user=self.request.user)


# --- studios --------------------------------------------------------------------------------

class StudioFilter(filters.FilterSet):
    kind = IdFilter(field_name="kind_id")
    county = IdFilter(field_name="host_school__county_id")
    city = IdFilter(field_name="host_school__city_id")
    school = IdFilter(field_name="host_school_id", help_text="Host school (设站学校).")
    subject = IdFilter(field_name="subject_id")
    stage = IdFilter(field_name="stage_id")
    status = filters.ChoiceFilter(choices=Studio.Status.choices)
    search = filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=64,
                                help_text="Part of the studio's name.")
    teacher = IdFilter(method="filter_teacher",
                       help_text="Studios where this teacher (user id) holds a current role.")

    class Meta:
        model = Studio
        fields = []

    def filter_teacher(self, queryset, name, value):
        current = Membership.objects.filter(studio=OuterRef("pk"), teacher_id=value, left_on__isnull=True)
        return queryset.filter(Exists(current))


class StudioListCreateApi(generics.ListAPIView):
    """GET: every studio (a public programme), filtered and paginated.
    POST: create a studio with its host (city and county administrators whose region contains
    the host school). The host school defaults to the host's school, the cycle to today plus the
    kind's cycle length."""

    serializer_class = StudioSerializer
    filterset_class = StudioFilter
    ordering_fields = ["name", "cycle_start", "cycle_end", "id"]
    ordering = ["-cycle_start", "id"]

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=128)
        kind = serializers.PrimaryKeyRelatedField(queryset=StudioKind.objects.all())
        host = TeacherField(help_text="The host teacher's user id.")
        host_school = serializers.PrimaryKeyRelatedField(
            queryset=School.objects.all(), required=False, allow_null=True,
            help_text="Defaults to the host's school.")
        subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.all(), required=False,
                                                     allow_null=True)
        stage = serializers.PrimaryKeyRelatedField(queryset=SchoolStage.objects.all(), required=False,
                                                   allow_null=True)
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
        cycle_start = serializers.DateField(required=False, help_text="Defaults to today.")
        cycle_end = serializers.DateField(required=False,
                                          help_text="Defaults to the start plus the kind's cycle length.")

    def get_queryset(self):
        return studio_list_visible(user=self.request.user)

    @extend_schema(request=InputSerializer, responses={201: StudioDetailSerializer, 409: CONFLICT_NAME})
    def post(self, request):
        access_create_studios(request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        studio = studio_create(actor=request.user, **data.validated_data)
        return _studio_detail(request, studio.pk, status_code=status.HTTP_201_CREATED)


class StudioDetailApi(APIView):
    """GET: one studio with its head counts against the kind's limits and what the caller may do.
    PATCH: change it (administrators of its region: anything here; its host: the description)."""

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=128, required=False)
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
        subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.all(), required=False,
                                                     allow_null=True)
        stage = serializers.PrimaryKeyRelatedField(queryset=SchoolStage.objects.all(), required=False,
                                                   allow_null=True)
        cycle_start = serializers.DateField(required=False)
        cycle_end = serializers.DateField(required=False)
        host_school = serializers.PrimaryKeyRelatedField(queryset=School.objects.all(), required=False)

    @extend_schema(responses={200: StudioDetailSerializer})
    def get(self, request, pk: int):
        return _studio_detail(request, pk)

    @extend_schema(request=InputSerializer, responses={200: StudioDetailSerializer, 409: CONFLICT_CHANGE})
    def patch(self, request, pk: int):
        studio = _visible_studio(request, pk)
        access_edit_studio(request.user, studio)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        studio_update(actor=request.user, studio=studio, data=data.validated_data)
        return _studio_detail(request, pk)


class StudioCloseApi(APIView):
    """Close the studio today; every current membership ends ("the studio closed").
    City and county administrators whose region contains the host school."""

    class InputSerializer(StrictInputSerializer):
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: StudioDetailSerializer, 409: CONFLICT_CLOSED})
    def post(self, request, pk: int):
        studio = _visible_studio(request, pk)
        access_administer_studio(request.user, studio)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        studio_close(actor=request.user, studio=studio, **data.validated_data)
        return _studio_detail(request, pk)


class StudioHostChangeApi(APIView):
    """Appoint a new host (主持人) from today; the previous host's membership ends. City and county
    administrators whose region contains the host school."""

    class InputSerializer(StrictInputSerializer):
        teacher = TeacherField(help_text="The new host's user id.")
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                     help_text="Recorded on the previous host's membership.")

    @extend_schema(request=InputSerializer, responses={200: StudioDetailSerializer, 409: CONFLICT_HOST})
    def post(self, request, pk: int):
        studio = _visible_studio(request, pk)
        access_administer_studio(request.user, studio)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        studio_host_change(actor=request.user, studio=studio, **data.validated_data)
        return _studio_detail(request, pk)


# --- memberships ----------------------------------------------------------------------------

class MembershipFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=Membership.Role.choices)
    include_past = filters.BooleanFilter(method="filter_include_past",
                                         help_text="Also list memberships that have ended.")

    class Meta:
        model = Membership
        fields = []

    def filter_include_past(self, queryset, name, value):
        return queryset  # applied in filter_queryset, which also sees the parameter left out

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("include_past"):
            queryset = queryset.filter(left_on__isnull=True)
        return queryset


class MembershipListCreateApi(generics.ListAPIView):
    """GET: the studio's roster (host, members, trainees); current only unless include_past.
    POST: add a member (成员) or trainee (学员); the studio's host and administrators of its region.
    Refused, naming the limit, when the studio's kind allows no more."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    ordering_fields = ["joined_on", "left_on", "id"]

    class InputSerializer(StrictInputSerializer):
        teacher = TeacherField(help_text="The teacher's user id.")
        role = serializers.ChoiceField(choices=[Membership.Role.MEMBER, Membership.Role.TRAINEE])
        joined_on = serializers.DateField(required=False, help_text="Defaults to today; never in the future.")

    def _studio(self) -> Studio:
        if not hasattr(self, "_studio_obj"):
            self._studio_obj = _visible_studio(self.request, self.kwargs["pk"])
        return self._studio_obj

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return membership_list(user=self.request.user, studio=self._studio(), include_past=True)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["manages_roster"] = can_manage_members(self.request.user, self._studio())
        return context

    @extend_schema(request=InputSerializer, responses={201: MembershipSerializer, 409: CONFLICT_ADD})
    def post(self, request, pk: int):
        studio = self._studio()
        access_manage_members(request.user, studio)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_add(actor=request.user, studio=studio, **data.validated_data)
        return Response(MembershipSerializer(membership, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


class MembershipEndApi(APIView):
    """End a member's or trainee's membership, with a reason; the record is kept. The studio's host
    and administrators of its region. The host's membership ends only by a host change."""

    class InputSerializer(StrictInputSerializer):
        reason = serializers.ChoiceField(choices=MANUAL_LEAVE_REASON_CHOICES)
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                     help_text='Required when the reason is "other".')
        left_on = serializers.DateField(required=False, help_text="Defaults to today.")

    @extend_schema(request=InputSerializer, responses={200: MembershipSerializer, 409: CONFLICT_END})
    def post(self, request, pk: int, membership_id: int):
        studio = _visible_studio(request, pk)
        membership = get_object_or_404(Membership.objects.filter(studio=studio), pk=membership_id)
        access_manage_members(request.user, studio)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_end(actor=request.user, membership=membership, **data.validated_data)
        membership = Membership.objects.select_related("teacher__school").get(pk=membership.pk)
        return Response(MembershipSerializer(
            membership, context={"request": request, "manages_roster": True}).data)

"""Studio activities API: activities and their notices, reports (text, files, attendance), the
office's review, trainees' leave requests; a studio's duties and statistics. Every write is
checked by ``studios.activities.selectors`` and again by the service on the locked row."""

from __future__ import annotations

import datetime

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.downloads import stored_file_download
from common.errors import ErrorResponseSerializer
from common.filters import IdFilter, InstantFilter
from common.serializers import StrictInputSerializer
from regions.models import Region, School
from studios.activities.models import Activity, ActivityAttachment, Attendance, LeaveRequest
from studios.activities.selectors import (
    access_manage_activities,
    access_review,
    access_see_report,
    access_statistics_list,
    access_write_report,
    activity_list_visible,
    attendance_list,
    can_manage_activities,
    can_review,
    can_see_report,
    can_write_report,
    leave_request_list,
    studio_duties,
    studio_figures,
    studio_list_for_statistics,
    studio_statistics,
)
from studios.activities.services import (
    activity_cancel,
    activity_create,
    activity_notice_publish,
    activity_report_submit,
    activity_review,
    activity_update,
    attachment_add,
    attachment_delete,
    leave_request_create,
    leave_request_decide,
)
from studios.apis import StudioTeacherSerializer, TeacherField, _visible_studio
from studios.models import Studio

CONFLICT_STATE = OpenApiResponse(
    ErrorResponseSerializer,
    description="activity_state: not possible in the activity's state; activity_started: it has started; "
                "activity_not_ended: a report waits until the activity ends.")


class StudioBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Studio
        fields = ["id", "name"]


class ActivitySerializer(serializers.ModelSerializer):
    studio = StudioBriefSerializer(read_only=True)
    presenters = StudioTeacherSerializer(many=True, read_only=True)
    served_county_name = serializers.CharField(source="served_county.name", read_only=True, allow_null=True,
                                               default=None)
    served_school_name = serializers.CharField(source="served_school.name", read_only=True, allow_null=True,
                                               default=None)

    class Meta:
        model = Activity
        fields = ["id", "studio", "kind", "title", "notice", "is_online", "place", "starts_at", "ends_at",
                  "presenters", "served_county", "served_county_name", "served_school", "served_school_name",
                  "state", "notice_published_at", "report_submitted_at", "reviewed_at", "created_at"]


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ActivityAttachment
        fields = ["id", "original_name", "size", "url", "uploaded_at"]

    def get_url(self, attachment) -> str:
        # Through the application, which checks who may see the report; never the media URL.
        return f"/api/v1/activities/{attachment.activity_id}/attachments/{attachment.pk}/"


class ActivityAbilitiesSerializer(serializers.Serializer):
    manage = serializers.BooleanField(help_text="Edit, publish the notice, cancel, decide leave.")
    write_report = serializers.BooleanField()
    review = serializers.BooleanField()


class ActivityDetailSerializer(ActivitySerializer):
    report = serializers.SerializerMethodField(
        help_text="Null until published, unless the caller may see it.")
    review_comment = serializers.SerializerMethodField(help_text="Shown like the report.")
    attachments = serializers.SerializerMethodField()
    can = serializers.SerializerMethodField(help_text="What the caller may do with this activity now.")

    class Meta(ActivitySerializer.Meta):
        fields = [*ActivitySerializer.Meta.fields, "report", "review_comment", "attachments", "can"]

    def _shown(self, activity) -> bool:
        if "shown" not in self.context:
            user = self.context["request"].user
            self.context["shown"] = (activity.state == Activity.State.PUBLISHED
                                     or can_see_report(user, activity))
        return self.context["shown"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_report(self, activity) -> str | None:
        return activity.report if self._shown(activity) else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_review_comment(self, activity) -> str | None:
        return activity.review_comment if self._shown(activity) else None

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, activity) -> list:
        if not self._shown(activity):
            return []
        return AttachmentSerializer(activity.attachments.all(), many=True).data

    @extend_schema_field(ActivityAbilitiesSerializer)
    def get_can(self, activity) -> dict:
        user = self.context["request"].user
        return {"manage": can_manage_activities(user, activity.studio),
                "write_report": can_write_report(user, activity),
                "review": activity.state == Activity.State.SUBMITTED and can_review(user, activity)}


def _visible_activity(request, pk: int) -> Activity:
    return get_object_or_404(activity_list_visible(user=request.user), pk=pk)


def _detail(request, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    activity = _visible_activity(request, pk)
    return Response(ActivityDetailSerializer(activity, context={"request": request}).data, status=status_code)


# --- activities and notices --------------------------------------------------------------------

class ActivityFilter(filters.FilterSet):
    studio = IdFilter(field_name="studio_id")
    county = IdFilter(field_name="studio__host_school__county_id", help_text="The host school's county.")
    served_county = IdFilter(field_name="served_county_id")
    kind = filters.ChoiceFilter(choices=Activity.Kind.choices)
    state = filters.ChoiceFilter(choices=Activity.State.choices)
    is_online = filters.BooleanFilter()
    starts_after = InstantFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = InstantFilter(field_name="starts_at", lookup_expr="lt")
    presenter = IdFilter(field_name="presenters", help_text="Activities this teacher (user id) presents.")
    search = filters.CharFilter(field_name="title", lookup_expr="icontains", max_length=64)

    class Meta:
        model = Activity
        fields = []


class ActivityListCreateApi(generics.ListAPIView):
    """GET: studio activities: announced and later ones for everyone (the notices, 活动通知),
    drafts for their organisers. Filter by state=announced for upcoming notices, state=submitted
    for reports awaiting review.
    POST: plan an activity as a draft (the studio's host; administrators of its region)."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = ["starts_at", "id"]
    ordering = ["-starts_at", "-id"]

    class InputSerializer(StrictInputSerializer):
        studio = serializers.PrimaryKeyRelatedField(queryset=Studio.objects.all())
        kind = serializers.ChoiceField(choices=Activity.Kind.choices)
        title = serializers.CharField(max_length=200)
        notice = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
        is_online = serializers.BooleanField(required=False, default=False)
        place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        presenters = serializers.ListField(child=TeacherField(), max_length=50, required=False, default=list,
                                           help_text="User ids of the organisers and presenters.")
        served_county = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all(), required=False,
                                                           allow_null=True, default=None)
        served_school = serializers.PrimaryKeyRelatedField(queryset=School.objects.all(), required=False,
                                                           allow_null=True, default=None)

    def get_queryset(self):
        return activity_list_visible(user=self.request.user)

    @extend_schema(request=InputSerializer, responses={201: ActivityDetailSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        studio = _visible_studio(request, data.validated_data["studio"].pk)
        access_manage_activities(request.user, studio)
        activity = activity_create(actor=request.user, **{**data.validated_data, "studio": studio})
        return _detail(request, activity.pk, status_code=status.HTTP_201_CREATED)


class ActivityDetailApi(APIView):
    """GET: one activity with its report (once published, or for its organisers, presenters
    and reviewers), files and what the caller may do.
    PATCH: change a draft or announced activity before it starts (its organisers)."""

    class InputSerializer(StrictInputSerializer):
        kind = serializers.ChoiceField(choices=Activity.Kind.choices, required=False)
        title = serializers.CharField(max_length=200, required=False)
        notice = serializers.CharField(max_length=20000, required=False, allow_blank=True)
        is_online = serializers.BooleanField(required=False)
        place = serializers.CharField(max_length=200, required=False, allow_blank=True)
        starts_at = serializers.DateTimeField(required=False)
        ends_at = serializers.DateTimeField(required=False)
        presenters = serializers.ListField(child=TeacherField(), max_length=50, required=False)
        served_county = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all(), required=False,
                                                           allow_null=True)
        served_school = serializers.PrimaryKeyRelatedField(queryset=School.objects.all(), required=False,
                                                           allow_null=True)

    @extend_schema(responses={200: ActivityDetailSerializer})
    def get(self, request, pk: int):
        return _detail(request, pk)

    @extend_schema(request=InputSerializer, responses={200: ActivityDetailSerializer, 409: CONFLICT_STATE})
    def patch(self, request, pk: int):
        activity = _visible_activity(request, pk)
        access_manage_activities(request.user, activity.studio)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        activity_update(actor=request.user, activity=activity, data=data.validated_data)
        return _detail(request, pk)


class ActivityNoticePublishApi(APIView):
    """Publish the activity's notice (活动通知); refused once the activity has started. The
    studio's people are notified."""

    class InputSerializer(StrictInputSerializer):
        pass

    @extend_schema(request=InputSerializer, responses={200: ActivityDetailSerializer, 409: CONFLICT_STATE})
    def post(self, request, pk: int):
        activity = _visible_activity(request, pk)
        access_manage_activities(request.user, activity.studio)
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        activity_notice_publish(actor=request.user, activity=activity)
        return _detail(request, pk)


class ActivityCancelApi(APIView):
    """Cancel a draft or announced activity before it starts."""

    class InputSerializer(StrictInputSerializer):
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: ActivityDetailSerializer, 409: CONFLICT_STATE})
    def post(self, request, pk: int):
        activity = _visible_activity(request, pk)
        access_manage_activities(request.user, activity.studio)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activity_cancel(actor=request.user, activity=activity, **data.validated_data)
        return _detail(request, pk)


# --- reports and review ------------------------------------------------------------------------

class ActivityReportSubmitApi(APIView):
    """Submit (or, once returned, resubmit) the report after the activity, with the attendance:
    the trainees present; the others are excused (approved leave) or absent. The studio's host,
    the presenters and administrators of its region."""

    class InputSerializer(StrictInputSerializer):
        report = serializers.CharField(max_length=50000)
        present = serializers.ListField(child=TeacherField(), max_length=500, required=False, default=list,
                                        help_text="User ids of the trainees who attended.")

    @extend_schema(request=InputSerializer, responses={200: ActivityDetailSerializer, 409: CONFLICT_STATE})
    def post(self, request, pk: int):
        activity = _visible_activity(request, pk)
        access_write_report(request.user, activity)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activity_report_submit(actor=request.user, activity=activity, report=data.validated_data["report"],
                               present=[t.pk for t in data.validated_data["present"]])
        return _detail(request, pk)


class ActivityReviewApi(APIView):
    """The office reviews a submitted report: approve (publishes it, records the presenters'
    service, counts absences) or return it with comments. City and county administrators of the
    host school's region who neither host the studio, present, nor wrote the report."""

    class InputSerializer(StrictInputSerializer):
        decision = serializers.ChoiceField(choices=[("approve", "approve"), ("return", "return")])
        comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="",
                                        help_text="Required when returning.")

    @extend_schema(request=InputSerializer, responses={200: ActivityDetailSerializer, 409: CONFLICT_STATE})
    def post(self, request, pk: int):
        activity = _visible_activity(request, pk)
        access_review(request.user, activity)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activity_review(actor=request.user, activity=activity,
                        approve=data.validated_data["decision"] == "approve",
                        comment=data.validated_data["comment"])
        return _detail(request, pk)


class AttachmentListCreateApi(generics.ListAPIView):
    """GET: the files of the report (for those who may see it).
    POST: attach a file (multipart ``file``) while the report is being written; documents,
    slides, sheets and pictures up to STUDIO_ACTIVITY_ATTACHMENT_MAX_BYTES, at most 20 files."""

    serializer_class = AttachmentSerializer
    parser_classes = [MultiPartParser, FormParser]
    ordering_fields = ["id"]
    ordering = ["id"]

    class InputSerializer(StrictInputSerializer):
        file = serializers.FileField(max_length=255)

    def _activity(self) -> Activity:
        if not hasattr(self, "_activity_obj"):
            self._activity_obj = _visible_activity(self.request, self.kwargs["pk"])
        return self._activity_obj

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ActivityAttachment.objects.none()
        activity = self._activity()
        if activity.state != Activity.State.PUBLISHED:
            access_see_report(self.request.user, activity)
        return activity.attachments.all()

    @extend_schema(request={"multipart/form-data": InputSerializer},
                   responses={201: AttachmentSerializer, 409: CONFLICT_STATE})
    def post(self, request, pk: int):
        activity = self._activity()
        access_write_report(request.user, activity)
        try:
            payload = request.data
        except (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig) as exc:
            raise ParseError(_("The request has too many fields or is too large.")) from exc
        data = self.InputSerializer(data=payload)
        data.is_valid(raise_exception=True)
        attachment = attachment_add(actor=request.user, activity=activity, upload=data.validated_data["file"])
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDetailApi(APIView):
    """GET: the file, under its original name (for those who may see the report).
    DELETE: remove a file from a report still being written."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int, attachment_id: int):
        activity = _visible_activity(request, pk)
        if activity.state != Activity.State.PUBLISHED:
            access_see_report(request.user, activity)
        attachment = get_object_or_404(ActivityAttachment.objects.filter(activity=activity), pk=attachment_id)
        return stored_file_download(attachment.file, filename=attachment.original_name)

    @extend_schema(responses={204: None, 409: CONFLICT_STATE})
    def delete(self, request, pk: int, attachment_id: int):
        activity = _visible_activity(request, pk)
        access_write_report(request.user, activity)
        attachment = get_object_or_404(ActivityAttachment.objects.filter(activity=activity), pk=attachment_id)
        attachment_delete(actor=request.user, attachment=attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttendanceSerializer(serializers.ModelSerializer):
    teacher = StudioTeacherSerializer(source="membership.teacher", read_only=True)

    class Meta:
        model = Attendance
        fields = ["id", "membership", "teacher", "status"]


class AttendanceFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Attendance.Status.choices)

    class Meta:
        model = Attendance
        fields = []


class AttendanceListApi(generics.ListAPIView):
    """The activity's attendance (考勤), written with its report: all of it for the organisers,
    presenters and reviewers; a trainee sees their own line."""

    serializer_class = AttendanceSerializer
    filterset_class = AttendanceFilter
    ordering_fields = ["id"]
    ordering = ["id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attendance.objects.none()
        activity = _visible_activity(self.request, self.kwargs["pk"])
        return attendance_list(user=self.request.user, activity=activity)


# --- leave -------------------------------------------------------------------------------------

class LeaveRequestSerializer(serializers.ModelSerializer):
    teacher = StudioTeacherSerializer(source="membership.teacher", read_only=True)

    class Meta:
        model = LeaveRequest
        fields = ["id", "activity", "membership", "teacher", "reason", "state", "requested_at", "decided_at",
                  "decision_note"]


class LeaveRequestFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=LeaveRequest.State.choices)

    class Meta:
        model = LeaveRequest
        fields = []


class LeaveRequestListCreateApi(generics.ListAPIView):
    """GET: leave requests for this activity: all for its organisers, else the caller's own.
    POST: a trainee of the studio asks for leave, for themselves, before the activity starts."""

    serializer_class = LeaveRequestSerializer
    filterset_class = LeaveRequestFilter
    ordering_fields = ["requested_at", "id"]
    ordering = ["requested_at", "id"]

    class InputSerializer(StrictInputSerializer):
        reason = serializers.CharField(max_length=500)
        trainee = TeacherField(required=False, allow_null=True, default=None,
                               help_text="The trainee's user id; only the caller's own is accepted.")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LeaveRequest.objects.none()
        activity = _visible_activity(self.request, self.kwargs["pk"])
        return leave_request_list(user=self.request.user, activity=activity)

    @extend_schema(request=InputSerializer, responses={201: LeaveRequestSerializer, 409: CONFLICT_STATE})
    def post(self, request, pk: int):
        activity = _visible_activity(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        leave = leave_request_create(actor=request.user, activity=activity, **data.validated_data)
        return Response(LeaveRequestSerializer(leave).data, status=status.HTTP_201_CREATED)


class LeaveRequestDecideApi(APIView):
    """The studio's host (or an administrator of its region) approves or declines a pending
    leave request, until the report is written."""

    class InputSerializer(StrictInputSerializer):
        decision = serializers.ChoiceField(choices=[("approve", "approve"), ("decline", "decline")])
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={
        200: LeaveRequestSerializer,
        409: OpenApiResponse(ErrorResponseSerializer, description="leave_decided: decided already; "
                                                                  "activity_state: the report is written.")})
    def post(self, request, pk: int, leave_id: int):
        activity = _visible_activity(request, pk)
        leave = get_object_or_404(LeaveRequest.objects.filter(activity=activity), pk=leave_id)
        access_manage_activities(request.user, activity.studio)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        leave = leave_request_decide(actor=request.user, leave_request=leave,
                                     approve=data.validated_data["decision"] == "approve",
                                     note=data.validated_data["note"])
        leave = LeaveRequest.objects.select_related("membership__teacher__school").get(pk=leave.pk)
        return Response(LeaveRequestSerializer(leave).data)


# --- duties and statistics ---------------------------------------------------------------------

class YearQuerySerializer(StrictInputSerializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False,
                                    help_text="Calendar year; defaults to the current one.")


YEAR_PARAMETER = OpenApiParameter("year", int,
                                  description="Calendar year (2000-2100); defaults to this year.")


def _year(request) -> int:
    data = YearQuerySerializer(data={k: v for k, v in request.query_params.items() if k == "year"})
    data.is_valid(raise_exception=True)
    return data.validated_data.get("year") or timezone.localdate().year


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    required = serializers.IntegerField()
    met = serializers.BooleanField()


class DutyTeacherSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    real_name = serializers.CharField()
    role = serializers.CharField()


class MemberReportsSerializer(ProgressSerializer):
    teacher = DutyTeacherSerializer()


class TermProgressSerializer(ProgressSerializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Last day of the term (inclusive).")


class ResearchLessonsSerializer(serializers.Serializer):
    teacher = DutyTeacherSerializer()
    terms = TermProgressSerializer(many=True)
    met = serializers.BooleanField()


class DutiesSerializer(serializers.Serializer):
    studio = serializers.IntegerField()
    year = serializers.IntegerField()
    cycle_start = serializers.DateField()
    cycle_end = serializers.DateField()
    member_reports = MemberReportsSerializer(
        many=True, help_text="Each member's reports to the host this year.")
    research_lessons = ResearchLessonsSerializer(
        many=True, help_text="The host's and each member's research lessons per term of the year.")
    offline_activities = ProgressSerializer(help_text="Offline activities in the studio's cycle.")
    met = serializers.BooleanField()


class StudioDutiesApi(APIView):
    """The studio's duties (seeds 003, 004) as progress: members' reports to the host per year,
    research lessons per term, offline activities per cycle; only published activities count.
    The required numbers come from the studio's kind."""

    @extend_schema(parameters=[YEAR_PARAMETER], responses={200: DutiesSerializer})
    def get(self, request, pk: int):
        studio = _visible_studio(request, pk)
        return Response(DutiesSerializer(studio_duties(studio=studio, year=_year(request))).data)


class ActivitiesByKindSerializer(serializers.Serializer):
    def get_fields(self):
        return {kind: serializers.IntegerField() for kind in Activity.Kind.values}


class FiguresSerializer(serializers.Serializer):
    resources = serializers.IntegerField()
    lectures = serializers.IntegerField()
    live_lectures = serializers.IntegerField()
    activities = serializers.IntegerField(help_text="Published activities.")
    activities_by_kind = ActivitiesByKindSerializer()
    members_service = serializers.DecimalField(
        max_digits=14, decimal_places=2,
        help_text="Sum of the service recorded by the current host and members in the period.")
    members_serving = serializers.IntegerField(
        help_text="Current host and members with service in the period.")


class StatisticsSerializer(serializers.Serializer):
    studio = serializers.IntegerField()
    year = serializers.IntegerField()
    year_figures = FiguresSerializer()
    cycle_start = serializers.DateField()
    cycle_end = serializers.DateField()
    cycle_figures = FiguresSerializer()


class StudioStatisticsApi(APIView):
    """One studio's figures (seed 001) for a calendar year and for its cycle: resources, lectures,
    live lectures, published activities by kind, and its members' recorded service."""

    @extend_schema(parameters=[YEAR_PARAMETER], responses={200: StatisticsSerializer})
    def get(self, request, pk: int):
        studio = _visible_studio(request, pk)
        return Response(StatisticsSerializer(studio_statistics(studio=studio, year=_year(request))).data)


class StudioStatisticsRowSerializer(serializers.ModelSerializer):
    year = serializers.SerializerMethodField()
    figures = serializers.SerializerMethodField()

    class Meta:
        model = Studio
        fields = ["id", "name", "status", "year", "figures"]

    def get_year(self, studio) -> int:
        return self.context["year"]

    @extend_schema_field(FiguresSerializer)
    def get_figures(self, studio) -> dict:
        return FiguresSerializer(self.context["figures"][studio.pk]).data


class StudioStatisticsFilter(filters.FilterSet):
    county = IdFilter(field_name="host_school__county_id")
    kind = IdFilter(field_name="kind_id")
    status = filters.ChoiceFilter(choices=Studio.Status.choices)

    class Meta:
        model = Studio
        fields = []


class StudioStatisticsListApi(generics.ListAPIView):
    """Administrators: the figures of every studio hosted in their region for a calendar year,
    one page at a time (a few grouped queries per page)."""

    serializer_class = StudioStatisticsRowSerializer
    filterset_class = StudioStatisticsFilter
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return studio_list_for_statistics(user=self.request.user)

    @extend_schema(parameters=[YEAR_PARAMETER])
    def get(self, request, *args, **kwargs):
        access_statistics_list(request.user)
        year = _year(request)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        figures = studio_figures(studio_ids=[s.pk for s in page], start=datetime.date(year, 1, 1),
                                 end=datetime.date(year + 1, 1, 1))
        serializer = self.get_serializer(page, many=True, context={"request": request, "year": year,
                                                                   "figures": figures})
        return self.get_paginated_response(serializer.data)

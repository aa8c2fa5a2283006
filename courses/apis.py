"""Courses API: the catalogue, enrolment and rosters, lectures with their staff and state
changes, resources with their review and downloads, and the personal calendar feed address.

Lists are scoped by ``courses.selectors``; a course, lecture or resource the caller may not see
is a 404. Writes are checked by the service (403 for who may not, 409 for a wrong state)."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import student_real_name_visible
from common.downloads import stored_file_download
from common.errors import ErrorResponseSerializer
from common.filters import MAX_ID, IdFilter, InstantFilter
from common.serializers import StrictInputSerializer
from courses import services
from courses.models import Course, Enrolment, Lecture, LectureStaff, Resource
from courses.selectors import (
    access_edit_course,
    can_edit_course,
    course_enrolled_count,
    course_is_enrolled,
    course_list_editable,
    course_list_visible,
    enrolment_list,
    lecture_list_visible,
    lecture_staff_list,
    resource_list_visible,
)
from regions.models import Grade, School, SchoolStage, Subject
from studios.apis import TeacherField
from studios.models import Studio
from studios.selectors import studio_list_visible


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorResponseSerializer, description=description)


CONFLICT_COURSE = _error("course_state: not allowed from the course's status; studio_closed.")
CONFLICT_ENROL = _error("course_state, enrolment_closed, already_enrolled, course_full, not_enrolled.")
CONFLICT_LECTURE = _error("lecture_state: not allowed from the lecture's state (or course_state).")
CONFLICT_STAFF = _error("lecture_state: the lecture has finished; lecture_staff_exists.")
CONFLICT_RESOURCE = _error("resource_state: the resource was reviewed already.")
TOO_LARGE = _error("file_too_large: larger than the limit in settings.")

def _request_data(request):
    try:
        return request.data
    except (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig) as exc:
        raise ParseError(_("The request has too many fields or is too large.")) from exc


def _visible_course(request, pk: int) -> Course:
    return get_object_or_404(course_list_visible(user=request.user), pk=pk)


def _visible_lecture(request, pk: int) -> Lecture:
    return get_object_or_404(_lecture_queryset(request.user), pk=pk)


def _lecture_queryset(user):
    staff = LectureStaff.objects.select_related("teacher__school").order_by("role", "id")
    return lecture_list_visible(user=user).select_related("course").prefetch_related(
        Prefetch("staff", queryset=staff))


# --- courses --------------------------------------------------------------------------------

class CourseSerializer(serializers.ModelSerializer):
    studio_name = serializers.CharField(source="studio.name", read_only=True, allow_null=True, default=None)
    owner_name = serializers.CharField(source="owner.real_name", read_only=True, allow_null=True,
                                       default=None)
    cover_url = serializers.SerializerMethodField()

    class Meta:
        model = Course
        fields = ["id", "title", "description", "studio", "studio_name", "owner", "owner_name", "city",
                  "school", "subject", "stage", "grade", "visibility", "status", "cover_url",
                  "enrolment_open", "capacity", "created_at", "updated_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cover_url(self, course) -> str | None:
        return course.cover.url if course.cover else None


class CourseAbilitiesSerializer(serializers.Serializer):
    edit = serializers.BooleanField(help_text="May change the course, its lectures and see its roster.")


class CourseDetailSerializer(CourseSerializer):
    enrolled_count = serializers.SerializerMethodField()
    is_enrolled = serializers.SerializerMethodField()
    can = serializers.SerializerMethodField()

    class Meta(CourseSerializer.Meta):
        fields = [*CourseSerializer.Meta.fields, "enrolled_count", "is_enrolled", "can"]

    def get_enrolled_count(self, course) -> int:
        return course_enrolled_count(course=course)

    def get_is_enrolled(self, course) -> bool:
        return course_is_enrolled(user=self.context["request"].user, course=course)

    @extend_schema_field(CourseAbilitiesSerializer)
    def get_can(self, course) -> dict:
        return {"edit": can_edit_course(self.context["request"].user, course)}


def _course_detail(request, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    course = _visible_course(request, pk)
    return Response(CourseDetailSerializer(course, context={"request": request}).data, status=status_code)


class CourseFilter(filters.FilterSet):
    studio = IdFilter(field_name="studio_id")
    owner = IdFilter(field_name="owner_id", help_text="A teacher's own courses (user id).")
    city = IdFilter(field_name="city_id")
    school = IdFilter(field_name="school_id", help_text="The school of a school-only course.")
    subject = IdFilter(field_name="subject_id")
    stage = IdFilter(field_name="stage_id")
    grade = IdFilter(field_name="grade_id")
    visibility = filters.ChoiceFilter(choices=Course.Visibility.choices)
    status = filters.ChoiceFilter(choices=Course.Status.choices)
    enrolled = filters.ChoiceFilter(choices=[("me", "me")], method="filter_enrolled",
                                    help_text="me: only the courses I am enrolled in.")
    editable = filters.BooleanFilter(method="filter_editable",
                                     help_text="Only the courses I may edit (true) or may not (false).")
    q = filters.CharFilter(method="filter_q", max_length=100,
                           help_text="Words in the title or description (the search hook).")

    class Meta:
        model = Course
        fields = []

    def filter_enrolled(self, queryset, name, value):
        current = Enrolment.objects.filter(course=OuterRef("pk"), user_id=self.request.user.pk,
                                           left_at__isnull=True)
        return queryset.filter(Exists(current))

    def filter_editable(self, queryset, name, value):
        editable = Q(pk__in=course_list_editable(user=self.request.user).values("pk"))
        return queryset.filter(editable if value else ~editable)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))


class CourseListCreateApi(generics.ListAPIView):
    """GET: the catalogue: the courses the caller may see (drafts only to their editors).
    POST: create a draft course: for a studio (its host, members, administrators over its host
    school) or, without a studio, a teacher's own course."""

    serializer_class = CourseSerializer
    filterset_class = CourseFilter
    ordering_fields = ["created_at", "title", "id"]
    ordering = ["-created_at", "id"]

    class InputSerializer(StrictInputSerializer):
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
        studio = serializers.PrimaryKeyRelatedField(queryset=Studio.objects.select_related("host_school"),
                                                    required=False, allow_null=True)
        subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.all(), required=False,
                                                     allow_null=True)
        stage = serializers.PrimaryKeyRelatedField(queryset=SchoolStage.objects.all(), required=False,
                                                   allow_null=True)
        grade = serializers.PrimaryKeyRelatedField(queryset=Grade.objects.all(), required=False,
                                                   allow_null=True)
        visibility = serializers.ChoiceField(choices=Course.Visibility.choices, required=False,
                                             default=Course.Visibility.CITY)
        school = serializers.PrimaryKeyRelatedField(queryset=School.objects.all(), required=False,
                                                    allow_null=True,
                                                    help_text="Required for school-only visibility.")
        enrolment_open = serializers.BooleanField(required=False, default=True)
        capacity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False,
                                            allow_null=True)

    def get_queryset(self):
        return course_list_visible(user=self.request.user)

    @extend_schema(request=InputSerializer, responses={201: CourseDetailSerializer, 409: CONFLICT_COURSE})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        course = services.course_create(actor=request.user, **data.validated_data)
        return _course_detail(request, course.pk, status_code=status.HTTP_201_CREATED)


class CourseDetailApi(APIView):
    """GET: one course with its enrolment count, whether I am enrolled and what I may do.
    PATCH: change it (its editors)."""

    class InputSerializer(StrictInputSerializer):
        title = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
        subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.all(), required=False,
                                                     allow_null=True)
        stage = serializers.PrimaryKeyRelatedField(queryset=SchoolStage.objects.all(), required=False,
                                                   allow_null=True)
        grade = serializers.PrimaryKeyRelatedField(queryset=Grade.objects.all(), required=False,
                                                   allow_null=True)
        visibility = serializers.ChoiceField(choices=Course.Visibility.choices, required=False)
        school = serializers.PrimaryKeyRelatedField(queryset=School.objects.all(), required=False,
                                                    allow_null=True)
        enrolment_open = serializers.BooleanField(required=False)
        capacity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False,
                                            allow_null=True)

    @extend_schema(responses={200: CourseDetailSerializer})
    def get(self, request, pk: int):
        return _course_detail(request, pk)

    @extend_schema(request=InputSerializer, responses={200: CourseDetailSerializer})
    def patch(self, request, pk: int):
        course = _visible_course(request, pk)
        access_edit_course(request.user, course)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.course_update(actor=request.user, course=course, data=data.validated_data)
        return _course_detail(request, pk)


class CoursePublishApi(APIView):
    """Publish a draft (or archived) course: its audience sees it and may enrol. Its editors."""

    @extend_schema(request=None, responses={200: CourseDetailSerializer, 409: CONFLICT_COURSE})
    def post(self, request, pk: int):
        services.course_publish(actor=request.user, course=_visible_course(request, pk))
        return _course_detail(request, pk)


class CourseArchiveApi(APIView):
    """Archive a published course: still visible, closed for enrolment. Its editors."""

    @extend_schema(request=None, responses={200: CourseDetailSerializer, 409: CONFLICT_COURSE})
    def post(self, request, pk: int):
        services.course_archive(actor=request.user, course=_visible_course(request, pk))
        return _course_detail(request, pk)


class CourseCoverApi(APIView):
    """Upload the course's cover image (multipart: cover; PNG, JPEG or WebP). Its editors."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(StrictInputSerializer):
        cover = serializers.FileField(max_length=255, allow_empty_file=False)

    @extend_schema(request={"multipart/form-data": InputSerializer},
                   responses={200: CourseDetailSerializer, 413: TOO_LARGE})
    def post(self, request, pk: int):
        course = _visible_course(request, pk)
        access_edit_course(request.user, course)
        data = self.InputSerializer(data=_request_data(request))
        data.is_valid(raise_exception=True)
        services.course_cover_set(actor=request.user, course=course, upload=data.validated_data["cover"])
        return _course_detail(request, pk)


class EnrolmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enrolment
        fields = ["id", "course", "enrolled_at", "left_at"]


class CourseEnrolmentApi(APIView):
    """POST: enrol me in the course (published, open, with room). DELETE: leave it."""

    @extend_schema(request=None, responses={201: EnrolmentSerializer, 409: CONFLICT_ENROL})
    def post(self, request, pk: int):
        enrolment = services.enrolment_create(actor=request.user, course=_visible_course(request, pk))
        return Response(EnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 409: CONFLICT_ENROL})
    def delete(self, request, pk: int):
        services.enrolment_leave(actor=request.user, course=_visible_course(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


ROSTER_ROLE_CHOICES = [("student", "student"), ("teacher", "teacher"), ("other", "other")]


class RosterSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    role = serializers.SerializerMethodField()
    real_name = serializers.SerializerMethodField(
        help_text="A teacher's name; a student's only for those who may see it (their school's "
                  "teachers, administrators in scope); otherwise null.")

    class Meta:
        model = Enrolment
        fields = ["id", "user", "display_name", "role", "real_name", "enrolled_at"]

    @extend_schema_field(serializers.ChoiceField(choices=ROSTER_ROLE_CHOICES))
    def get_role(self, enrolment) -> str:
        user = enrolment.user
        if hasattr(user, "student_profile"):
            return "student"
        return "teacher" if hasattr(user, "teacher_profile") else "other"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_real_name(self, enrolment) -> str | None:
        user = enrolment.user
        student = getattr(user, "student_profile", None)
        if student is not None:
            viewer = self.context["request"].user
            return student.real_name if student_real_name_visible(user=viewer, student=student) else None
        teacher = getattr(user, "teacher_profile", None)
        return teacher.real_name if teacher is not None else None


class CourseRosterApi(generics.ListAPIView):
    """The course's current enrolments (its editors). Students' real names only where the
    platform's rule allows (accounts.selectors.student_real_name_visible)."""

    serializer_class = RosterSerializer
    ordering_fields = ["enrolled_at", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Enrolment.objects.none()
        course = _visible_course(self.request, self.kwargs["pk"])
        access_edit_course(self.request.user, course)
        return enrolment_list(course=course)


# --- lectures -------------------------------------------------------------------------------

class LectureStaffSerializer(serializers.ModelSerializer):
    teacher = serializers.IntegerField(source="teacher_id", read_only=True)
    teacher_name = serializers.CharField(source="teacher.real_name", read_only=True)
    school_name = serializers.CharField(source="teacher.school.name", read_only=True)

    class Meta:
        model = LectureStaff
        fields = ["id", "teacher", "teacher_name", "school_name", "role"]


class LectureSerializer(serializers.ModelSerializer):
    course_title = serializers.CharField(source="course.title", read_only=True)
    staff = LectureStaffSerializer(many=True, read_only=True)
    stream_push_url = serializers.SerializerMethodField(
        help_text="The push (RTMP) address with the stream key: shown to the lecture's staff and the "
                  "course's editors only; null for everybody else.")

    class Meta:
        model = Lecture
        fields = ["id", "course", "course_title", "title", "description", "starts_at", "ends_at", "state",
                  "stream_play_url", "stream_push_url", "replay_url", "went_live_at", "ended_at",
                  "peak_viewers", "staff", "created_at", "updated_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_stream_push_url(self, lecture) -> str | None:
        user = self.context["request"].user
        editable = self.context.get("editable_course_ids")
        if editable is None:
            editable = set(course_list_editable(user=user).filter(pk=lecture.course_id).values_list(
                "pk", flat=True))
        is_staff = any(member.teacher_id == user.pk for member in lecture.staff.all())
        return lecture.stream_push_url if (is_staff or lecture.course_id in editable) else None


def _lecture_context(request, lectures) -> dict:
    """What the serializer needs to decide on push addresses, in one query for a whole page."""
    course_ids = {lecture.course_id for lecture in lectures}
    editable = set(course_list_editable(user=request.user).filter(pk__in=course_ids)
                   .values_list("pk", flat=True))
    return {"request": request, "editable_course_ids": editable}


def _lecture_response(request, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    lecture = _visible_lecture(request, pk)
    return Response(LectureSerializer(lecture, context=_lecture_context(request, [lecture])).data,
                    status=status_code)


class LectureFilter(filters.FilterSet):
    course = IdFilter(field_name="course_id")
    studio = IdFilter(field_name="course__studio_id")
    state = filters.ChoiceFilter(choices=Lecture.State.choices)
    starts_after = InstantFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = InstantFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = Lecture
        fields = []


class _LectureListMixin:
    serializer_class = LectureSerializer
    filterset_class = LectureFilter
    ordering_fields = ["starts_at", "id"]
    ordering = ["starts_at", "id"]

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = LectureSerializer(page, many=True, context=_lecture_context(request, page))
        return self.get_paginated_response(serializer.data)


class LectureListApi(_LectureListMixin, generics.ListAPIView):
    """Lectures of the courses I see (drafts only to their editors and staff), by start."""

    def get_queryset(self):
        return _lecture_queryset(self.request.user)


class CourseLectureListCreateApi(_LectureListMixin, generics.ListAPIView):
    """GET: the course's lectures. POST: add a draft lecture (the course's editors)."""

    class InputSerializer(StrictInputSerializer):
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        stream_push_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        stream_play_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lecture.objects.none()
        course = _visible_course(self.request, self.kwargs["pk"])
        return _lecture_queryset(self.request.user).filter(course=course)

    @extend_schema(request=InputSerializer, responses={201: LectureSerializer, 409: CONFLICT_LECTURE})
    def post(self, request, pk: int):
        course = _visible_course(request, pk)
        access_edit_course(request.user, course)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lecture = services.lecture_create(actor=request.user, course=course, **data.validated_data)
        return _lecture_response(request, lecture.pk, status_code=status.HTTP_201_CREATED)


class LectureDetailApi(APIView):
    """GET: one lecture. PATCH: change it (the course's editors; a live lecture only its
    description and stream addresses). DELETE: a draft lecture (the course's editors)."""

    class InputSerializer(StrictInputSerializer):
        title = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
        starts_at = serializers.DateTimeField(required=False)
        ends_at = serializers.DateTimeField(required=False)
        stream_push_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
        stream_play_url = serializers.CharField(max_length=500, required=False, allow_blank=True)

    @extend_schema(responses={200: LectureSerializer})
    def get(self, request, pk: int):
        return _lecture_response(request, pk)

    @extend_schema(request=InputSerializer, responses={200: LectureSerializer, 409: CONFLICT_LECTURE})
    def patch(self, request, pk: int):
        lecture = _visible_lecture(request, pk)
        access_edit_course(request.user, lecture.course)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.lecture_update(actor=request.user, lecture=lecture, data=data.validated_data)
        return _lecture_response(request, pk)

    @extend_schema(responses={204: None, 409: CONFLICT_LECTURE})
    def delete(self, request, pk: int):
        services.lecture_delete(actor=request.user, lecture=_visible_lecture(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LectureStaffListCreateApi(generics.ListAPIView):
    """GET: the lecture's lecturers and assistants. POST: give a teacher a role (the course's editors)."""

    serializer_class = LectureStaffSerializer
    ordering_fields = ["role", "id"]

    class InputSerializer(StrictInputSerializer):
        teacher = TeacherField(help_text="The teacher's user id.")
        role = serializers.ChoiceField(choices=LectureStaff.Role.choices)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LectureStaff.objects.none()
        return lecture_staff_list(lecture=_visible_lecture(self.request, self.kwargs["pk"]))

    @extend_schema(request=InputSerializer, responses={201: LectureStaffSerializer, 409: CONFLICT_STAFF})
    def post(self, request, pk: int):
        lecture = _visible_lecture(request, pk)
        access_edit_course(request.user, lecture.course)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = services.lecture_staff_add(actor=request.user, lecture=lecture, **data.validated_data)
        staff = LectureStaff.objects.select_related("teacher__school").get(pk=staff.pk)
        return Response(LectureStaffSerializer(staff).data, status=status.HTTP_201_CREATED)


class LectureStaffDetailApi(APIView):
    """Remove a teacher's role from a lecture that has not finished (the course's editors)."""

    @extend_schema(responses={204: None, 409: CONFLICT_STAFF})
    def delete(self, request, pk: int, staff_id: int):
        lecture = _visible_lecture(request, pk)
        staff = get_object_or_404(LectureStaff.objects.filter(lecture=lecture), pk=staff_id)
        services.lecture_staff_remove(actor=request.user, staff=staff)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LectureScheduleApi(APIView):
    """Draft -> scheduled (the course's editors; needs a lecturer and a published course)."""

    @extend_schema(request=None, responses={200: LectureSerializer, 409: CONFLICT_LECTURE})
    def post(self, request, pk: int):
        services.lecture_schedule(actor=request.user, lecture=_visible_lecture(request, pk))
        return _lecture_response(request, pk)


class LectureGoLiveApi(APIView):
    """Scheduled -> live (the lecture's staff and the course's editors)."""

    @extend_schema(request=None, responses={200: LectureSerializer, 409: CONFLICT_LECTURE})
    def post(self, request, pk: int):
        services.lecture_go_live(actor=request.user, lecture=_visible_lecture(request, pk))
        return _lecture_response(request, pk)


class LectureEndApi(APIView):
    """Live -> ended (the lecture's staff and the course's editors); the lecturers' service is recorded."""

    @extend_schema(request=None, responses={200: LectureSerializer, 409: CONFLICT_LECTURE})
    def post(self, request, pk: int):
        services.lecture_end(actor=request.user, lecture=_visible_lecture(request, pk))
        return _lecture_response(request, pk)


class LectureCancelApi(APIView):
    """Draft or scheduled -> cancelled (the course's editors); enrolled users are notified."""

    @extend_schema(request=None, responses={200: LectureSerializer, 409: CONFLICT_LECTURE})
    def post(self, request, pk: int):
        services.lecture_cancel(actor=request.user, lecture=_visible_lecture(request, pk))
        return _lecture_response(request, pk)


class LectureReplayApi(APIView):
    """Ended -> replay available, with the recording's address (staff and editors)."""

    class InputSerializer(StrictInputSerializer):
        replay_url = serializers.URLField(max_length=500)

    @extend_schema(request=InputSerializer, responses={200: LectureSerializer, 409: CONFLICT_LECTURE})
    def post(self, request, pk: int):
        lecture = _visible_lecture(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lecture_publish_replay(actor=request.user, lecture=lecture, **data.validated_data)
        return _lecture_response(request, pk)


# --- resources ------------------------------------------------------------------------------

class ResourceSerializer(serializers.ModelSerializer):
    submitted_by_name = serializers.CharField(source="submitted_by.display_name", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Resource
        fields = ["id", "lecture", "studio", "title", "description", "original_name", "content_type", "size",
                  "state", "submitted_by", "submitted_by_name", "submitted_at", "reviewed_at",
                  "review_comment", "published_at", "download_url"]

    def get_download_url(self, resource) -> str:
        return f"/api/v1/resources/{resource.pk}/download/"


class ResourceFilter(filters.FilterSet):
    lecture = IdFilter(field_name="lecture_id")
    studio = IdFilter(field_name="studio_id")
    course = IdFilter(field_name="lecture__course_id")
    state = filters.ChoiceFilter(choices=Resource.State.choices)
    mine = filters.BooleanFilter(method="filter_mine", help_text="Only the resources I submitted.")

    class Meta:
        model = Resource
        fields = []

    def filter_mine(self, queryset, name, value):
        mine = Q(submitted_by_id=self.request.user.pk)
        return queryset.filter(mine if value else ~mine)


class ResourceListCreateApi(generics.ListAPIView):
    """GET: published resources I may see, and the pending ones I submitted or review.
    POST (multipart): submit a file for review, attached to a lecture (its staff, the course's
    editors) or a studio (its host, members and trainees)."""

    serializer_class = ResourceSerializer
    filterset_class = ResourceFilter
    ordering_fields = ["submitted_at", "published_at", "id"]
    ordering = ["-submitted_at", "-id"]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(StrictInputSerializer):
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        file = serializers.FileField(max_length=255, allow_empty_file=False)
        lecture = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                           help_text="A lecture's id, or:")
        studio = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                          help_text="A studio's id.")

    def get_queryset(self):
        return resource_list_visible(user=self.request.user)

    @extend_schema(request={"multipart/form-data": InputSerializer},
                   responses={201: ResourceSerializer, 409: CONFLICT_RESOURCE, 413: TOO_LARGE})
    def post(self, request):
        data = self.InputSerializer(data=_request_data(request))
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lecture_id, studio_id = values.pop("lecture", None), values.pop("studio", None)
        if (lecture_id is None) == (studio_id is None):
            raise serializers.ValidationError({"lecture": [_("Give a lecture or a studio, not both.")]})
        lecture = studio = None
        if lecture_id is not None:
            lecture = _visible_lecture(request, lecture_id)
        else:
            studio = get_object_or_404(studio_list_visible(user=request.user), pk=studio_id)
        resource = services.resource_submit(actor=request.user, upload=values.pop("file"), lecture=lecture,
                                            studio=studio, **values)
        return Response(ResourceSerializer(resource).data, status=status.HTTP_201_CREATED)


def _visible_resource(request, pk: int) -> Resource:
    return get_object_or_404(resource_list_visible(user=request.user), pk=pk)


class ResourceDetailApi(APIView):
    """One resource (published, or pending to its submitter and reviewers)."""

    @extend_schema(responses={200: ResourceSerializer})
    def get(self, request, pk: int):
        return Response(ResourceSerializer(_visible_resource(request, pk)).data)


class ResourceDownloadApi(APIView):
    """The file, under its original name (same visibility as the resource)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int):
        resource = _visible_resource(request, pk)
        return stored_file_download(resource.file, filename=resource.original_name,
                                    content_type=resource.content_type)


class ResourceApproveApi(APIView):
    """Approve (publish) a submitted resource: the studio's host or an administrator in scope,
    never the submitter. Records the submitter's service."""

    @extend_schema(request=None, responses={200: ResourceSerializer, 409: CONFLICT_RESOURCE})
    def post(self, request, pk: int):
        resource = services.resource_approve(actor=request.user, resource=_visible_resource(request, pk))
        return Response(ResourceSerializer(resource).data)


class ResourceReturnApi(APIView):
    """Return a submitted resource with a comment (same reviewers); the submitter is notified."""

    class InputSerializer(StrictInputSerializer):
        comment = serializers.CharField(max_length=5000)

    @extend_schema(request=InputSerializer, responses={200: ResourceSerializer, 409: CONFLICT_RESOURCE})
    def post(self, request, pk: int):
        resource = _visible_resource(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resource = services.resource_return(actor=request.user, resource=resource, **data.validated_data)
        return Response(ResourceSerializer(resource).data)


# --- calendar feed --------------------------------------------------------------------------

class CalendarFeedSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="The secret address of my lectures' calendar (iCalendar); "
                                          "anyone with it can read the feed.")
    created_at = serializers.DateTimeField()


def _feed_response(request, feed, status_code=status.HTTP_200_OK) -> Response:
    url = request.build_absolute_uri(f"/calendar/{feed.token}.ics")
    return Response(CalendarFeedSerializer({"url": url, "created_at": feed.created_at}).data,
                    status=status_code)


class CalendarFeedApi(APIView):
    """GET: my personal calendar feed address (created on first use). POST: a new address (the
    old one stops working). DELETE: no feed any more."""

    @extend_schema(responses={200: CalendarFeedSerializer})
    def get(self, request):
        return _feed_response(request, services.calendar_feed_get_or_create(user=request.user))

    @extend_schema(request=None, responses={201: CalendarFeedSerializer})
    def post(self, request):
        return _feed_response(request, services.calendar_feed_rotate(user=request.user),
                              status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def delete(self, request):
        services.calendar_feed_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

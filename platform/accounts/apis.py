"""Accounts API: sign-in (session and token), password, websocket tickets, people lists."""

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import StudentProfile, TeacherProfile, User
from accounts.selectors import (
    student_list_visible,
    student_real_name_visible,
    teacher_list_visible,
    user_list_managed,
)
from accounts.serializers import MeSerializer
from accounts.services import user_password_change, user_password_reset
from accounts.throttles import LoginRateThrottle, LoginUsernameRateThrottle
from accounts.tickets import ws_ticket_issue
from common.errors import ServiceError


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


def _authenticate(request, data) -> User:
    user = authenticate(request, username=data["username"], password=data["password"])
    if user is None:
        raise ServiceError(_("Wrong username or password."), code="invalid_credentials")
    return user


class TokenLoginApi(APIView):
    """Exchange username and password for an API token (mobile and API clients)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle, LoginUsernameRateThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expiry = serializers.DateTimeField()
        user = MeSerializer()

    @extend_schema(request=CredentialsSerializer, responses={200: OutputSerializer})
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _authenticate(request, data.validated_data)
        # Keep at most 20 live tokens a user (one per device); the oldest goes first.
        live = user.auth_token_set.filter(expiry__gt=timezone.now()).order_by("-created")
        stale = list(live.values_list("pk", flat=True)[19:])
        if stale:
            AuthToken.objects.filter(pk__in=stale).delete()
        instance, token = AuthToken.objects.create(user=user)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        return Response(self.OutputSerializer(
            {"token": token, "expiry": instance.expiry, "user": user}).data)


class TokenLogoutApi(APIView):
    """Revoke the token this request was made with (``all=true`` revokes every token)."""

    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if request.query_params.get("all") == "true":
            request.user.auth_token_set.all().delete()
        elif isinstance(request.auth, AuthToken):
            request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(ensure_csrf_cookie, name="get")
class CsrfApi(APIView):
    """Sets the CSRF cookie a browser sends back in X-CSRFToken on unsafe requests."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={204: None})
    def get(self, request):
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(csrf_protect, name="post")
class SessionLoginApi(APIView):
    """Browser sign-in: starts a session (cookie); CSRF-protected."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle, LoginUsernameRateThrottle]

    @extend_schema(request=CredentialsSerializer, responses={200: MeSerializer})
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _authenticate(request, data.validated_data)
        login(request, user)
        return Response(MeSerializer(user).data)


class SessionLogoutApi(APIView):
    permission_classes = [AllowAny]
    password_change_exempt = True

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """Who is signed in, their role and whether they must change their password first."""

    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    class InputSerializer(serializers.Serializer):
        old_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_password_change(user=request.user, **data.validated_data)
        if request.session.session_key:
            update_session_auth_hash(request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebsocketTicketApi(APIView):
    """A single-use ticket for opening a websocket (``/ws/...?ticket=``), valid a few seconds."""

    class OutputSerializer(serializers.Serializer):
        ticket = serializers.CharField()
        expires_in = serializers.IntegerField(help_text="seconds")

    @extend_schema(request=None, responses={201: OutputSerializer})
    def post(self, request):
        ticket, ttl = ws_ticket_issue(user_id=request.user.pk)
        return Response({"ticket": ticket, "expires_in": ttl}, status=status.HTTP_201_CREATED)


class PasswordResetApi(APIView):
    """An administrator resets the password of a student or teacher of a school in scope.
    The new initial password is returned once; the user must change it at next sign-in."""

    @extend_schema(request=None, responses={200: inline_serializer(
        "PasswordResetOutput", {"initial_password": serializers.CharField()})})
    def post(self, request, user_id: int):
        user = get_object_or_404(user_list_managed(user=request.user), pk=user_id)
        raw = user_password_reset(actor=request.user, user=user)
        return Response({"initial_password": raw})


class TeacherFilter(filters.FilterSet):
    school = filters.NumberFilter(field_name="school_id")
    county = filters.NumberFilter(field_name="school__county_id")
    city = filters.NumberFilter(field_name="school__city_id")
    subject = filters.NumberFilter(field_name="subjects", distinct=True)
    tier = filters.NumberFilter(field_name="tier_id")
    three_tier = filters.BooleanFilter(field_name="tier__is_three_tier")

    class Meta:
        model = TeacherProfile
        fields = []


class TeacherOutputSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id")
    school_name = serializers.CharField(source="school.name")
    county_id = serializers.IntegerField(source="school.county_id")
    subject_ids = serializers.PrimaryKeyRelatedField(source="subjects", many=True, read_only=True)

    class Meta:
        model = TeacherProfile
        fields = ["id", "real_name", "school", "school_name", "county_id", "subject_ids", "tier"]


class TeacherListApi(generics.ListAPIView):
    """Teachers (public within the platform): name, school, subjects, tier."""

    serializer_class = TeacherOutputSerializer
    filterset_class = TeacherFilter
    ordering_fields = ["real_name", "user_id"]
    ordering = ["user_id"]

    def get_queryset(self):
        return teacher_list_visible(user=self.request.user)


class TeacherDetailApi(generics.RetrieveAPIView):
    serializer_class = TeacherOutputSerializer
    lookup_field = "user_id"
    lookup_url_kwarg = "user_id"

    def get_queryset(self):
        return teacher_list_visible(user=self.request.user)


class StudentFilter(filters.FilterSet):
    school = filters.NumberFilter(field_name="school_id")
    county = filters.NumberFilter(field_name="school__county_id")
    grade = filters.NumberFilter(field_name="grade_id")
    class_name = filters.CharFilter(field_name="class_name")

    class Meta:
        model = StudentProfile
        fields = []


class StudentOutputSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField(source="user.display_name")
    real_name = serializers.SerializerMethodField()

    class Meta:
        model = StudentProfile
        fields = ["id", "username", "display_name", "real_name", "school", "grade", "class_name",
                  "student_number"]

    def get_real_name(self, student) -> str | None:
        # The list is already scoped; the check stays here so no other path can leak it.
        request = self.context["request"]
        if student_real_name_visible(user=request.user, student=student):
            return student.real_name
        return None


class StudentListApi(generics.ListAPIView):
    """Students the caller may see: themself; their school's students for a teacher; the
    schools in scope for an administrator."""

    serializer_class = StudentOutputSerializer
    filterset_class = StudentFilter
    ordering_fields = ["student_number", "user_id"]
    ordering = ["user_id"]

    def get_queryset(self):
        return student_list_visible(user=self.request.user)


class StudentDetailApi(generics.RetrieveAPIView):
    serializer_class = StudentOutputSerializer
    lookup_field = "user_id"
    lookup_url_kwarg = "user_id"

    def get_queryset(self):
        return student_list_visible(user=self.request.user)


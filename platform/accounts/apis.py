"""Accounts API: sign-in (session and token), password, websocket tickets, people lists.

Every view here is one operation. Views a user with an initial or reset password may still
call set ``password_change_exempt`` (see accounts.permissions.PasswordIsCurrent); every other
view keeps PasswordIsCurrent in its permission classes (tests/accounts/test_auth_password.py
walks the URL patterns to make sure).
"""

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
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
from accounts.services import (
    auth_token_create,
    auth_token_revoke,
    auth_token_revoke_all,
    user_password_change,
    user_password_reset,
)
from accounts.throttles import LoginRateThrottle, LoginUsernameRateThrottle
from accounts.tickets import ticket_claims, ws_ticket_issue
from common.errors import ServiceError
from common.filters import IdFilter
from common.serializers import StrictInputSerializer


class CredentialsSerializer(StrictInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


def _authenticate(request, data) -> User:
    user = authenticate(request, username=data["username"], password=data["password"])
    if user is None:
        raise ServiceError(_("Wrong username or password."), code="invalid_credentials")
    return user


# --- sign-in and sign-out -------------------------------------------------------------------

class TokenLoginApi(APIView):
    """Exchange username and password for an API token (mobile and API clients). A user keeps
    at most 20 live tokens (one per device); signing in on a 21st device revokes the oldest.
    Throttled per client address and per username (429)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle, LoginUsernameRateThrottle]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expiry = serializers.DateTimeField(allow_null=True)
        user = MeSerializer()

    @extend_schema(request=CredentialsSerializer, responses={200: OutputSerializer})
    def post(self, request):
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _authenticate(request, data.validated_data)
        instance, token = auth_token_create(user=user)
        return Response(self.OutputSerializer(
            {"token": token, "expiry": instance.expiry, "user": user}).data)


class TokenLogoutApi(APIView):
    """Revoke the token this request was made with (signs this device out)."""

    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            auth_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenLogoutAllApi(APIView):
    """Revoke every API token of the signed-in user (signs every device out)."""

    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        auth_token_revoke_all(user=request.user)
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
    """Browser sign-in: starts a session (cookie). CSRF-protected: GET /api/v1/auth/csrf/
    first and send the cookie's value in X-CSRFToken. Throttled like the token sign-in."""

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
    """End the browser session (a no-op for a token client)."""

    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the signed-in user ---------------------------------------------------------------------

class MeApi(APIView):
    """Who is signed in, their role and whether they must change their password first."""

    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class PasswordChangeApi(APIView):
    """Replace one's password (Django's password validators apply). Clears the
    must-change-password flag; other devices' tokens are revoked, this session or token stays."""

    permission_classes = [IsAuthenticated]
    password_change_exempt = True

    class InputSerializer(StrictInputSerializer):
        old_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keep = request.auth if isinstance(request.auth, AuthToken) else None
        user_password_change(user=request.user, keep_token=keep, **data.validated_data)
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
        ticket, ttl = ws_ticket_issue(user_id=request.user.pk, claims=ticket_claims(request.user))
        return Response(self.OutputSerializer({"ticket": ticket, "expires_in": ttl}).data,
                        status=status.HTTP_201_CREATED)


# --- administrators on accounts ---------------------------------------------------------------

class PasswordResetApi(APIView):
    """An administrator resets the password of a student or teacher of a school in scope
    (a school administrator: their own school). The new initial password is returned once; the
    user's tokens and sessions end and they must change it at next sign-in. Anyone else, and
    any account outside the scope, gets a 404."""

    class OutputSerializer(serializers.Serializer):
        initial_password = serializers.CharField(help_text="Shown once; give it to the user.")

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, user_id: int):
        user = get_object_or_404(user_list_managed(user=request.user), pk=user_id)
        raw = user_password_reset(actor=request.user, user=user)
        return Response(self.OutputSerializer({"initial_password": raw}).data)


# --- people ---------------------------------------------------------------------------------

class TeacherFilter(filters.FilterSet):
    school = IdFilter(field_name="school_id")
    county = IdFilter(field_name="school__county_id")
    city = IdFilter(field_name="school__city_id")
    subject = IdFilter(field_name="subjects", distinct=True)
    tier = IdFilter(field_name="tier_id")
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
    school = IdFilter(field_name="school_id")
    county = IdFilter(field_name="school__county_id")
    grade = IdFilter(field_name="grade_id")
    class_name = filters.CharFilter(field_name="class_name", max_length=32)

    class Meta:
        model = StudentProfile
        fields = []


class StudentOutputSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField(source="user.display_name")
    real_name = serializers.SerializerMethodField(
        help_text="Only for the student, their school's teachers and administrators in scope.")

    class Meta:
        model = StudentProfile
        fields = ["id", "username", "display_name", "real_name", "school", "grade", "class_name",
                  "student_number"]

    def get_real_name(self, student) -> str | None:
        # The list is already scoped; the check stays here so no other path can leak it. It
        # decides from loaded rows, so a page of students costs no query per row.
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

"""Live rooms in the Django admin: read-only records, scoped like their lecture's course.

Everything here is written by the room (in batches) or by its moderators through the room and
the API, whose rules the admin's forms would bypass; the admin reads, and superusers may delete.
A ban can be lifted here (the same service as the API)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.admin import ScopedAdmin
from common.errors import ServiceError
from courses.admin import _course_q
from live.models import Attendance, ChatMessage, Question, Quiz, QuizAnswer, RoomBan
from live.services import room_ban_lift


class _LectureScoped(ScopedAdmin):
    """Rows of a lecture, limited to the courses the administrator governs; read-only."""

    scope_path = None
    lecture_prefix = "lecture__"

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        return _course_q(request.user, f"{self.lecture_prefix}course__")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChatMessage)
class ChatMessageAdmin(_LectureScoped):
    list_display = ["lecture", "number", "author", "text", "offset_ms", "sent_at", "deleted_at"]
    list_filter = ["deleted_at"]
    search_fields = ["text"]
    list_select_related = ["lecture", "author"]
    raw_id_fields = ["lecture", "author", "deleted_by"]


@admin.register(Question)
class QuestionAdmin(_LectureScoped):
    list_display = ["lecture", "text", "author", "votes", "pinned", "answered_at", "asked_at"]
    list_filter = ["pinned"]
    search_fields = ["text"]
    list_select_related = ["lecture", "author"]
    raw_id_fields = ["lecture", "author"]


class QuizAnswerInline(admin.TabularInline):
    model = QuizAnswer
    fields = ["user", "option", "is_correct", "answered_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Quiz)
class QuizAdmin(_LectureScoped):
    list_display = ["lecture", "prompt", "seconds", "opened_at", "closed_at", "answer_count"]
    list_select_related = ["lecture"]
    raw_id_fields = ["lecture", "created_by"]
    inlines = [QuizAnswerInline]


@admin.register(QuizAnswer)
class QuizAnswerAdmin(_LectureScoped):
    lecture_prefix = "quiz__lecture__"
    list_display = ["quiz", "user", "option", "is_correct", "answered_at"]
    list_filter = ["is_correct"]
    list_select_related = ["quiz", "user"]
    raw_id_fields = ["quiz", "user"]


@admin.register(Attendance)
class AttendanceAdmin(_LectureScoped):
    list_display = ["lecture", "user", "seconds_watched", "joins", "first_joined_at", "last_seen_at"]
    list_select_related = ["lecture", "user"]
    raw_id_fields = ["lecture", "user"]


@admin.register(RoomBan)
class RoomBanAdmin(_LectureScoped):
    list_display = ["lecture", "user", "banned_by", "reason", "created_at", "lifted_at"]
    list_filter = ["lifted_at"]
    list_select_related = ["lecture", "user", "banned_by"]
    raw_id_fields = ["lecture", "user", "banned_by", "lifted_by"]
    actions = ["lift_bans"]

    @admin.action(description=_("Lift the selected bans"))
    def lift_bans(self, request, queryset):
        lifted = 0
        for ban in queryset.filter(lifted_at__isnull=True):
            try:
                room_ban_lift(ban=ban, actor=request.user)
            except ServiceError as error:
                self.message_user(request, error.message, messages.WARNING)
            else:
                lifted += 1
        message = ngettext("%(n)d ban lifted.", "%(n)d bans lifted.", lifted) % {"n": lifted}
        self.message_user(request, message)

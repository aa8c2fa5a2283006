"""Courses in the Django admin, scoped to the administrator's region and audited.

A course is governed through its school of record (the studio's host school, or the owner's
school); lectures, staff, enrolments and resources follow their course (a studio's resources,
their studio's host school). The descriptive data of a course (and of a lecture not finished)
can be edited here, through the same services as the API; state changes (publishing,
scheduling, going live, reviewing resources) go through the API, whose services check the rules
and record the service, so those fields are read-only here, and resources are read-only."""

from django.contrib import admin
from django.db.models import Q

from common.admin import ScopedAdmin
from courses.models import CalendarFeed, Course, Enrolment, Lecture, LectureStaff, Resource
from courses.services import COURSE_EDITABLE_FIELDS, course_update, lecture_update
from regions.selectors import school_scope_q


def _course_q(user, prefix: str = "") -> Q:
    return (
        (Q(**{f"{prefix}studio__isnull": False})
         & school_scope_q(user, prefix=f"{prefix}studio__host_school__"))
        | (Q(**{f"{prefix}studio__isnull": True}) & school_scope_q(user, prefix=f"{prefix}owner__school__"))
    )


class _CourseScoped(ScopedAdmin):
    scope_path = None
    course_prefix = ""

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        return _course_q(request.user, self.course_prefix)


class LectureInline(admin.TabularInline):
    model = Lecture
    fields = ["title", "starts_at", "ends_at", "state"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Course)
class CourseAdmin(_CourseScoped):
    list_display = ["title", "studio", "owner", "visibility", "status", "enrolment_open", "created_at"]
    list_filter = ["status", "visibility", "subject"]
    search_fields = ["title", "studio__name", "owner__real_name"]
    list_select_related = ["studio", "owner"]
    fields = ["title", "description", "studio", "owner", "city", "school", "subject", "stage", "grade",
              "visibility", "status", "cover", "enrolment_open", "capacity", "created_by", "created_at",
              "updated_at"]
    readonly_fields = ["studio", "owner", "city", "school", "visibility", "status", "cover", "created_by",
                       "created_at", "updated_at"]
    inlines = [LectureInline]

    def has_add_permission(self, request):
        return False  # created through the API (courses.services.course_create)

    def save_model(self, request, obj, form, change):
        # Through the service: the same rules (and history reason) as the API.
        data = {field: form.cleaned_data[field] for field in form.changed_data
                if field in COURSE_EDITABLE_FIELDS and field in form.cleaned_data}
        course_update(actor=request.user, course=obj, data=data)

    def save_related(self, request, form, formsets, change):
        pass  # lectures are read-only here


@admin.register(Enrolment)
class EnrolmentAdmin(_CourseScoped):
    course_prefix = "course__"
    list_display = ["course", "user", "enrolled_at", "left_at"]
    list_filter = ["left_at"]
    search_fields = ["course__title", "user__username"]
    list_select_related = ["course", "user"]
    readonly_fields = ["course", "user", "enrolled_at", "left_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LectureStaffInline(admin.TabularInline):
    model = LectureStaff
    fields = ["teacher", "role"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Lecture)
class LectureAdmin(_CourseScoped):
    course_prefix = "course__"
    list_display = ["title", "course", "starts_at", "ends_at", "state", "peak_viewers"]
    list_filter = ["state"]
    search_fields = ["title", "course__title"]
    list_select_related = ["course"]
    fields = ["course", "title", "description", "starts_at", "ends_at", "state", "stream_play_url",
              "replay_url", "went_live_at", "ended_at", "peak_viewers", "reminded_at", "created_by"]
    readonly_fields = ["course", "starts_at", "ends_at", "state", "stream_play_url", "replay_url",
                       "went_live_at", "ended_at", "peak_viewers", "reminded_at", "created_by"]
    inlines = [LectureStaffInline]
    # What the admin form may change, by state: the same rule as courses.services.lecture_update.
    _editable_by_state = {
        Lecture.State.DRAFT: ("title", "description"),
        Lecture.State.SCHEDULED: ("title", "description"),
        Lecture.State.LIVE: ("description",),
    }

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        editable = self._editable_by_state.get(obj.state, ()) if obj is not None else ()
        return [field for field in self.fields if field not in editable]

    def save_model(self, request, obj, form, change):
        # Through the service: the state rules, the editor check and the history reason.
        data = {field: form.cleaned_data[field] for field in form.changed_data
                if field in ("title", "description")}
        lecture_update(actor=request.user, lecture=obj, data=data)

    def save_related(self, request, form, formsets, change):
        pass  # staff are read-only here


@admin.register(LectureStaff)
class LectureStaffAdmin(_CourseScoped):
    course_prefix = "lecture__course__"
    list_display = ["teacher", "role", "lecture"]
    list_filter = ["role"]
    search_fields = ["teacher__real_name", "lecture__title"]
    list_select_related = ["teacher", "lecture"]
    readonly_fields = ["teacher", "role", "lecture"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Resource)
class ResourceAdmin(ScopedAdmin):
    scope_path = None
    list_display = ["title", "studio", "lecture", "state", "submitted_by", "submitted_at", "published_at"]
    list_filter = ["state"]
    search_fields = ["title", "original_name"]
    list_select_related = ["studio", "lecture", "submitted_by"]
    fields = ["title", "description", "studio", "lecture", "original_name", "content_type", "size", "state",
              "submitted_by", "submitted_at", "reviewed_by", "reviewed_at", "review_comment", "published_at"]
    readonly_fields = ["studio", "lecture", "original_name", "content_type", "size", "state", "submitted_by",
                       "submitted_at", "reviewed_by", "reviewed_at", "review_comment", "published_at"]

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        user = request.user
        return ((Q(studio__isnull=False) & school_scope_q(user, prefix="studio__host_school__"))
                | (Q(lecture__isnull=False) & _course_q(user, "lecture__course__")))

    def has_add_permission(self, request):
        return False  # submitted through the API, which checks the file

    def has_change_permission(self, request, obj=None):
        return False  # reviewed through the API (courses.services.resource_approve / resource_return)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ScopedAdmin):
    """Who has a calendar feed (the token is not shown); superusers may delete one (revoke)."""

    scope_path = None
    list_display = ["user", "created_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "created_at"]
    readonly_fields = fields

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        from accounts.selectors import user_list_visible

        return Q(user__in=user_list_visible(user=request.user).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

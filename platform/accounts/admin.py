"""People in the Django admin, scoped to the administrator and audited (common.admin.ScopedAdmin).

Who sees whom (accounts.selectors): a school administrator their school's students, teachers
and administrators; a county administrator their county's; a city administrator their city's;
superusers everyone. The user list holds the accounts with a profile in scope, plus the
administrator themself (``user_list_visible``).

Who changes whom: a person (their account and their profiles) may be changed by a
non-superuser administrator when the person is a student or teacher of a school in scope and
not an administrator or staff (``user_list_managed``), or an administrator strictly below them
(a city administrator: the county and school administrators of the city; a county
administrator: the school administrators of the county). Everything else is read-only to them:
their own account and profiles (no granting oneself a tier or a wider scope), their peers',
wider administrators' and superusers' accounts.

No escalation: ``is_superuser``, ``is_staff``, groups and permissions are not in a
non-superuser's forms; an administrator is created or moved only to a level, region and school
strictly within the actor's scope; school, region and user choices are limited to the scope.
Teacher tiers (三层次名师, they decide duties and stipends) are assigned by city and county
administrators; a school administrator sees them read-only.

``is_staff``: Django's admin admits only staff. Saving an administrator profile here sets
``is_staff`` on its user and deleting one clears it (unless the user is a superuser); every
service or import that creates an AdministratorProfile must set it too.

Accounts are created together with their role: the add form of a student, teacher or
administrator takes a username and an initial password (the person must change it at first
sign-in) or, for an administrator, an existing teacher in scope (a principal is both). Only
superusers add bare accounts or give a role to any existing account. A password set on the
admin's "change password" page is an initial password too (except a superuser's), and ends the
user's API tokens.

Teacher tiers are reference data: every administrator reads them, superusers edit them (tiers
have no region, so a change would reach every city)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import password_validation
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from accounts.imports.selectors import import_job_list_visible
from accounts.models import (
    AdministratorProfile,
    ImportJob,
    StudentProfile,
    TeacherProfile,
    TeacherTier,
    User,
)
from accounts.selectors import administrator_list_visible, user_list_managed, user_list_visible
from common.admin import ReferenceDataAdmin, ScopedAdmin
from regions.models import Region

Level = AdministratorProfile.Level

# --- who governs whom -------------------------------------------------------------------------


def _admin_profile(user) -> AdministratorProfile | None:
    return getattr(user, "admin_profile", None)


def administrators_governed_q(actor) -> Q:
    """A Q over AdministratorProfile: the administrators strictly below ``actor`` (all for a
    superuser, none for a school administrator or anyone else)."""
    if actor.is_superuser:
        return Q()
    profile = _admin_profile(actor)
    if profile is None or profile.level == Level.SCHOOL:
        return Q(pk__in=[])
    if profile.level == Level.CITY:
        return (Q(level=Level.COUNTY, region__parent_id=profile.region_id)
                | Q(level=Level.SCHOOL, school__city_id=profile.region_id))
    return Q(level=Level.SCHOOL, school__county_id=profile.region_id)


def users_changeable(actor) -> QuerySet[User]:
    """Accounts whose account and profiles ``actor`` may change in the admin."""
    if actor.is_superuser:
        return User.objects.all()
    if _admin_profile(actor) is None:
        return User.objects.none()
    governed = AdministratorProfile.objects.filter(administrators_governed_q(actor)).values("user_id")
    return (
        User.objects.filter(Q(pk__in=user_list_managed(user=actor).values("pk")) | Q(pk__in=governed))
        .exclude(is_superuser=True)
        .exclude(pk=actor.pk)
    )


def _can_change_person(request, user_id) -> bool:
    actor = request.user
    if actor.is_superuser:
        return True
    cache = request.__dict__.setdefault("_changeable_people", {})
    if user_id not in cache:
        cache[user_id] = users_changeable(actor).filter(pk=user_id).exists()
    return cache[user_id]


def _assignable_levels(actor) -> list[str]:
    """Administrator levels ``actor`` may create: those strictly below their own."""
    if actor.is_superuser:
        return [Level.CITY, Level.COUNTY, Level.SCHOOL]
    profile = _admin_profile(actor)
    if profile is None:
        return []
    return {Level.CITY: [Level.COUNTY, Level.SCHOOL], Level.COUNTY: [Level.SCHOOL]}.get(profile.level, [])


def _user_candidates(actor, profile_model) -> QuerySet[User]:
    """Existing accounts ``actor`` may give a new role of ``profile_model`` to: for a
    superuser any account without one; for a city or county administrator (administrator
    role only) the teachers in scope who are not administrators yet; nobody otherwise."""
    related = {StudentProfile: "student_profile", TeacherProfile: "teacher_profile",
               AdministratorProfile: "admin_profile"}[profile_model]
    if actor.is_superuser:
        return User.objects.filter(**{f"{related}__isnull": True})
    if profile_model is AdministratorProfile and _assignable_levels(actor):
        return user_list_managed(user=actor).filter(teacher_profile__isnull=False, admin_profile__isnull=True)
    return User.objects.none()


# --- accounts ---------------------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


class UserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class AdminPasswordSetForm(AdminPasswordChangeForm):
    """The admin's "change password" page. A password set here for anybody but a superuser is
    an initial password: they must change it at next sign-in. Their API tokens end (their
    sessions end with the password hash)."""

    def save(self, commit=True):
        user = super().save(commit=False)
        if not user.is_superuser:
            user.must_change_password = True
        user._change_reason = "password set in the admin"
        if commit:
            user.save()
            user.auth_token_set.all().delete()
        return user


class RoleListFilter(admin.SimpleListFilter):
    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("student", _("student")), ("teacher", _("teacher")), ("admin", _("administrator"))]

    def queryset(self, request, queryset):
        related = {"student": "student_profile", "teacher": "teacher_profile", "admin": "admin_profile"}
        if self.value() in related:
            return queryset.filter(**{f"{related[self.value()]}__isnull": False})
        return queryset


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    scope_path = None  # scoped by get_scope_q: accounts with a profile in scope
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordSetForm
    list_display = ["username", "display_name", "roles", "is_active", "must_change_password", "last_login"]
    list_filter = [RoleListFilter, "is_active", "must_change_password"]
    list_select_related = ["student_profile", "teacher_profile", "admin_profile"]
    search_fields = ["username", "display_name", "email", "teacher_profile__real_name",
                     "admin_profile__real_name", "student_profile__student_number"]
    readonly_fields = ["last_login", "date_joined"]
    ordering = ["username"]

    superuser_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        (_("Status"), {"fields": ("is_active", "must_change_password")}),
        (_("Permissions"), {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    # Administrators never see (so can never post) is_staff, is_superuser, groups, permissions.
    administrator_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        (_("Status"), {"fields": ("is_active", "must_change_password")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2")}),
    )

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        return Q(pk__in=user_list_visible(user=request.user).values("pk"))

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        return self.superuser_fieldsets if request.user.is_superuser else self.administrator_fieldsets

    def get_list_filter(self, request):
        if request.user.is_superuser:
            return [*self.list_filter, "is_staff", "is_superuser"]
        return self.list_filter

    def has_add_permission(self, request):
        # Administrators create accounts with their role (student, teacher, administrator).
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or _can_change_person(request, obj.pk)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The "user" autocomplete of a role's add form offers only the accounts that may take it.
        if request.resolver_match and request.resolver_match.url_name == "autocomplete":
            profile_model = {"studentprofile": StudentProfile, "teacherprofile": TeacherProfile,
                             "administratorprofile": AdministratorProfile}.get(request.GET.get("model_name"))
            if profile_model is not None and request.GET.get("field_name") == "user":
                queryset = queryset.filter(pk__in=_user_candidates(request.user, profile_model).values("pk"))
        return queryset, may_have_duplicates

    @admin.display(description=_("roles"))
    def roles(self, obj):
        names = []
        for attr, label in (("student_profile", _("student")), ("teacher_profile", _("teacher")),
                            ("admin_profile", _("administrator"))):
            if hasattr(obj, attr):
                names.append(str(label))
        if obj.is_superuser:
            names.append(str(_("superuser")))
        return ", ".join(names) or "—"


# --- roles ------------------------------------------------------------------------------------


class ProfileAddForm(forms.ModelForm):
    """Adds a role together with its account: a new account (username, display name, initial
    password) or, where the administrator may, an existing account (``user``)."""

    new_username = forms.CharField(
        label=_("username"), max_length=150, required=False, validators=[UnicodeUsernameValidator()],
        help_text=_("For a new account: letters, digits and @/./+/-/_ only."),
    )
    new_display_name = forms.CharField(label=_("display name"), max_length=64, required=False)
    new_password = forms.CharField(
        label=_("initial password"), required=False, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("The person must change it at first sign-in."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].required = False
            self.fields["user"].help_text = _("An existing account; leave empty to create a new one below.")

    def clean(self):
        data = super().clean()
        existing, username = data.get("user"), data.get("new_username")
        if existing is not None and username:
            raise ValidationError(_("Choose an existing account or create a new one, not both."))
        if existing is None and not username:
            if "new_username" not in self.errors and "user" not in self.errors:
                self.add_error("new_username", _("Give the new account a username."))
            return data
        if username:
            if User.objects.filter(username__iexact=username).exists():
                self.add_error("new_username", _("This username is already taken."))
            password = data.get("new_password")
            if not password:
                self.add_error("new_password", _("Give the new account an initial password."))
            else:
                candidate = User(username=username, display_name=data.get("new_display_name", ""))
                try:
                    password_validation.validate_password(password, user=candidate)
                except ValidationError as exc:
                    self.add_error("new_password", exc)
        return data


_ACCOUNT_FIELDS = ("new_username", "new_display_name", "new_password")


class ProfileAdmin(ScopedAdmin):
    """Students, teachers and administrators: a role held by an account."""

    add_form = ProfileAddForm
    autocomplete_fields = ["user", "school"]
    profile_fields: tuple[str, ...] = ()
    grants_staff = False

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return [(None, {"fields": ("user", *self.profile_fields)})]
        may_choose = _user_candidates(request.user, self.model).exists()
        account = ("user", *_ACCOUNT_FIELDS) if may_choose else _ACCOUNT_FIELDS
        return [(_("Account"), {"fields": account}), (_("Role"), {"fields": self.profile_fields})]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    @method_decorator(sensitive_post_parameters("new_password"))
    def add_view(self, request, form_url="", extra_context=None):
        # The initial password never reaches an error report.
        return super().add_view(request, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _user_candidates(request.user, self.model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or _can_change_person(request, obj.user_id)

    def save_model(self, request, obj, form, change):
        if not change and form.cleaned_data.get("user") is None:
            account = User(
                username=form.cleaned_data["new_username"],
                display_name=form.cleaned_data.get("new_display_name", ""),
                must_change_password=True,
                is_staff=self.grants_staff,
            )
            account.set_password(form.cleaned_data["new_password"])
            account.save()
            obj.user = account
        super().save_model(request, obj, form, change)
        if self.grants_staff and not obj.user.is_staff:
            obj.user.is_staff = True
            obj.user.save(update_fields=["is_staff"])

    @admin.display(description=_("username"), ordering="user__username")
    def username(self, obj):
        return obj.user.username


@admin.register(StudentProfile)
class StudentProfileAdmin(ProfileAdmin):
    profile_fields = ("school", "grade", "class_name", "student_number", "real_name")
    list_display = ["student_number", "real_name", "username", "school", "grade", "class_name"]
    list_filter = [("school", admin.RelatedOnlyFieldListFilter), "grade"]
    list_select_related = ["user", "school", "grade"]
    search_fields = ["student_number", "real_name", "user__username"]


@admin.register(TeacherProfile)
class TeacherProfileAdmin(ProfileAdmin):
    profile_fields = ("school", "staff_number", "real_name", "subjects", "tier")
    list_display = ["staff_number", "real_name", "username", "school", "tier"]
    list_filter = [("school", admin.RelatedOnlyFieldListFilter), "tier", "subjects"]
    list_select_related = ["user", "school", "tier"]
    search_fields = ["staff_number", "real_name", "user__username"]
    filter_horizontal = ["subjects"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        profile = _admin_profile(request.user)
        if not request.user.is_superuser and (profile is None or profile.level == Level.SCHOOL):
            readonly.append("tier")  # tiers are assigned by the city and county bureaus
        return readonly


class AdministratorProfileForm(forms.ModelForm):
    """The level decides the scope: a city or county administrator has a region of that
    kind and no school; a school administrator has a school and no region."""

    def clean(self):
        data = super().clean()
        level, region, school = data.get("level"), data.get("region"), data.get("school")
        if level in (Level.CITY, Level.COUNTY):
            if region is None:
                self.add_error("region", _("A city or county administrator needs a region."))
            elif region.kind != level:
                self.add_error("region", _("Choose a region of the administrator's level (%(level)s).")
                               % {"level": Level(level).label})
            if school is not None:
                self.add_error("school", _("Only a school administrator has a school."))
        elif level == Level.SCHOOL:
            if school is None:
                self.add_error("school", _("A school administrator needs a school."))
            if region is not None:
                self.add_error("region", _("A school administrator has no region; choose the school."))
        return data


class AdministratorProfileAddForm(ProfileAddForm, AdministratorProfileForm):
    pass


@admin.register(AdministratorProfile)
class AdministratorProfileAdmin(ProfileAdmin):
    scope_path = None  # scoped by get_scope_q: administrator_list_visible
    form = AdministratorProfileForm
    add_form = AdministratorProfileAddForm
    grants_staff = True
    profile_fields = ("level", "region", "school", "real_name")
    autocomplete_fields = ["user", "school"]
    list_display = ["real_name", "username", "level", "region", "school"]
    list_filter = ["level"]
    list_select_related = ["user", "region", "school"]
    search_fields = ["real_name", "user__username"]

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        return Q(pk__in=administrator_list_visible(user=request.user).values("pk"))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and bool(_assignable_levels(request.user))

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or request.user.is_superuser:
            return True
        return AdministratorProfile.objects.filter(
            administrators_governed_q(request.user), pk=obj.pk).exists()

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "level":
            allowed = _assignable_levels(request.user)
            kwargs["choices"] = [("", "---------"), *((v, lbl) for v, lbl in Level.choices if v in allowed)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region" and not request.user.is_superuser:
            profile = _admin_profile(request.user)
            if profile is not None and profile.level == Level.CITY:
                kwargs["queryset"] = Region.objects.filter(parent_id=profile.region_id)
            else:
                kwargs["queryset"] = Region.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not request.user.is_superuser and not AdministratorProfile.objects.filter(
                administrators_governed_q(request.user), pk=obj.pk).exists():
            raise PermissionDenied(_("You may only appoint administrators below your own level and scope."))

    def delete_model(self, request, obj):
        user = obj.user
        super().delete_model(request, obj)
        _revoke_staff(user)

    def delete_queryset(self, request, queryset):
        users = [profile.user for profile in queryset.select_related("user")]
        super().delete_queryset(request, queryset)
        for user in users:
            _revoke_staff(user)


def _revoke_staff(user: User) -> None:
    """An account that no longer administers anything leaves the admin (superusers stay)."""
    if user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])


@admin.register(TeacherTier)
class TeacherTierAdmin(ReferenceDataAdmin):
    list_display = ["code", "name", "rank", "is_three_tier"]
    list_filter = ["is_three_tier"]
    search_fields = ["code", "name"]


@admin.register(ImportJob)
class ImportJobAdmin(ScopedAdmin):
    """Import jobs, read-only: they are started and their passwords downloaded through the API.
    The uploaded sheet and the credentials file are not shown (minors' data, passwords)."""

    scope_path = None  # scoped by get_scope_q: import_job_list_visible
    list_display = ["id", "kind", "status", "dry_run", "created_by", "created_at", "rows_total",
                    "created_count", "updated_count", "error_count"]
    list_filter = ["kind", "status", "dry_run"]
    list_select_related = ["created_by"]
    fields = ["kind", "status", "dry_run", "created_by", "scope_level", "scope_region", "scope_school",
              "original_name", "rows_total", "created_count", "updated_count", "unchanged_count",
              "error_count", "errors", "credentials_count", "credentials_downloaded_at", "created_at",
              "started_at", "finished_at"]
    readonly_fields = fields

    def get_scope_q(self, request):
        if request.user.is_superuser:
            return None
        return Q(pk__in=import_job_list_visible(user=request.user).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

"""Admin classes shared by every app: scoped to the administrator's region, audited.

Who works in the Django admin: superusers, and users holding an AdministratorProfile (city,
county or school). Django's admin site admits only users with ``is_staff``, so whatever creates
an administrator must set it: ``accounts.admin`` does, and every service or import that creates
an AdministratorProfile must do the same. Staff without an administrator profile see nothing.

What ``ScopedAdmin`` guarantees to every subclass:

- rows are limited to the administrator's scope (``scope_path``, or ``get_scope_q`` for rules
  that are not "the schools I govern"); an object out of scope is not listed, and its change,
  history and history-version pages answer like a missing object (redirect or 404), never 500;
- choices of a School, Region or User in a form (foreign keys and many-to-many) are limited to
  the administrator's scope, and a saved object that left the scope anyway is refused (403) and
  rolled back (the admin's change view runs in one transaction);
- only superusers delete, and only superusers revert an object to an old version (the history
  pages are read-only for everybody else, POST included);
- every change is recorded by django-simple-history (who, when, before and after) and the
  object's History page lists each version with its changed fields (old → new).

``ReferenceDataAdmin`` is the variant for platform-wide reference data (stages, subjects,
grades, teacher tiers, ...): every administrator reads it, only superusers add or change it,
because it has no region and a change would reach every city.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from regions.models import Region, School
from regions.selectors import region_scope_q, school_scope_q


def is_administrator(user) -> bool:
    """Whether ``user`` works in the admin: a superuser or the holder of an administrator profile."""
    return user.is_active and (user.is_superuser or hasattr(user, "admin_profile"))


class ScopedAdmin(SimpleHistoryAdmin):
    """A ModelAdmin whose rows are limited to the schools the administrator governs.

    ``scope_path`` is the lookup from the model to a School ("" for School itself,
    "school" for a profile, "host_school" for a studio); ``None`` means the rows are not
    scoped (reference data, or a subclass that scopes by overriding ``get_scope_q`` or
    ``get_queryset``). Superusers see everything; staff without an administrator profile see
    nothing.
    """

    scope_path: str | None = "school"

    # --- scope --------------------------------------------------------------------------

    def get_scope_q(self, request) -> Q | None:
        """The filter that limits rows to the administrator's scope; None for no limit."""
        if self.scope_path is None or request.user.is_superuser:
            return None
        prefix = f"{self.scope_path}__" if self.scope_path else ""
        return school_scope_q(request.user, prefix=prefix)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        scope = self.get_scope_q(request)
        return qs if scope is None else qs.filter(scope)

    def is_in_scope(self, request, obj) -> bool:
        """Whether ``obj`` is one of the rows this administrator may see (cached per request)."""
        if obj is None or obj.pk is None or request.user.is_superuser:
            return True
        cache = request.__dict__.setdefault("_scoped_admin_cache", {})
        key = (self.model._meta.label, obj.pk)
        if key not in cache:
            cache[key] = self.get_queryset(request).filter(pk=obj.pk).exists()
        return cache[key]

    # --- permissions: administrators by profile, objects by scope ---------------------

    def has_module_permission(self, request):
        return is_administrator(request.user)

    def has_view_permission(self, request, obj=None):
        return is_administrator(request.user) and self.is_in_scope(request, obj)

    def has_change_permission(self, request, obj=None):
        return is_administrator(request.user) and self.is_in_scope(request, obj)

    def has_add_permission(self, request):
        return is_administrator(request.user)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_history_permission(self, request, obj=None):
        # Reverting to an old version bypasses the rules the forms and services apply.
        return request.user.is_superuser

    # --- form choices and saving --------------------------------------------------------

    def scoped_choices(self, db_field, request):
        """The queryset of choices for a School, Region or User field, limited to the scope
        (None: leave the field's choices alone)."""
        user = request.user
        if user.is_superuser:
            return None
        model = db_field.remote_field.model
        if model is School:
            return School.objects.filter(school_scope_q(user))
        if model is Region:
            return Region.objects.filter(region_scope_q(user))
        if model is get_user_model():
            from accounts.selectors import user_list_visible

            return user_list_visible(user=user)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = self.scoped_choices(db_field, request)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = self.scoped_choices(db_field, request)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The form's choices keep the object in scope; this is the backstop. Raising here
        # rolls the save back (ModelAdmin.changeform_view runs in a transaction).
        if not request.user.is_superuser and not self.get_queryset(request).filter(pk=obj.pk).exists():
            raise PermissionDenied(_("This would put the object outside your scope."))

    # --- history ------------------------------------------------------------------------

    def _is_audited(self) -> bool:
        return hasattr(self.model._meta, "simple_history_manager_attribute")

    def _get_visible_object(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None and not request.user.is_superuser:
            # Superusers may read the history of deleted objects; others only of visible ones.
            raise Http404
        return obj

    def history_view(self, request, object_id, extra_context=None):
        if not self._is_audited():
            # A model without HistoricalRecords: Django's own page (the admin's log entries).
            response = admin.ModelAdmin.history_view(self, request, object_id, extra_context)
            if isinstance(response, TemplateResponse):
                opts = self.model._meta
                response.template_name = [
                    f"admin/{opts.app_label}/{opts.model_name}/object_history.html",
                    f"admin/{opts.app_label}/object_history.html",
                    "admin/object_history.html",
                ]
            return response
        self._get_visible_object(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not self._is_audited():
            raise Http404
        obj = self._get_visible_object(request, object_id)
        # simple-history checks only the right to *view* history before saving a POSTed
        # revert; reverting needs the right to change history.
        if request.method == "POST" and not self.has_change_history_permission(request, obj):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReferenceDataAdmin(ScopedAdmin):
    """Platform-wide reference data: every administrator reads it, superusers edit it."""

    scope_path = None

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser


__all__ = ["ReferenceDataAdmin", "ScopedAdmin", "admin", "is_administrator"]

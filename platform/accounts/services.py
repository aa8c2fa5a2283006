"""Writes on accounts. Each service says what it guarantees."""

from __future__ import annotations

import secrets

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from common.errors import ServiceError

# Letters and digits that cannot be confused when read aloud or off paper (no 0/O, 1/l/I).
_INITIAL_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def initial_password_generate() -> str:
    return "".join(secrets.choice(_INITIAL_ALPHABET) for _ in range(10))


def initial_password_hash(raw: str) -> str:
    """Cheap hash for a must-change initial password (see accounts.hashers)."""
    return make_password(raw, hasher="pbkdf2_sha256_initial")


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Replaces the user's password after checking the old one and Django's validators.
    Clears ``must_change_password``. Raises ServiceError naming the field at fault."""
    if not user.check_password(old_password):
        raise ServiceError(_("The current password is wrong."), code="wrong_password",
                           fields={"old_password": [_("The current password is wrong.")]})
    if old_password == new_password:
        raise ServiceError(_("The new password must differ from the current one."),
                           code="password_unchanged",
                           fields={"new_password": [_("Choose a password you have not used here.")]})
    try:
        password_validation.validate_password(new_password, user=user)
    except Exception as exc:  # django ValidationError: report every validator's message
        messages = list(getattr(exc, "messages", [str(exc)]))
        raise ServiceError(" ".join(messages), code="weak_password",
                           fields={"new_password": messages}) from exc
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    return user


@transaction.atomic
def user_password_reset(*, actor: User, user: User) -> str:
    """An administrator resets a student's or teacher's password in their scope. Returns the
    new initial password (shown once); the user must change it at next login, and every API
    token of theirs is revoked."""
    from accounts.selectors import user_list_managed

    if not user_list_managed(user=actor).filter(pk=user.pk).exists():
        raise ServiceError(_("No such user in your scope."), code="not_found")
    raw = initial_password_generate()
    user.set_password(raw)
    user.must_change_password = True
    user._change_reason = f"password reset by {actor.pk}"
    user.save(update_fields=["password", "must_change_password"])
    user.auth_token_set.all().delete()
    return raw

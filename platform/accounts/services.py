"""Writes on accounts. Each service says what it guarantees."""

from __future__ import annotations

import secrets

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import AuthToken

from accounts.models import User
from accounts.selectors import user_list_managed
from common.errors import NotFound, ServiceError

# Letters and digits that cannot be confused when read aloud or off paper (no 0/O, 1/l/I).
_INITIAL_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Live API tokens a user may hold at once (one per device); see auth_token_create.
MAX_TOKENS_PER_USER = 20


def initial_password_generate() -> str:
    return "".join(secrets.choice(_INITIAL_ALPHABET) for _ in range(10))


def initial_password_hash(raw: str) -> str:
    """Cheap hash for a must-change initial password (see accounts.hashers)."""
    return make_password(raw, hasher="pbkdf2_sha256_initial")


@transaction.atomic
def auth_token_create(*, user: User) -> tuple[AuthToken, str]:
    """A new API token for ``user`` (returned once, stored hashed by knox). The user keeps at
    most MAX_TOKENS_PER_USER live tokens: the oldest beyond that are revoked. Records the
    sign-in time (without a history row: last_login is not audited)."""
    live = user.auth_token_set.filter(expiry__gt=timezone.now()).order_by("-created", "-pk")
    stale = list(live.values_list("pk", flat=True)[MAX_TOKENS_PER_USER - 1:])
    if stale:
        AuthToken.objects.filter(pk__in=stale).delete()
    instance, token = AuthToken.objects.create(user=user)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return instance, token


def auth_token_revoke(*, token: AuthToken) -> None:
    """Revokes one API token (one device signs out)."""
    token.delete()


def auth_token_revoke_all(*, user: User) -> int:
    """Revokes every API token of ``user``; returns how many there were."""
    deleted, _by_model = user.auth_token_set.all().delete()
    return deleted


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str,
                         keep_token: AuthToken | None = None) -> User:
    """Replaces the user's password after checking the old one and Django's validators.
    Clears ``must_change_password``. Every API token of the user except ``keep_token`` (the one
    the change was made with) is revoked; other sessions end because the session hash changes.
    Raises ServiceError naming the field at fault."""
    if not user.check_password(old_password):
        raise ServiceError(_("The current password is wrong."), code="wrong_password",
                           fields={"old_password": [_("The current password is wrong.")]})
    if old_password == new_password:
        raise ServiceError(_("The new password must differ from the current one."),
                           code="password_unchanged",
                           fields={"new_password": [_("Choose a password you have not used here.")]})
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as exc:
        messages = list(exc.messages)
        raise ServiceError(" ".join(messages), code="weak_password",
                           fields={"new_password": messages}) from exc
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    others = user.auth_token_set.all()
    if keep_token is not None:
        others = others.exclude(pk=keep_token.pk)
    others.delete()
    return user


@transaction.atomic
def user_password_reset(*, actor: User, user: User) -> str:
    """An administrator resets a student's or teacher's password in their scope
    (accounts.selectors.user_list_managed). Returns the new initial password (shown once);
    the user must change it at next login, every API token of theirs is revoked and their
    sessions end. Raises NotFound for an account outside the actor's scope."""
    if not user_list_managed(user=actor).filter(pk=user.pk).exists():
        raise NotFound(_("No such user in your scope."))
    raw = initial_password_generate()
    user.set_password(raw)
    user.must_change_password = True
    user._change_reason = f"password reset by {actor.pk}"
    user.save(update_fields=["password", "must_change_password"])
    user.auth_token_set.all().delete()
    return raw

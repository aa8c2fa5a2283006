"""accounts.services: tokens, password change and reset, initial passwords."""

import pytest
from django.contrib.auth.hashers import identify_hasher
from knox.models import AuthToken

from accounts.services import (
    MAX_TOKENS_PER_USER,
    auth_token_create,
    auth_token_revoke,
    auth_token_revoke_all,
    initial_password_generate,
    initial_password_hash,
    user_password_change,
    user_password_reset,
)
from common.errors import NotFound, ServiceError
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW = "Quiet-Lantern-47"


def test_initial_passwords_are_unambiguous_and_differ():
    passwords = {initial_password_generate() for _ in range(200)}
    assert len(passwords) == 200
    assert not set("".join(passwords)) & set("0O1lI")
    assert all(len(p) == 10 for p in passwords)


def test_initial_password_hash_uses_the_cheap_hasher_and_checks():
    user = UserFactory(password=initial_password_hash("Abc-Def-123"))
    assert identify_hasher(user.password).algorithm == "pbkdf2_sha256_initial"
    assert user.check_password("Abc-Def-123")


def test_auth_token_create_records_last_login_and_caps_tokens():
    user = UserFactory()
    tokens = [auth_token_create(user=user)[0] for _ in range(MAX_TOKENS_PER_USER + 3)]
    user.refresh_from_db()
    assert user.last_login is not None
    remaining = set(AuthToken.objects.filter(user=user).values_list("pk", flat=True))
    assert remaining == {t.pk for t in tokens[-MAX_TOKENS_PER_USER:]}


def test_auth_token_revoke_and_revoke_all():
    user, other = UserFactory(), UserFactory()
    first, _ = auth_token_create(user=user)
    auth_token_create(user=user)
    auth_token_create(user=other)
    auth_token_revoke(token=first)
    assert AuthToken.objects.filter(user=user).count() == 1
    assert auth_token_revoke_all(user=user) == 1
    assert AuthToken.objects.filter(user=user).count() == 0
    assert AuthToken.objects.filter(user=other).count() == 1


def test_password_change_keeps_only_the_named_token():
    user = UserFactory(must_change_password=True)
    keep, _ = auth_token_create(user=user)
    auth_token_create(user=user)
    user_password_change(user=user, old_password=PASSWORD, new_password=NEW, keep_token=keep)
    user.refresh_from_db()
    assert user.check_password(NEW) and not user.must_change_password
    assert list(AuthToken.objects.filter(user=user)) == [keep]


def test_password_change_hashes_with_the_strong_hasher_after_an_initial_password():
    user = UserFactory(password=initial_password_hash("Abc-Def-123"), must_change_password=True)
    user_password_change(user=user, old_password="Abc-Def-123", new_password=NEW)
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm != "pbkdf2_sha256_initial"


@pytest.mark.parametrize(("old", "new", "code", "field"), [
    ("wrong-one-1", NEW, "wrong_password", "old_password"),
    (PASSWORD, PASSWORD, "password_unchanged", "new_password"),
    (PASSWORD, "1234", "weak_password", "new_password"),
    (PASSWORD, "password", "weak_password", "new_password"),
])
def test_password_change_refusals_name_the_field(old, new, code, field):
    user = UserFactory()
    with pytest.raises(ServiceError) as refused:
        user_password_change(user=user, old_password=old, new_password=new)
    assert refused.value.code == code
    assert list(refused.value.fields) == [field]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_sets_must_change_revokes_tokens_and_is_audited(world):
    student = world.student_a.user
    auth_token_create(user=student)
    raw = user_password_reset(actor=world.school_admin_a.user, user=student)
    student.refresh_from_db()
    assert student.check_password(raw) and student.must_change_password
    assert not AuthToken.objects.filter(user=student).exists()
    last = student.history.order_by("-history_id").first()
    assert last.history_change_reason == f"password reset by {world.school_admin_a.user.pk}"


@pytest.mark.parametrize("actor", ["school_admin_b", "county_admin_b", "teacher_a", "student_b"])
def test_password_reset_outside_scope_raises_not_found_and_changes_nothing(world, actor):
    student = world.student_a.user
    token, _ = auth_token_create(user=student)
    with pytest.raises(NotFound):
        user_password_reset(actor=getattr(world, actor).user, user=student)
    student.refresh_from_db()
    assert student.check_password(PASSWORD) and not student.must_change_password
    assert AuthToken.objects.filter(pk=token.pk).exists()

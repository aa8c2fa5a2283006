from django.contrib.auth.hashers import PBKDF2PasswordHasher


class InitialPasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with few iterations, only for initial passwords set by a bulk import.

    Hashing 636,000 students at Django's default cost would take days. An initial password is
    single-use by policy (``must_change_password``): the user must replace it at first login,
    and Django re-hashes the new one with the strong default hasher. Never make this the first
    entry of PASSWORD_HASHERS.
    """

    algorithm = "pbkdf2_sha256_initial"
    iterations = 1_000

"""Accounts, sessions, roles, CSRF and login rate limiting for the review UI.

Passwords are hashed with argon2id. The session is a signed cookie (HttpOnly, SameSite=Strict)
holding only the user name, role and a CSRF token; every state-changing request must echo the token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("reviewer", "supervisor", "author", "admin")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
#: Compared against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("password must be at least 8 characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(session_token: str | None, given: str | None) -> bool:
    return bool(session_token) and bool(given) and secrets.compare_digest(str(session_token), str(given))


def allowed(role: str | None, *needed: str) -> bool:
    """True if ``role`` is one of ``needed``; admins may see everything."""
    return role is not None and (role == "admin" or role in needed)


#: Who may do what in the review UI.
REVIEWERS = ("reviewer", "supervisor")
SUPERVISORS = ("supervisor",)
AUTHORS = ("author",)


class LoginLimiter:
    """At most ``attempts`` failures per user name and per client address within ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._fails.pop(k, None)

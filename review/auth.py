"""Accounts, sessions, roles, CSRF and login rate limiting for the review UI.

Passwords are hashed with argon2id and must pass :func:`check_password`. Sessions live on the server
(``records.models.UserSession``); the signed cookie (HttpOnly, SameSite=Strict, Secure under TLS)
holds only the session token and the CSRF token every state-changing request must echo.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import WeakPassword

ROLES = ("staff", "counter", "reviewer", "supervisor", "author", "admin")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
#: Compared against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


#: Shortest password accepted. Length is what makes a password hard to guess (NIST SP 800-63B).
MIN_PASSWORD_LENGTH = 10
#: Words an attacker tries first against this product, beside zxcvbn's own lists of common passwords.
_PRODUCT_WORDS = ("dejiru", "admin", "password", "review")


def check_password(password: str, username: str = "") -> None:
    """Refuse short passwords, common ones (zxcvbn's frequency lists: "password", "123456789a"...),
    and ones built from the user name or the product's name; raises :class:`WeakPassword`."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください",
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters",
        )
    for word in (username, "dejiru"):
        if word and word.lower() in password.lower():
            raise WeakPassword(
                f"パスワードに「{word}」を含めないでください（ユーザー名や製品名は最初に試されます）",
                f"the password must not contain {word!r} (user and product names are tried first)",
            )
    score = zxcvbn(password[:100], user_inputs=[username, *_PRODUCT_WORDS])["score"]
    if score < 3:
        raise WeakPassword(
            "推測されやすいパスワードです（よく使われる語・並び・繰り返し）。別のものにしてください",
            "the password is too easy to guess (common words, sequences or repeats): choose another",
        )


def hash_password(password: str) -> str:
    """The argon2id hash; the rules are checked where a person chooses a password (check_password)."""
    return _hasher.hash(password)


def one_time_password() -> str:
    """A random password to hand over once (the first admin, a reset); it must be changed at login."""
    return secrets.token_urlsafe(12)


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
#: 書かない窓口: counter staff, and supervisors who stand in for them.
COUNTER = ("counter", "supervisor")
#: 受付状況 (what became of each file): staff who only drop scans, and everyone who works with them.
STAFF = ("staff", "counter", "reviewer", "supervisor", "author")


class LoginLimiter:
    """Slows password guessing without letting a stranger lock people out.

    A browser that logged in as a user before carries a signed device cookie; its failures for that
    user are counted on their own, so nobody elsewhere can lock a reviewer out of her usual PC. Any
    other client is counted per (user name, address) — at most ``attempts`` failures per ``window``
    seconds — and, across all such clients, per user name (``user_attempts``): guessing from many
    addresses is bounded too, and a city hall behind one NAT address keeps working while one PC is
    blocked. Memory is bounded: beyond ``max_keys`` the oldest counters are forgotten.
    """

    def __init__(
        self, attempts: int = 5, window: float = 300.0, user_attempts: int = 30, max_keys: int = 10_000
    ) -> None:
        self.attempts = attempts
        self.user_attempts = user_attempts
        self.window = window
        self.max_keys = max_keys
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._fails)

    def _count(self, key: str, now: float) -> int:
        q = self._fails.get(key)
        if q is None:
            return 0
        while q and now - q[0] > self.window:
            q.popleft()
        if not q:
            del self._fails[key]
        return len(q)

    @staticmethod
    def _keys(user: str, client: str, device: str | None) -> list[str]:
        if device is not None:
            return [f"device:{device}\0{user}"]
        return [f"pair:{client}\0{user}", f"user:{user}"]

    def blocked(self, user: str, client: str, device: str | None = None) -> bool:
        """``device``: the id of a device cookie that logged in as ``user`` before, else None."""
        now = time.monotonic()
        with self._lock:
            first, *rest = self._keys(user, client, device)
            if self._count(first, now) >= self.attempts:
                return True
            return any(self._count(k, now) >= self.user_attempts for k in rest)

    def failed(self, user: str, client: str, device: str | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(user, client, device):
                q = self._fails.pop(key, None) or deque()
                q.append(now)
                while len(q) > max(self.attempts, self.user_attempts):
                    q.popleft()
                self._fails[key] = q  # most recent last: the oldest are forgotten first
            while len(self._fails) > self.max_keys:
                self._fails.popitem(last=False)

    def succeeded(self, user: str, client: str, device: str | None = None) -> None:
        with self._lock:
            self._fails.pop(self._keys(user, client, device)[0], None)

"""Settings from the environment, with defaults that work on one PC out of the box.

Everything lives under ``DEJIRU_HOME`` (default ``./var``): the SQLite database, the archive of
originals, quarantine, page images and keying evidence. Moving to PostgreSQL is one setting:
``DEJIRU_DATABASE_URL=postgresql+psycopg://user@host/db``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    home: Path
    inbox: Path
    database_url: str
    review_host: str
    review_port: int
    legacy_url: str
    legacy_port: int
    #: Send every document to review, even when every field is confident and valid.
    review_all: bool
    engine: str | None
    #: ``events`` (watchdog, local disks) or ``poll`` (network shares, where events do not arrive).
    watch_mode: str = "events"
    #: Seconds a file's size must stay the same before it is taken (scanners write slowly).
    watch_settle: float = 2.0

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def pages(self) -> Path:
        return self.home / "pages"

    @property
    def evidence(self) -> Path:
        return self.home / "evidence"

    @property
    def secret_file(self) -> Path:
        return self.home / "secret.key"

    def ensure_dirs(self) -> None:
        for p in (self.home, self.inbox, self.archive, self.quarantine, self.pages, self.evidence):
            p.mkdir(parents=True, exist_ok=True)

    def secret_key(self) -> str:
        """Session-signing key, made once per installation and kept in DEJIRU_HOME (mode 600)."""
        env = os.environ.get("DEJIRU_SECRET_KEY")
        if env:
            return env
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.secret_file.exists():
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return self.secret_file.read_text().strip()


def load_settings() -> Settings:
    home = Path(_env("DEJIRU_HOME", "var")).resolve()
    legacy_port = int(_env("DEJIRU_LEGACY_PORT", "8765"))
    return Settings(
        home=home,
        inbox=Path(_env("DEJIRU_INBOX", "inbox")).resolve(),
        database_url=_env("DEJIRU_DATABASE_URL", f"sqlite:///{home / 'dejiru.db'}"),
        review_host=_env("DEJIRU_REVIEW_HOST", "127.0.0.1"),
        review_port=int(_env("DEJIRU_REVIEW_PORT", "8000")),
        legacy_url=_env("DEJIRU_LEGACY_URL", f"http://127.0.0.1:{legacy_port}"),
        legacy_port=legacy_port,
        review_all=_env("DEJIRU_REVIEW_ALL", "0") == "1",
        engine=os.environ.get("DEJIRU_ENGINE") or None,
        watch_mode=_env("DEJIRU_WATCH_MODE", "events"),
        watch_settle=float(_env("DEJIRU_WATCH_SETTLE", "2.0")),
    )


@cache
def settings() -> Settings:
    return load_settings()

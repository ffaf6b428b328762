"""Settings from the environment, with defaults that work on one PC out of the box.

Everything lives under ``DEJIRU_HOME`` (default ``./var``): the SQLite database, the archive of
originals, quarantine, page images and keying evidence. Moving to PostgreSQL is one setting:
``DEJIRU_DATABASE_URL=postgresql+psycopg://user@host/db``.

What lives there is residents' personal data: nothing dejiru creates under ``DEJIRU_HOME`` may be
readable by other accounts on the machine. Every entry point comes through ``Settings.ensure_dirs``
(``Context.create`` calls it), which narrows the process umask to :data:`PRIVATE_UMASK` and creates the
folders without any access for others; the SQLite file is made mode 600 where the engine is created.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: Files 640 and folders 750 at most: the owner and its group (a review UI or worker run as another
#: account of the same group) may read; other accounts may not.
PRIVATE_UMASK = 0o027
#: Folders dejiru makes under DEJIRU_HOME.
PRIVATE_DIR_MODE = 0o750


def restrict_umask() -> None:
    """Narrow this process's umask to at least :data:`PRIVATE_UMASK` (a stricter one set by an
    administrator is kept). Process-wide, so files written later by any library (page images, bot
    evidence, SQLite's WAL) are covered too."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


#: Two documents in a hundred: at a few hundred straight-through documents a week, a few minutes of
#: blind keying a week, and within a couple of months some 400 fields audited, enough for the 95 %
#: interval of the silent-error rate to close under 1 % when nothing is found.
DEFAULT_AUDIT_SHARE = 0.02


def _share(name: str, default: float) -> float:
    """A share between 0 and 1 from the environment; anything else stops the start with a clear reason."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number from 0 to 1 (e.g. 0.02), not {text!r}")
    return value


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
    #: 抜き取り検査: the share of documents that would go straight through which a person keys blind
    #: instead, to measure the silent-error rate on production documents (0 turns it off, 1 checks all).
    audit_share: float = DEFAULT_AUDIT_SHARE

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
    def staging(self) -> Path:
        """Private copies of inbox files while they are checked (read once, through a checked handle)."""
        return self.home / "staging"

    @property
    def intake_ledger(self) -> Path:
        """Which inbox file (inode, change time, size) became which document: tells a worker's own
        unfinished intake, or a second worker on the same file, from a clerk dropping the file again."""
        return self.home / "intake"

    @property
    def secret_file(self) -> Path:
        return self.home / "secret.key"

    def private_dirs(self) -> tuple[Path, ...]:
        return (
            self.home,
            self.archive,
            self.quarantine,
            self.pages,
            self.evidence,
            self.staging,
            self.intake_ledger,
        )

    def ensure_dirs(self) -> None:
        """Create the folders, none of them open to other accounts, and narrow the umask (see module doc).

        Folders of an older installation that were left world-readable are closed too. The inbox's
        permissions are left as they are (the administrator shares it with staff and scanners); one
        created here gets the narrowed umask like everything else.
        """
        restrict_umask()
        for p in self.private_dirs():
            p.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            mode = stat.S_IMODE(p.stat().st_mode)
            if mode & 0o007:
                p.chmod(mode & ~0o007)
        self.inbox.mkdir(parents=True, exist_ok=True)

    def secret_key(self) -> str:
        """Session-signing key, made once per installation and kept in DEJIRU_HOME (mode 600)."""
        env = os.environ.get("DEJIRU_SECRET_KEY")
        if env:
            return env
        restrict_umask()
        self.home.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
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
        audit_share=_share("DEJIRU_AUDIT_SHARE", DEFAULT_AUDIT_SHARE),
    )


@cache
def settings() -> Settings:
    return load_settings()

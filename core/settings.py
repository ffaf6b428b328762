"""Settings from the environment, with defaults that work on one PC out of the box.

Every ``DEJIRU_*`` environment variable dejiru knows is a field of :class:`Settings` (pydantic-settings),
with its type, default and a line saying what it is for: the README's table (:func:`markdown_table`,
``python -m scripts.settings_table --write``) and ``dejiru doctor`` are made from it, and
``tests/test_settings.py`` fails when a ``DEJIRU_*`` name anywhere in the tree is not one of them.
A bad value stops the start with a message naming the variable instead of surfacing later as a
crash deep in a step.

:func:`settings` is the process's settings, read once. Code below the CLI that used to look a variable
up at the moment it needed it calls :func:`load_settings` there instead, so a value changed at run time
(a test, ``bench`` pinning a knob) is still seen. Two are still read straight from the environment,
by name, because of where they are read: ``DEJIRU_TODAY`` (``core.clock``, asked on every date check,
with its own error) and ``DEJIRU_FAILPOINT`` (``core.failpoints``, one dictionary lookup on hot paths);
and a bot mapping names the variables holding its target's URL and credentials (``bots.mapping``).

Everything lives under ``DEJIRU_HOME`` (default ``./var``): the SQLite database, the archive of
originals, quarantine, page images and keying evidence. Moving to PostgreSQL is one setting:
``DEJIRU_DATABASE_URL=postgresql+psycopg://user@host/db``.

What lives there is residents' personal data: nothing dejiru creates under ``DEJIRU_HOME`` may be
readable by other accounts on the machine. Every entry point comes through ``Settings.ensure_dirs``
(``Context.create`` calls it), which narrows the process umask to :data:`PRIVATE_UMASK` and creates the
folders without any access for others; the SQLite file is made mode 600 where the engine is created.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
import types
import typing
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonDict
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

#: Files 640 and folders 750 at most: the owner and its group (a review UI or worker run as another
#: account of the same group) may read; other accounts may not.
PRIVATE_UMASK = 0o027
#: Folders dejiru makes under DEJIRU_HOME.
PRIVATE_DIR_MODE = 0o750
#: Every variable's name starts with this.
PREFIX = "DEJIRU_"


def restrict_umask() -> None:
    """Narrow this process's umask to at least :data:`PRIVATE_UMASK` (a stricter one set by an
    administrator is kept). Process-wide, so files written later by any library (page images, bot
    evidence, SQLite's WAL) are covered too."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


#: Two documents in a hundred: at a few hundred straight-through documents a week, a few minutes of
#: blind keying a week, and within a couple of months some 400 fields audited, enough for the 95 %
#: interval of the silent-error rate to close under 1 % when nothing is found.
DEFAULT_AUDIT_SHARE = 0.02


class SettingsError(ValueError):
    """A ``DEJIRU_*`` variable holds a value dejiru cannot use; the message names each one."""


def _setting(default: Any = None, doc: str = "", *, shown: str | None = None, **kw: Any) -> Any:
    """A field with its one-line description; ``shown`` is the default as the README and ``dejiru
    doctor`` word it, where the value itself says little (derived from another setting, or unset)."""
    extra: JsonDict | None = {"shown_default": shown} if shown is not None else None
    if callable(default):
        return Field(default_factory=default, description=doc, json_schema_extra=extra, **kw)
    return Field(default=default, description=doc, json_schema_extra=extra, **kw)


def _sqlite_in_home(data: dict[str, Any]) -> str:
    home = data.get("home")
    return f"sqlite:///{home / 'dejiru.db'}" if isinstance(home, Path) else ""


def _legacy_on_its_port(data: dict[str, Any]) -> str:
    return f"http://127.0.0.1:{data.get('legacy_port', 8765)}"


class Settings(BaseSettings):
    """Every ``DEJIRU_*`` setting. Frozen: one object is handed to every step of a run."""

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(
        env_prefix=PREFIX,
        env_ignore_empty=True,  # ``DEJIRU_ENGINE=`` means "not set", as it always did
        frozen=True,
        validate_by_name=True,
    )

    # --- where things are -----------------------------------------------------------------------
    home: Path = _setting(
        Path("var"),
        "Folder of the database, archive, quarantine, page images and keying evidence (personal data)",
    )
    inbox: Path = _setting(Path("inbox"), "Folder the scanners drop files into")
    database_url: str = _setting(
        _sqlite_in_home,
        "Database (SQLAlchemy URL); `postgresql+psycopg://user@host/db` for several PCs",
        shown="SQLite `dejiru.db` in DEJIRU_HOME",
    )
    templates_dir: Path | None = _setting(
        None, "Folder of the form templates, for a city's own forms", shown="the shipped `form_templates/`"
    )
    mappings_dir: Path | None = _setting(
        None,
        "Folder of the city's own bot mappings (one YAML per target system), in addition to the shipped ones",
        shown="only the shipped `bots/mappings/`",
    )
    secrets_file: Path | None = _setting(
        None,
        'Target systems\' logins, JSON `{"<system>": {"user": …, "password": …}}`, mode 600',
        shown="`secrets.json` in DEJIRU_HOME if there",
    )
    exchange_dir: Path | None = _setting(
        None,
        "Folder shared with systems that take import files (a folder per system inside)",
        shown="`exchange/` in DEJIRU_HOME",
    )
    thresholds: Path | None = _setting(
        None,
        "Review thresholds file (`dejiru calibrate`)",
        shown="`thresholds.json` in DEJIRU_HOME if calibrated, else the shipped one",
    )
    repo: Path | None = _setting(
        None,
        "This checkout, where the deployments of `prefect.yaml` run from (read by Prefect, not by dejiru)",
    )

    # --- servers --------------------------------------------------------------------------------
    review_host: str = _setting("127.0.0.1", "Address the review UI listens on")
    review_port: int = _setting(8000, "Port of the review UI")
    legacy_port: int = _setting(8765, "Port of the bundled demo legacy system (`dejiru run`)")
    legacy_url: str = _setting(
        _legacy_on_its_port,
        "Where the bots find the demo legacy system (its mapping's `base_url_env`)",
        shown="`http://127.0.0.1:<DEJIRU_LEGACY_PORT>`",
    )
    legacy_user: str | None = _setting(
        None,
        "Login of the demo legacy system (its mapping's `user_env`)",
        shown="the mapping's `default_user`",
    )
    legacy_password: SecretStr | None = _setting(
        None,
        "Password of the demo legacy system (its mapping's `password_env`)",
        shown="the mapping's `default_password`",
    )
    configured_secret_key: SecretStr | None = _setting(
        None,
        "Key signing review-UI sessions and drawing the audit sample",
        shown="made once, kept in DEJIRU_HOME/secret.key",
        validation_alias=PREFIX + "SECRET_KEY",
    )

    # --- reading and routing --------------------------------------------------------------------
    engine: str | None = _setting(
        None, "OCR engine: `ppocrv6-onnx` or `ppocrv5-paddle`", shown="`ppocrv6-onnx`"
    )
    ocr_threads: int = _setting(
        0, "CPU threads per OCR engine; 0: the machine's cores shared among the readers (cores ÷ readers)"
    )
    paddle_mkldnn: bool = _setting(True, "oneDNN for the Paddle engine; 0 turns it off (about 5x slower)")
    readers: int = _setting(2, "Documents `dejiru run` reads at the same time")
    review_all: bool = _setting(False, "1: send every document to review, even when all is sure and valid")
    audit_share: float = _setting(
        DEFAULT_AUDIT_SHARE,
        "Share (0 to 1) of straight-through documents keyed blind to measure the silent-error rate; 0: off",
    )
    max_file_mb: int = _setting(200, "Largest file taken from the inbox, in MB")
    max_pages: int = _setting(50, "Most pages one file may have")
    max_megapixels: int = _setting(120, "Largest page in megapixels, checked before decoding")

    # --- intake and keying ----------------------------------------------------------------------
    watch_mode: Literal["events", "poll"] = _setting(
        "events", "`events` (local disks) or `poll` (network shares, where file events do not arrive)"
    )
    watch_settle: float = _setting(2.0, "Seconds a file's size must stay the same before it is taken")
    read_lease_minutes: int = _setting(
        15,
        "Minutes a reader may hold a document or a submitted file before it counts as dead and another takes it",
        ge=1,
        le=24 * 60,
    )
    keying_retry_delays: Annotated[tuple[float, ...], NoDecode] = _setting(
        (2.0, 8.0, 30.0), "Seconds between keying attempts after a transient failure"
    )
    chromium: Path | None = _setting(None, "Chromium binary for the bots", shown="`/usr/bin/chromium`")

    # --- the console ----------------------------------------------------------------------------
    progress: Literal["auto", "lines", "off"] = _setting(
        "auto",
        "Progress of long commands on standard error: `auto` (a bar on a terminal, a plain line every few"
        " seconds elsewhere), `lines` (always plain lines), `off`",
    )

    # --- tests, demos, set-up -------------------------------------------------------------------
    today: dt.date | None = _setting(
        None,
        "Pin the calendar day dates are checked against and samples are dated (demos, benchmarks, tests)",
        shown="the real day in Japan",
    )
    demo_history: bool = _setting(
        True,
        "`dejiru run` on the demo: weeks of made-up applications for the KPI page, seeded once into an"
        " empty store (`dejiru demo-history`); 0: never",
    )
    failpoint: str | None = _setting(
        None, "Crash tests only: kill the process at this point (`core/failpoints.py`)"
    )
    setup_bench: bool = _setting(
        False, "1: `scripts/setup.sh` and `dejiru doctor` include the bench-only fonts (`make bench`)"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment only (and keyword arguments, for tests): no ``.env`` file is ever read,
        so what ``dejiru doctor`` shows is all there is."""
        return init_settings, env_settings

    @field_validator("home", "inbox")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        """Absolute at start-up, so a later ``chdir`` (a library, a test) cannot move the data."""
        return path.resolve()

    @field_validator("audit_share", mode="before")
    @classmethod
    def _share(cls, value: Any) -> Any:
        """NaN and infinity parse as floats; neither is a share."""
        try:
            share = float(value)
        except (TypeError, ValueError):
            share = float("nan")
        if not 0.0 <= share <= 1.0:
            raise ValueError("must be a number from 0 to 1 (e.g. 0.02)")
        return share

    @field_validator("keying_retry_delays", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``1,2,4`` in the environment, the form the docs have always shown."""
        if isinstance(value, str):
            return tuple(float(x) for x in value.split(",") if x.strip())
        return value

    @field_validator("today", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        """Exactly what ``core.clock`` accepts (pydantic alone would also take a Unix timestamp)."""
        if isinstance(value, str):
            return dt.date.fromisoformat(value.strip()) if value.strip() else None
        return value

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

    def exchange(self, system: str) -> Path:
        """Where import files for ``system`` go and its importer answers (bots.files)."""
        return (self.exchange_dir or self.home / "exchange") / system

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

    @property
    def api_tokens_file(self) -> Path:
        """Hashes of the tokens online services post their exports with (``dejiru online token``)."""
        return self.home / "api_tokens.json"

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
        if self.configured_secret_key is not None:
            return self.configured_secret_key.get_secret_value()
        restrict_umask()
        self.home.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        if not self.secret_file.exists():
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return self.secret_file.read_text().strip()


def env_name(name: str, field: FieldInfo) -> str:
    """The environment variable behind a field."""
    alias = field.validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


def env_names() -> dict[str, str]:
    """Field name → environment variable, in the order of :class:`Settings`."""
    return {name: env_name(name, field) for name, field in Settings.model_fields.items()}


def load_settings() -> Settings:
    """The settings as the environment says now; a bad value raises :class:`SettingsError` naming it.

    Cheap to call where a variable used to be looked up: the object is built again only when a
    ``DEJIRU_*`` variable or the working folder (relative paths) changed since the last call."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX)))
    return _load(env, os.getcwd())


@lru_cache(maxsize=16)
def _load(env: tuple[tuple[str, str], ...], cwd: str) -> Settings:
    """``env`` and ``cwd`` are only the cache's key: pydantic-settings reads the environment itself."""
    try:
        return Settings()
    except ValidationError as exc:
        names = env_names()
        lines = []
        for err in exc.errors():
            if err["type"] == "default_factory_not_called":
                continue  # a default made from another setting, itself the error named
            loc = str(err["loc"][0]) if err["loc"] else ""
            name = names.get(loc, loc)
            why = str(err["msg"]).removeprefix("Value error, ")
            shown = "***" if _is_secret(name) else repr(err.get("input"))
            lines.append(f"環境変数 {name}={shown} は使えません / {name}={shown}: {why}")
        raise SettingsError("\n".join(lines)) from None


@cache
def settings() -> Settings:
    """This process's settings, read once (``settings.cache_clear()`` to read them again)."""
    return load_settings()


# --- documentation and ``dejiru doctor`` ------------------------------------------------------------

#: Parts of a variable's name that make it a secret: ``dejiru doctor`` says only whether it is set.
SECRET_PARTS = frozenset({"SECRET", "KEY", "PASSWORD", "PASS", "AUTH", "TOKEN", "CREDENTIALS"})


def _is_secret(name: str, annotation: Any = None) -> bool:
    return bool(SECRET_PARTS & set(name.split("_"))) or SecretStr in typing.get_args(annotation)


def _type_text(annotation: Any) -> str:
    """A field's type in the words of the README's table."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _type_text(args[0])
    if typing.get_origin(annotation) is Literal:
        return " or ".join(f"`{a}`" for a in args)
    if typing.get_origin(annotation) is tuple:
        return f"{_type_text(args[0])}s, comma-separated"
    words = {
        Path: "path",
        str: "text",
        int: "integer",
        float: "number",
        bool: "`1` or `0`",
        SecretStr: "secret",
        dt.date: "date (`YYYY-MM-DD`)",
    }
    return words.get(annotation, str(annotation))


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _shown_default(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("shown_default"), str):
        return str(extra["shown_default"])
    return "unset" if field.default is None else f"`{_value_text(field.default)}`"


def markdown_table() -> str:
    """The README's settings table, one row per field of :class:`Settings`."""
    rows = ["| variable | type | default | what for |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        cells = [
            f"`{env_name(name, field)}`",
            _type_text(field.annotation),
            _shown_default(field),
            field.description or "",
        ]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def _mask_url(text: str) -> str:
    """A URL's password replaced (a PostgreSQL URL may carry one)."""
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return text
    if not password:
        return text
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def effective(cfg: Settings) -> list[tuple[str, str, bool]]:
    """(variable, value as shown, whether the environment set it) for every setting; secrets show
    only "set"/"not set", and passwords inside URLs are masked."""
    out = []
    for name, field in Settings.model_fields.items():
        env = env_name(name, field)
        value = getattr(cfg, name)
        if _is_secret(env, field.annotation):
            shown = "set" if value else "not set"
        elif value is None:
            default = _shown_default(field)
            shown = "not set" if default == "unset" else f"not set: {default.replace('`', '')}"
        else:
            shown = _mask_url(_value_text(value))
        out.append((env, shown, name in cfg.model_fields_set))
    return out

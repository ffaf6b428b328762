"""Declarative bot mappings: one YAML per target system under ``bots/mappings/``.

A mapping says how to log in, how to tell that the session expired, and per form how to search for
an already keyed record (search-before-create) and how to create one: a list of steps, each one
action on one selector with a value rendered from the record (see :mod:`bots.transforms`).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import TemplateError
from core.settings import load_settings

MAPPINGS_DIR = Path(__file__).parent / "mappings"


ACTIONS = ("fill", "select", "check", "uncheck", "click", "goto", "wait", "python")


class Step(BaseModel):
    """One action on one element. ``frame`` names the frame of a frameset the element is in."""

    model_config = ConfigDict(extra="forbid")

    fill: str | None = None
    select: str | None = None
    check: str | None = None
    uncheck: str | None = None
    click: str | None = None
    goto: str | None = None
    #: Wait until this selector is visible (after a menu click that loads another frame).
    wait: str | None = None
    #: Escape hatch for an odd screen: ``package.module:function`` called as ``function(target, record,
    #: value)`` where target is the Playwright page or frame. Keep such functions in ``bots/custom/``.
    python: str | None = None
    value: str = ""
    #: Name of the frame (``<frame name=...>``) to act in; the top page when absent.
    frame: str | None = None
    #: Skip the step unless this renders to a non-empty value.
    when: str | None = None
    #: For ``click``: accept or dismiss a JavaScript dialog it opens.
    dialog: str | None = None
    #: For ``click``: wait for the page (or frame) that follows.
    navigates: bool = True
    #: For ``click``: this click saves the record; ``dejiru bot check`` stops before it.
    submit: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [a for a in ACTIONS if getattr(self, a)]
        if len(actions) != 1:
            raise ValueError(f"a step needs exactly one of {'/'.join(ACTIONS)}, got {actions or 'none'}")
        if self.python and ":" not in self.python:
            raise ValueError(f"python step {self.python!r} must be 'module:function'")
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a))

    @property
    def selector(self) -> str:
        return str(getattr(self, self.action))


class Login(BaseModel):
    goto: str
    steps: list[Step]
    #: Where a successful login lands, matched against the URL's path only and anchored: ``/main`` is
    #: ``/main`` or ``/main/...``, never ``/login?next=/main`` (a refused password read as success).
    #: A marker without a leading ``/`` may stand anywhere in the path.
    success_url_contains: str

    def landed(self, url: str) -> bool:
        """Whether ``url`` is the page after a successful login."""
        from urllib.parse import urlsplit

        path, mark = urlsplit(url).path, self.success_url_contains
        if mark.startswith("/"):
            return path == mark or path.startswith(mark.rstrip("/") + "/")
        return mark in path


class Receipt(BaseModel):
    """Where a record's receipt number is: the matched element's text (the default), one of its
    attributes (``attr: href``: a system that shows the ID only in a link), or the page's address
    (``url: true``: one that opens the saved record); ``pattern`` keeps what a regular expression
    finds there (its first group, or the whole match). The same receipt whether created or found."""

    model_config = ConfigDict(extra="forbid")

    attr: str | None = None
    url: bool = False
    pattern: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Receipt:
        import re

        if self.attr and self.url:
            raise ValueError("a receipt comes from an attribute or the URL, not both")
        if self.pattern is not None:
            try:
                if re.compile(self.pattern).groups > 1:
                    raise ValueError("a receipt pattern has at most one group")
            except re.error as exc:
                raise ValueError(f"receipt pattern {self.pattern!r}: {exc}") from exc
        return self


class Search(BaseModel):
    """Search-before-create: open the target's search screen for our reference."""

    goto: str | None = None
    steps: list[Step] = Field(default_factory=list)
    #: Frame in which ``found`` / ``not_found`` are shown.
    frame: str | None = None
    #: Selector of an existing record's receipt; it may name ``{reference}`` so that only a row
    #: carrying exactly our reference counts (a target whose search matches part of it).
    found: str
    receipt: Receipt = Field(default_factory=Receipt)
    #: Selector that shows the search ran and found nothing (guards against a changed screen).
    not_found: str


class Create(BaseModel):
    goto: str | None = None
    steps: list[Step]
    #: Frame in which ``success`` / ``rejected`` are shown.
    frame: str | None = None
    #: Selector whose text is the new record's receipt number (or that shows the save worked, with
    #: ``receipt`` saying where the number is).
    success: str
    receipt: Receipt = Field(default_factory=Receipt)
    #: Selector of the system's own validation messages (a business-rule rejection): every match is
    #: reported.
    rejected: str


class Shown(BaseModel):
    """One value the saved record must show: an element's text against a rendered value."""

    model_config = ConfigDict(extra="forbid")

    selector: str
    value: str


class Verify(BaseModel):
    """After the save, open the saved record (``goto`` may name ``{receipt}`` and ``{reference}``)
    and check what it shows: a system that stores a value otherwise than it took it (drops spaces,
    cuts on save) is caught, and the record goes to a person to be put right in the target."""

    model_config = ConfigDict(extra="forbid")

    goto: str
    frame: str | None = None
    shows: list[Shown] = Field(min_length=1)


class Probe(BaseModel):
    """Safe ways for ``dejiru bot check --full`` to try what a dry run cannot: a save with values the
    target refuses (its ``rejected`` selector; nothing may be saved), and the search for a record known
    to be there (its ``found`` selector and receipt)."""

    model_config = ConfigDict(extra="forbid")

    rejected_with: dict[str, Any] = Field(default_factory=dict)
    existing_reference: str | None = None


class FormMapping(BaseModel):
    search: Search
    create: Create
    verify: Verify | None = None
    check: Probe | None = None
    #: A repeated block the system takes as records of their own (a ``groups`` entry of the template:
    #: 資格取得届's insured persons): each filled block is keyed on its own, with its own reference, by
    #: these steps naming block 1's fields. Absent: the whole document is one record.
    each: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str
    title: str
    base_url: str
    base_url_env: str | None = None
    user_env: str = "DEJIRU_LEGACY_USER"
    password_env: str = "DEJIRU_LEGACY_PASSWORD"
    default_user: str | None = None
    default_password: str | None = None
    navigation_timeout_ms: int = 15000
    action_timeout_ms: int = 5000
    #: How long the system may be unreachable (a night batch, a restart, maintenance) before the records
    #: waiting for it go to a person as exceptions. Until then they wait, shown as waiting, and are
    #: tried again on each keying run.
    outage_minutes: int = Field(default=240, ge=0, le=7 * 24 * 60)
    login: Login
    session_expired: str
    forms: dict[str, FormMapping] = Field(default_factory=dict)

    @property
    def url(self) -> str:
        return (os.environ.get(self.base_url_env) if self.base_url_env else None) or self.base_url

    def credentials(self) -> dict[str, str]:
        """Read when logging in: from the variables this mapping names (each target system's mapping
        names its own, so they cannot be fixed fields of ``core.settings``; the demo's are listed
        there), else from the secrets file (``DEJIRU_SECRETS_FILE``: ``{"<system>": {"user": ...,
        "password": ...}}``, readable by its owner only), else the mapping's defaults (the bundled
        demo's made-up account only: a real system's password never belongs in a mapping)."""
        stored = secrets_for(self.system)
        user = os.environ.get(self.user_env) or stored.get("user") or self.default_user
        password = os.environ.get(self.password_env) or stored.get("password") or self.default_password
        if not user or not password:
            raise TemplateError(
                f"{self.title} のログイン情報がありません（{self.user_env} / {self.password_env}、または秘密情報ファイル）",
                f"no credentials for {self.system} (set {self.user_env} and {self.password_env}, or the secrets file)",
            )
        return {"user": user, "password": password}


def secrets_for(system: str) -> dict[str, str]:
    """This system's entry of the secrets file, if there is one. A file other accounts can read (or a
    link) is refused, not used: the passwords in it open the city's business systems."""
    import json
    import stat

    from core.errors import ConfigurationError

    settings = load_settings()
    path = settings.secrets_file or settings.home / "secrets.json"
    try:
        st = path.lstat()
    except FileNotFoundError:
        return {}
    if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
        raise ConfigurationError(
            f"秘密情報ファイル {path} は本人以外も読めるか、通常のファイルではありません（chmod 600 にしてください）",
            f"secrets file {path} is readable by others or not a regular file (chmod 600 it)",
        )
    try:
        entry = json.loads(path.read_text(encoding="utf-8")).get(system) or {}
    except (ValueError, AttributeError) as exc:
        raise ConfigurationError(
            f"秘密情報ファイル {path} が読めません（JSON の形を確かめてください）",
            f"secrets file {path} is not a JSON object of systems",
        ) from exc
    return (
        {k: str(v) for k, v in entry.items() if k in ("user", "password") and v}
        if isinstance(entry, dict)
        else {}
    )


def mapping_path(system: str) -> Path:
    """The city's own mapping (``DEJIRU_MAPPINGS_DIR``) for ``system`` if it has one, else the shipped
    one: the city's folder adds to and overrides the shipped mappings, it does not hide them."""
    own = load_settings().mappings_dir
    if own is not None and (own / f"{system}.yaml").exists():
        return own / f"{system}.yaml"
    return MAPPINGS_DIR / f"{system}.yaml"


def load_mapping(system: str) -> Mapping:
    """The mapping as the file says now: loaded once per version of the file, so an edit (a new form, a
    fixed selector) reaches a running ``dejiru run`` without a restart."""
    path = mapping_path(system)
    if not path.exists():
        raise TemplateError(
            f"対象システム {system} のボット定義がありません",
            f"no bot mapping for {system}",
            detail=str(path),
        )
    return _load_mapping(path, path.stat().st_mtime_ns)


@cache
def _load_mapping(path: Path, mtime_ns: int) -> Mapping:
    try:
        return Mapping.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise TemplateError(
            f"ボット定義 {path.name} に誤りがあります", f"bot mapping {path.name} is invalid", detail=str(exc)
        ) from exc

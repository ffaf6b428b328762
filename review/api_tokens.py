"""Tokens for machines: an online application service posts its exports to the review server with one
(``Authorization: Bearer …``); people log in, machines do not.

Only an HMAC of each token (under the installation's secret key) is kept, in ``DEJIRU_HOME`` (mode
600): a copy of the file gives nobody a token. A token is shown once, when made
(``dejiru online token add NAME``), and can be revoked by name. Checking compares against every kept
hash in constant time, so neither timing nor the answer tells how close a guess came.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path

from core import clock
from core.errors import ConfigurationError
from core.settings import Settings

#: A token's name: who holds it (``denshi-shinsei``), shown in the audit trail.
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
PREFIX = "djo_"


def _digest(cfg: Settings, token: str) -> str:
    key = hmac.new(cfg.secret_key().encode(), b"dejiru.api-token.v1", hashlib.sha256).digest()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _load(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"APIトークンのファイル {path} が読めません",
            f"the API token file {path} cannot be read",
            detail=str(exc)[:200],
        ) from exc
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _save(path: Path, tokens: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(tokens, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def add(cfg: Settings, name: str) -> str:
    """A new token for ``name`` (replacing its old one): returned once, never stored."""
    if not NAME.fullmatch(name):
        raise ConfigurationError(
            "トークンの名前は英小文字・数字・._- で40文字までにしてください",
            "a token name is lower-case letters, digits and . _ - (40 at most)",
            detail=name[:60],
        )
    token = PREFIX + secrets.token_urlsafe(32)
    tokens = _load(cfg.api_tokens_file)
    tokens[name] = {"hash": _digest(cfg, token), "created": clock.now().isoformat(timespec="seconds")}
    _save(cfg.api_tokens_file, tokens)
    return token


def revoke(cfg: Settings, name: str) -> bool:
    tokens = _load(cfg.api_tokens_file)
    if tokens.pop(name, None) is None:
        return False
    _save(cfg.api_tokens_file, tokens)
    return True


def names(cfg: Settings) -> list[tuple[str, str]]:
    return sorted((n, t.get("created", "")) for n, t in _load(cfg.api_tokens_file).items())


def holder(cfg: Settings, token: str) -> str | None:
    """The name the token was made for, or None (every kept hash compared, in constant time)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    digest = _digest(cfg, token)
    found = None
    for name, t in _load(cfg.api_tokens_file).items():
        if hmac.compare_digest(digest, str(t.get("hash", ""))):
            found = name
    return found

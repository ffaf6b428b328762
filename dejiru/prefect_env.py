"""Prefect settings for running offline and for keeping its API closed, set before Prefect is first imported.

Analytics would try to reach the internet; the ephemeral server's 20 s start-up default was hit on
a cold machine; each installation (and each test run) keeps its own ``PREFECT_HOME``.

Prefect's API has no accounts: by default anyone who reaches its port may start any flow with any
parameters, and it answers cross-origin requests from every web page (CORS ``*``). Its one lock is a
shared secret, the *auth string* (HTTP basic auth): ``PREFECT_SERVER_API_AUTH_STRING`` on the server,
``PREFECT_API_AUTH_STRING`` on every client, worker and watcher. The functions below decide when a
server may start, and with which environment.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import UnsafePrefectServer

#: What clients, workers and watchers send (the same secret as the server's).
CLIENT_AUTH = "PREFECT_API_AUTH_STRING"
#: What the server requires of every API call except ``GET /api/health``.
SERVER_AUTH = "PREFECT_SERVER_API_AUTH_STRING"
CORS = "PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS"
#: An auth string shorter than this is refused off loopback: it is the only thing between the network
#: and starting flows, and the server does not slow down guessing.
MIN_AUTH_LENGTH = 16


def offline_defaults() -> None:
    """No analytics, no promotional content, a patient ephemeral start: for every Prefect process."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def configure(home: Path) -> None:
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    offline_defaults()
    masked_logging(Path(os.environ["PREFECT_HOME"]))


#: Prefect loggers whose records carry what flows and tasks say (shown at INFO: the flows say little,
#: and never a value).
FLOW_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


def masked_logging(prefect_home: Path) -> Path:
    """Prefect's own logging configuration with the personal-data mask on every handler (its API
    handler ships flow and task logs, tracebacks included, to Prefect's database) and the flows' INFO
    lines shown; written under ``PREFECT_HOME`` and named by ``PREFECT_LOGGING_SETTINGS_PATH``
    unless one is set already. Built from the installed Prefect's file, so a new Prefect keeps its
    own handlers; read as text, since Prefect must not be imported before its settings are."""
    import importlib.util

    import yaml

    spec = importlib.util.find_spec("prefect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("prefect is not installed")
    default = Path(next(iter(spec.submodule_search_locations))) / "logging" / "logging.yml"
    config = yaml.safe_load(default.read_text(encoding="utf-8"))
    config.setdefault("filters", {})["personal_data"] = {"()": "core.logs.MaskFilter"}
    for handler in config.get("handlers", {}).values():
        handler["filters"] = [*handler.get("filters", []), "personal_data"]
    for name in FLOW_LOGGERS:
        config.setdefault("loggers", {}).setdefault(name, {})["level"] = "INFO"
    standard = config.get("formatters", {}).get("standard", {})
    if standard.get("()") == "prefect.logging.formatters.PrefectFormatter":
        standard["()"] = "dejiru.prefect_logging.ClerkPrefectFormatter"  # a worker's console
    out = prefect_home / "logging.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(out))
    return out


def new_auth_string() -> str:
    """A fresh ``user:password`` (what Prefect's UI login asks for), 32 random URL-safe characters."""
    return f"dejiru:{secrets.token_urlsafe(24)}"


def is_loopback(host: str) -> bool:
    """True only for addresses that no other machine can reach; any name but ``localhost`` counts as
    reachable (it may resolve to a network address), so the check fails closed."""
    bare = host.strip().strip("[]").lower()
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def url_for(host: str, port: int) -> str:
    """``http://host:port`` for a listening address; a wildcard address becomes this machine's name."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def origin(url: str) -> str:
    """The browser origin (scheme, host, port) of a URL: what a CORS allow-list holds."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def use_auth(auth: str, cors_origins: str = "") -> None:
    """Make this process and its children speak to, and serve, a Prefect API locked with ``auth``.

    Clients (flows, the events client, ``prefect`` commands run from here) send it; any Prefect server
    started from here, Prefect's own ephemeral one included, requires it and allows cross-origin calls
    only from ``cors_origins`` (by default none: no browser page may call it from elsewhere).
    """
    os.environ[CLIENT_AUTH] = auth
    os.environ[SERVER_AUTH] = auth
    os.environ[CORS] = cors_origins
    _refresh_prefect_settings()


def _refresh_prefect_settings() -> None:
    # Prefect reads the environment into a global settings context when it is first imported; if it was
    # imported already, make it read again so that the auth string is not silently missing.
    context = sys.modules.get("prefect.context")
    if context is not None:
        context.refresh_global_settings_context()


def server_auth() -> str | None:
    """The auth string a server started from here will require: the server's variable, else the
    clients' one (one secret in one environment file serves both on the server machine)."""
    return os.environ.get(SERVER_AUTH) or os.environ.get(CLIENT_AUTH) or None


def check_exposure(host: str, auth: str | None) -> None:
    """Refuse to serve the API beyond loopback without an auth string, or with a short one."""
    if is_loopback(host):
        return
    if not auth:
        raise UnsafePrefectServer(
            f"認証文字列なしで Prefect API を {host} で公開することはできません。"
            f"{CLIENT_AUTH}（例: dejiru:長いランダムな文字列）を環境変数に設定してください"
            "（権限 600 の環境ファイルに置き、全ワーカーと監視にも同じ値を設定）。"
            "このPCだけで使うなら --host 127.0.0.1 にしてください。",
            f"refusing to serve the Prefect API on {host} without an auth string: anyone on the network"
            f" could start flows. Set {CLIENT_AUTH} (e.g. dejiru:<long random string>) in the"
            " environment (kept in a mode-600 environment file; every worker and watcher sets the same"
            " value), or listen on --host 127.0.0.1 only.",
        )
    if len(auth) < MIN_AUTH_LENGTH:
        raise UnsafePrefectServer(
            f"認証文字列が短すぎます（{len(auth)} 文字）。{MIN_AUTH_LENGTH} 文字以上にしてください。",
            f"the auth string is too short ({len(auth)} characters): use at least {MIN_AUTH_LENGTH}.",
        )


def server_env(public_url: str, auth: str | None) -> dict[str, str]:
    """The environment for ``prefect server start`` besides the caller's: the auth string for server
    and its own clients, CORS limited to the server's own origin (where its UI is served from) and the
    UI pointed at the API by that same address (Prefect's default is port 4200, whatever ``--port``).

    The UI's address goes under both of Prefect's names: Prefect 3 reads ``PREFECT_SERVER_UI_API_URL``
    before the older ``PREFECT_UI_API_URL``, so one left in the environment (a profile exported, an
    older setup's file) would otherwise win and send the UI to port 4200 ("Can't connect to Server
    API"); likewise the promotional content, which only the new name turns off."""
    ui_api = f"{public_url.rstrip('/')}/api"
    env = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "DO_NOT_TRACK": "1",
        CORS: origin(public_url),
        "PREFECT_SERVER_UI_API_URL": ui_api,
        "PREFECT_UI_API_URL": ui_api,
    }
    if auth:
        env[SERVER_AUTH] = auth
        env[CLIENT_AUTH] = auth
    return env


def public_url_for(host: str, port: int) -> str:
    """Where browsers and workers reach a server listening on ``host``: that address itself, or for a
    wildcard address ``PREFECT_API_URL`` less ``/api`` (set on every machine), else this machine's name."""
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if host in ("0.0.0.0", "::", "") and api.endswith("/api"):
        return api.removesuffix("/api")
    return url_for(host, port)


def server_command(host: str, port: int, public_url: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and full environment for ``prefect server start`` on ``host:port``, locked with
    the auth string from the environment; raises `UnsafePrefectServer` rather than open the API."""
    auth = server_auth()
    check_exposure(host, auth)
    url = (public_url or public_url_for(host, port)).rstrip("/")
    exe = Path(sys.executable).with_name("prefect")
    argv = [str(exe), "server", "start", "--host", host, "--port", str(port)]
    return argv, os.environ | server_env(url, auth)

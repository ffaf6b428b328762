"""Launching Debian's Chromium for Playwright (never ``playwright install``: nothing is downloaded).

The flags keep Chromium from reaching for the network on its own (updates, sync, QUIC probes), which
on this offline network would only fail, and let it run as root in a container.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.errors import KeyingError
from core.settings import load_settings

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """The Chromium binary: ``DEJIRU_CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    configured = load_settings().chromium
    candidates = [str(configured or ""), "/usr/bin/chromium", shutil.which("chromium") or ""]
    for c in candidates:
        if c and Path(c).exists():
            return c
    raise KeyingError(
        "Chromium が見つかりません。`make setup` を実行してください（Debian パッケージ chromium）",
        "Chromium not found: run `make setup` (Debian package chromium)",
    )


def launch_kwargs(headless: bool = True) -> dict[str, object]:
    return {"executable_path": chromium_path(), "headless": headless, "args": CHROMIUM_ARGS}

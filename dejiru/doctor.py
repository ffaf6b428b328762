"""Checks that an installation can work offline: models load, fonts and Chromium are there.

Run by ``make setup`` and ``dejiru doctor``; prints the settings in effect (a wrong ``DEJIRU_*`` is the
first thing to rule out when something fails), then one line per check, and exits non-zero with the
fix if one fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial


def _kanjivg() -> str:
    from core.errors import TemplateError
    from synth.strokes import kanjivg_dir

    root = kanjivg_dir()
    if root is None:
        raise TemplateError(
            "KanjiVG の筆順データがありません。`make setup` を実行してください",
            "KanjiVG stroke data missing: run `make setup` (PyPI package kanjivg)",
        )
    return f"{sum(1 for _ in root.glob('*.svg'))} characters in {root}"


def settings_report() -> tuple[bool, list[str]]:
    """The value of every setting as this process sees it, secrets only as "set"/"not set"; or why
    the settings cannot be used (the checks below read them, so none of those runs then)."""
    from core.settings import SettingsError, effective, load_settings

    try:
        cfg = load_settings()
    except SettingsError as err:
        return False, [f"  FAIL settings: {line}" for line in str(err).splitlines()]
    lines = ["  settings (設定; * set in the environment):"]
    for env, shown, from_env in effective(cfg):
        lines.append(f"    {'*' if from_env else ' '} {env:<28} {shown}")
    return True, lines


def main() -> int:
    ok, lines = settings_report()
    print("\n".join(lines))
    if not ok:
        return 1  # before importing anything that reads a setting on import (``ocr.pages``)
    from bots.browser import chromium_path
    from core.errors import DejiruError
    from core.settings import load_settings
    from formkit.fonts import FONTS, font_path
    from ocr.engines import engine_names, get_recognizer

    checks: list[tuple[str, Callable[[], str]]] = []
    bench = load_settings().setup_bench
    for name, info in FONTS.items():
        if info.bench_only and not bench:
            continue  # HOLDOUT fonts: installed and checked by `make bench` only
        checks.append((f"font {name}", partial(lambda n: str(font_path(n)), name)))
    checks.append(("KanjiVG stroke data (sample handwriting)", _kanjivg))
    checks.append(("chromium", chromium_path))
    for eng in engine_names():
        checks.append(
            (f"OCR engine {eng}", partial(lambda e: f"{len(get_recognizer(e).classes)} classes", eng))
        )
    from ocr.engines.provenance import verify

    for model, good in verify():
        if not good:
            ok = False
        print(
            f"  {'ok  ' if good else 'FAIL'} model {model.package}/{model.path}: sha256 {model.sha256[:16]}…"
        )
    for label, fn in checks:
        try:
            print(f"  ok   {label}: {fn()}")
        except DejiruError as err:
            ok = False
            print(f"  FAIL {label}: {err}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

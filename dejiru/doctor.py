"""Checks that an installation can work offline: models load, fonts and Chromium are there.

Run by ``make setup``; prints one line per check and exits non-zero with the fix if one fails.
"""

from __future__ import annotations

import os
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


def main() -> int:
    from bots.browser import chromium_path
    from core.errors import DejiruError
    from formkit.fonts import FONTS, font_path
    from ocr.engines import engine_names, get_recognizer

    ok = True
    checks: list[tuple[str, Callable[[], str]]] = []
    bench = os.environ.get("DEJIRU_SETUP_BENCH") == "1"
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

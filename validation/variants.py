"""異体字 in names: groups of kanji that are different characters but look alike (on paper and to OCR).

A person's name is written the way their family registry writes it; 渡邉 is not 渡辺. Nothing here is
used to "correct" a name: a reading that may have confused two of these goes to a person.
"""

from __future__ import annotations

GROUPS = [
    "辺邉邊",
    "高髙",
    "崎﨑嵜",
    "斎齋齊斉",
    "沢澤",
    "浜濱",
    "島嶋嶌",
    "桜櫻",
    "広廣",
    "国國",
    "竜龍",
    "徳德",
    "瀬瀨",
    "恵惠",
    "曽曾",
    "富冨",
    "槙槇",
    "柳栁",
    "条條",
    "当當",
    "万萬",
    "実實",
    "真眞",
    "淵渕",
    "蔵藏",
    "関關",
    "栄榮",
    "峰峯",
    "穂穗",
    "亀龜",
    "鉄鐵",
    "豊豐",
    "礼禮",
    "伝傳",
    "桧檜",
    "杉椙",
    "野埜",
    "館舘",
    "来來",
    "学學",
    "緑綠",
    "黒黑",
    "郎郞",
    "恒恆",
    "壮壯",
]

#: Each character → the characters it may be mistaken for.
VARIANTS: dict[str, str] = {}
for _group in GROUPS:
    for _ch in dict.fromkeys(_group):
        VARIANTS[_ch] = "".join(c for c in dict.fromkeys(_group) if c != _ch)
VARIANTS = {k: v for k, v in VARIANTS.items() if v}

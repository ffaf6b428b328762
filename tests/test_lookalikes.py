"""Look-alike characters across scripts and sizes (validation.lookalikes): pure, fast."""

from __future__ import annotations

import pytest

from validation.lookalikes import doubts, merged_watch, rival_table


@pytest.mark.parametrize(
    ("text", "name", "doubt"),
    [
        ("大森\u3000卜", True, "卜/ト"),  # a given name written as one kanji that stands for katakana
        ("河合\u3000十才三", True, "十才三/ナオミ"),
        ("八ナ", False, "八/ハ"),  # a kanji inside a katakana word
        ("ラ一メン", False, "一/ー"),
        ("山ロ", False, "ロ/口"),  # a lone katakana between kanji
        ("第ニ", False, "ニ/二"),
        ("みどリ", False, "リ/り"),  # katakana inside hiragana
        ("セイィチ", True, "ィ/イ"),  # a small kana no syllable has
        ("ョシコ", True, "ョ/ヨ"),  # a word does not start with a small kana
        ("ハッ", False, "ッ/ツ"),  # a small ッ needs something after it
        ("ミッ", True, "ッ/ツ"),
    ],
)
def test_readings_japanese_does_not_write_are_doubted(text: str, name: bool, doubt: str) -> None:
    assert doubt in doubts(text, name=name)


@pytest.mark.parametrize(
    "text",
    [
        "ジョージ",
        "キョウコ",
        "サッポロ",
        "フクシマ\u3000セイイチ",
        "ウィリアム",
        "シェリー",
        "ティナ",
        "イェン",
        "霞ケ関",
        "有限会社みどり商店",
        "東京都練馬区旭丘4-35-24",
        "山口\u3000太郎",
        "工藤\u3000優子",
        "埼玉県熊谷市八ッ口123",  # place names keep their kana between kanji
        "四ツ谷",
        "竹ノ塚",
    ],
)
def test_ordinary_writing_is_not_doubted(text: str) -> None:
    assert doubts(text, name=True) == []


def test_a_rival_with_weight_is_a_doubt_and_a_faint_one_is_not() -> None:
    assert doubts("ウエノ", [("エ", "ェ", 0.3)]) == ["エ/ェ"]
    assert doubts("ウエノ", [("エ", "ェ", 0.001)]) == []
    # Only look-alike pairs count here: variant kanji are validation.variants' business.
    assert doubts("高木", [("高", "髙", 0.5)]) == []
    assert doubts("エミリ", [("エ", "工", 0.5)]) == []


def test_the_watch_tables_go_both_ways_and_merge() -> None:
    t = rival_table()
    assert "ッ" in t["ツ"] and "ツ" in t["ッ"]
    assert "ヅ" in t["ツ"] and "ツ" in t["ヅ"]
    assert "卜" not in t.get("ト", "")  # katakana and kanji look-alikes: only the context counts
    merged = merged_watch({"高": "髙"}, t)
    assert merged["高"] == "髙" and merged["ツ"] == t["ツ"]

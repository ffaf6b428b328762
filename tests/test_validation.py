"""Normalisers and checks: pure functions, each failure with a Japanese and an English reason."""

import datetime as dt

import pytest

from formkit.model import FieldType
from validation import normalize
from validation.checks import (
    check_kana,
    check_phone,
    check_postal,
    mask_mynumber,
    mynumber_valid,
    postal_matches_address,
)
from validation.routing import check_values


def test_normalizers() -> None:
    assert normalize.name("山田 太郎") == "山田　太郎"
    assert normalize.katakana("ﾔﾏﾀﾞ ﾀﾛｳ") == "ヤマダ　タロウ"
    assert normalize.katakana("やまだ") == "ヤマダ"
    assert normalize.katakana("サト一") == "サトー"
    assert normalize.phone("０４２（５６１）１２３４") == "042-561-1234"
    assert normalize.phone("090ー1234ー5678") == "090-1234-5678"
    assert normalize.postal("〒2070015") == "207-0015"
    assert normalize.address("東京都東大和市中央３ー２ー１") == "東京都東大和市中央3-2-1"


def test_postal_code_exists_and_matches_address() -> None:
    assert check_postal("207-0015") == []
    assert check_postal("207-9999")[0].code == "postal_unknown"
    assert check_postal("20715")[0].code == "postal_format"
    assert postal_matches_address("207-0015", "東京都東大和市中央3-2-1") == []
    bad = postal_matches_address("207-0015", "東京都立川市曙町1-1-1")
    assert bad and "東大和市中央" in bad[0].ja and bad[0].en


@pytest.mark.parametrize(
    "good", ["042-561-1234", "03-1234-5678", "090-1234-5678", "0120-123-456", "0422-12-3456"]
)
def test_phone_good(good: str) -> None:
    assert check_phone(good) == []


@pytest.mark.parametrize("bad", ["042-561-123", "12-3456-7890", "090-123-45678", "abc"])
def test_phone_bad(bad: str) -> None:
    assert check_phone(bad)[0].code == "phone_format"


def test_kana_and_name_variants() -> None:
    assert check_kana("ヤマダ　タロウ") == []
    assert check_kana("ヤマダ太郎")[0].code == "kana_chars"


def test_mynumber_check_digit_and_mask() -> None:
    # Check digits computed from the formula in the enforcement order (施行令第8条).
    assert mynumber_valid("123456789018")
    assert not mynumber_valid("123456789012")
    assert mask_mynumber("1234 5678 9018") == "********9018"


def test_template_rules(tpl) -> None:
    good = {
        "request_date": "2026-11-20",
        "kana": "ヤマダ　タロウ",
        "name": "山田　太郎",
        "birth_date": "1980-01-02",
        "postal_code": "207-0015",
        "address": "東京都東大和市中央3-2-1",
        "phone": "042-561-1234",
        "visitor": "self",
        "copies": 1,
        "scope": "all",
        "honseki": "no",
        "relation": "no",
        "purpose": ["employment"],
        "purpose_other": None,
        "signature": True,
    }
    today = dt.date(2026, 11, 24)
    assert all(v == [] for v in check_values(tpl, good, today).values())
    bad = good | {
        "copies": 11,
        "birth_date": "2026-11-21",
        "purpose": ["other"],
        "visitor": None,
        "request_date": "2027-01-01",
    }
    found = {k: [r.code for r in v] for k, v in check_values(tpl, bad, today).items()}
    assert found["copies"] == ["out_of_range"]
    assert found["birth_date"] == []  # before request_date (which is wrong itself)
    assert found["request_date"] == ["date_future"]
    assert found["purpose_other"] == ["required_if"]
    assert found["visitor"] == ["required"]
    later = good | {"birth_date": "2026-11-21"}
    assert [r.code for r in check_values(tpl, later, today)["birth_date"]] == ["date_order"]


def test_types_are_known() -> None:
    assert FieldType("kana") is FieldType.KANA


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("東京都東大和市中央三丁目2番1号", "東京都東大和市中央3-2-1"),
        ("東大和市中央３ー２ー１", "東大和市中央3-2-1"),
        ("芋窪1234番地の5", "芋窪1234-5"),
        ("二丁目十番三号", "2-10-3"),
        ("東京都立川市一番町5-8-8", "東京都立川市一番町5-8-8"),  # a town name keeps its numeral
        ("港区麻布十番1-2-3", "港区麻布十番1-2-3"),
        ("千代田区一番町3番地の二", "千代田区一番町3-2"),
    ],
)
def test_address_spellings(written: str, normal: str) -> None:
    assert normalize.address(written) == normal


def test_prefecture_completion() -> None:
    from validation.address import complete_prefecture

    assert complete_prefecture("東大和市中央3-2-1") == "東京都東大和市中央3-2-1"
    assert complete_prefecture("立川市曙町1-1-1", "190-0012") == "東京都立川市曙町1-1-1"
    # 府中市 is in Tokyo and in Hiroshima: its town decides when only one of them has it (宮町), and
    # nothing is added when both have it (府中町).
    assert complete_prefecture("府中市宮町1-1") == "東京都府中市宮町1-1"
    assert complete_prefecture("府中市府中町1-1") == "府中市府中町1-1"
    assert complete_prefecture("大阪府大阪市北区1-1") == "大阪府大阪市北区1-1"


def test_hiragana_normalizer() -> None:
    assert normalize.hiragana("ヤマダ ﾀﾛｳ") == "やまだ　たろう"


def test_sensitive_values_are_masked_outside_the_review_form() -> None:
    from formkit.model import FieldType
    from formkit.readings import FieldReading, PageReading
    from formkit.registry import load_template
    from validation.checks import masked_reading

    tpl = load_template("hihokensha_shikaku_shutoku")
    number = FieldReading(
        "individual_number", FieldType.DIGITS, "123456789018", "123456789018", 0.99, (0, 0, 1, 1)
    )
    name = FieldReading("name", FieldType.NAME, "山田　太郎", "山田太郎", 0.99, (0, 0, 1, 1))
    reading = PageReading(tpl.id, tpl.version, {"individual_number": number, "name": name})
    out = masked_reading(tpl, reading)
    assert out.fields["individual_number"].value == "********9018"
    assert "1234" not in out.fields["individual_number"].raw
    assert out.fields["name"].value == "山田　太郎"
    assert reading.fields["individual_number"].value == "123456789018"  # the original is untouched

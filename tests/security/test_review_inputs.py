"""Whatever a reviewer types or posts into the review screen's fields — a malformed 和暦, a
5,000-digit year, a digit of another script, 元 for a month, a 個人番号 with letters, a NUL — comes
back as a reason under that field (HTTP 422) with the entry kept and the other fields' edits saved,
never a 500 that loses the work, and never a value stored that the checks would wrongly pass.

One real review server on one real 資格取得届 (dates, amounts, 個人番号) for the module; every
attack is posted over HTTP as the browser posts the form."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest

from records.models import DocStatus
from tests.security.conftest import Client, Site, form_data, start_site

pytestmark = pytest.mark.slow
FORM = "hihokensha_shikaku_shutoku"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from start_site(tmp_path_factory.mktemp("inputs") / "home", review_all=True)


@pytest.fixture(scope="module")
def doc_id(site: Site) -> int:
    doc_id, _ = site.scan(FORM, 7, "資格取得届.jpg")
    assert site.ctx.store.document(doc_id).status == DocStatus.REVIEW
    return doc_id


def post(c: Client, doc_id: int, fields: dict[str, str], action: str = "save") -> Any:
    """Save the review form as the browser would, with ``fields`` typed over what the page shows."""
    page = c.get(f"/documents/{doc_id}").text
    return c.post(f"/documents/{doc_id}/save", data=form_data(page) | {"action": action} | fields)


def field_error(page: str, name: str) -> str:
    """The reason shown under one field (its input-error line), unescaped."""
    found = re.search(rf'id="error-{name}">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def typed_value(page: str, name: str) -> str:
    found = re.search(rf'name="f_{name}" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else ""


@pytest.mark.parametrize("typed", ["令和十十年1月1日", "令和二三十年四月一日"])
def test_malformed_kanji_years(site: Site, doc_id: int, typed: str) -> None:
    """A 和暦 year of repeated or misplaced kanji numerals (十十, 二三十) crashed the save (KeyError → 500)."""
    phone = "042-555-0101" if "十十" in typed else "042-555-0202"
    with site.client("hanako") as c:
        r = post(c, doc_id, {"f_acquired_on": typed, "f_office_phone": phone})
        assert r.status_code == 422
        assert "数字が読めません" in field_error(r.text, "acquired_on")
        assert typed_value(r.text, "acquired_on") == typed  # kept as typed, to correct, not retype
    values = site.ctx.store.values(doc_id)
    assert values["office_phone"] == phone  # the other field's edit was saved
    assert values["acquired_on"] != typed


def test_a_five_thousand_digit_year(site: Site, doc_id: int) -> None:
    """A 5,000-digit year overflowed int() and datetime (ValueError → 500)."""
    with site.client("hanako") as c:
        for typed in ["令和" + "9" * 5000 + "年1月1日", "9" * 5000 + "-01-01"]:
            r = post(c, doc_id, {"f_birth_date": typed})
            assert r.status_code == 422 and "長すぎます" in field_error(r.text, "birth_date")


def test_an_amount_in_ethiopic_digits(site: Site, doc_id: int) -> None:
    """An amount typed as ፩, which str.isdigit() accepts and int() refuses (ValueError → 500)."""
    with site.client("hanako") as c:
        for typed in ["፩", "٣٠٠٠٠٠", "1" * 5000]:
            r = post(c, doc_id, {"f_salary_cash": typed, "f_salary_kind": "0"})
            assert r.status_code == 422 and field_error(r.text, "salary_cash"), typed
    assert site.ctx.store.values(doc_id)["salary_kind"] == 0


def test_gannen_as_a_month_or_a_day(site: Site, doc_id: int) -> None:
    """元 accepted as a month or a day (令和2年元月元日 stored as 2020-01-01): only 元年 exists."""
    with site.client("hanako") as c:
        for typed in ["令和2年元月1日", "令和2年1月元日"]:
            r = post(c, doc_id, {"f_acquired_on": typed})
            assert r.status_code == 422 and "年にだけ" in field_error(r.text, "acquired_on")
        r = post(c, doc_id, {"f_acquired_on": "令和元年5月1日"})
        assert r.status_code == 200 and site.ctx.store.values(doc_id)["acquired_on"] == "2019-05-01"


def test_a_mynumber_with_letters_or_separators(site: Site, doc_id: int) -> None:
    """A 個人番号 typed with letters or separators passed the check digit (digits_only ignored the rest)."""
    before = site.ctx.store.values(doc_id)["individual_number"]
    with site.client("hanako") as c:
        for typed in ["1234-5678-9018", "12345678901a", "1234 5678 9018"]:
            r = post(c, doc_id, {"f_individual_number": typed}, action="approve")
            assert r.status_code == 422 and "数字だけ" in field_error(r.text, "individual_number")
            assert typed not in r.text  # shown back masked, like every 個人番号
    assert site.ctx.store.values(doc_id)["individual_number"] == before
    assert site.ctx.store.document(doc_id).status == DocStatus.REVIEW  # not approved


def test_control_and_invisible_characters(site: Site, doc_id: int) -> None:
    """A NUL (PostgreSQL refuses it: 500) or a zero-width space in a name, stored and keyed unseen."""
    with site.client("hanako") as c:
        for typed in ["山田\x00太郎", "山田\u200b太郎", "山田\u202e郎太"]:
            r = post(c, doc_id, {"f_name": typed})
            assert r.status_code == 422 and "見えない文字" in field_error(r.text, "name")


def test_a_forged_option(site: Site, doc_id: int) -> None:
    """A forged post choosing an option the form does not have, stored and sent to the target system."""
    with site.client("hanako") as c:
        r = post(c, doc_id, {"f_insured_type": "<b>99</b>"})
        assert r.status_code == 422 and "選択肢にない" in field_error(r.text, "insured_type")


def test_an_unreadable_entry_blocks_approval_until_fixed(site: Site, doc_id: int) -> None:
    """Approve with an entry that cannot be read: the old value keyed as if the correction had been taken."""
    with site.client("hanako") as c:
        r = post(c, doc_id, {"f_salary_cash": "十二万"}, action="approve")
        assert r.status_code == 422
        assert site.ctx.store.document(doc_id).status == DocStatus.REVIEW
        reasons = next(f.reasons for f in site.ctx.store.fields(doc_id) if f.name == "salary_cash")
        assert "input_invalid" in reasons  # stored: opening the page again still says so


def test_blind_check_entries_that_cannot_be_read(tmp_path) -> None:
    """A ダブルチェック entry of letters counted as a difference and sent the document back to review."""
    for s in start_site(tmp_path / "home", review_all=False):
        doc_id, truth = s.confident_scan("inkan_request", "印鑑.jpg")
        assert s.ctx.store.document(doc_id).status == DocStatus.DOUBLE_CHECK
        with s.client("hanako") as c:
            page = c.get(f"/documents/{doc_id}").text
            r = c.post(
                f"/documents/{doc_id}/double-check",
                data=form_data(page, "double") | {"f_card_number": "12ab-34"},
            )
            assert r.status_code == 422 and "数字だけ" in field_error(r.text, "card_number")
            assert s.ctx.store.document(doc_id).status == DocStatus.DOUBLE_CHECK  # nothing compared
            number = truth["fields"]["card_number"]
            r = c.post(
                f"/documents/{doc_id}/double-check",
                data=form_data(r.text, "double") | {"f_card_number": number},
            )
            assert r.status_code == 303
        assert s.ctx.store.document(doc_id).status == DocStatus.APPROVED

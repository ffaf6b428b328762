"""Online applications: an online service's export (CSV or JSON, UTF-8 with or without BOM, cp932)
read into the same values a scan's reading gives, each row on its own: a bad row is refused with its
reason, the good rows are not held back; a file that cannot be read is refused whole."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from core.errors import TemplateError
from form_templates import TEMPLATES_DIR
from formkit.registry import load_template
from intake.online import ExportRefused, applications, parse_mapping

FORM = "juminhyo_request"
GOOD = {
    "申請番号": "E2026-000123",
    "受付日時": "2026-11-20T09:12:00+09:00",
    "申請日": "令和8年11月20日",
    "フリガナ": "ヤマダ　ハナコ",
    "氏名": "山田　花子",
    "生年月日": "1985/04/02",
    "郵便番号": "207-0015",
    "電話番号": "042-561-1234",
    "住所": "東京都東大和市中央3-2-1",
    "窓口に来る人": "本人",
    "通数": "2",
    "範囲": "世帯全員",
    "本籍": "不要",
    "続柄": "要",
    "使いみち": "年金",
    "使いみち（その他）": "",
}


@pytest.fixture(scope="module")
def tpl() -> Any:
    return load_template(FORM)


@pytest.fixture(scope="module")
def mapping(tpl: Any) -> Any:
    return parse_mapping((TEMPLATES_DIR / FORM / "online.yaml").read_text(encoding="utf-8"), tpl)


def as_csv(rows: list[dict[str, Any]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_a_csv_export_reads_as_the_reader_would(tpl: Any, mapping: Any, encoding: str) -> None:
    (row,) = applications(as_csv([GOOD], encoding), "export.csv", tpl, mapping)
    assert row.ok and row.application_id == "E2026-000123"
    assert row.values["request_date"] == "2026-11-20" and row.values["birth_date"] == "1985-04-02"
    assert row.values["copies"] == 2 and row.values["visitor"] == "self"
    assert row.values["scope"] == "all" and row.values["purpose"] == ["pension"]  # one of, several of
    assert row.values["name"] == "山田　花子" and row.values["purpose_other"] is None


def test_a_json_export_with_lists_and_numbers(tpl: Any, mapping: Any) -> None:
    data = json.dumps(
        {"applications": [GOOD | {"通数": 3, "使いみち": ["年金", "相続"]}]}, ensure_ascii=False
    )
    (row,) = applications(data.encode(), "export.json", tpl, mapping)
    assert row.ok and row.values["copies"] == 3 and row.values["purpose"] == ["pension", "inheritance"]


def test_a_bad_row_is_refused_alone_and_the_good_rows_are_taken(tpl: Any, mapping: Any) -> None:
    rows = [
        GOOD,
        GOOD | {"申請番号": "E2026-000124", "生年月日": "きのう", "窓口に来る人": "友人"},
        GOOD | {"申請番号": "E2026-000123"},  # the first one again
        GOOD | {"申請番号": "../../etc/passwd"},
        GOOD | {"申請番号": "E2026-000126", "氏名": "山田\u202e花子", "通数": "9" * 40},
        GOOD | {"申請番号": "E2026-000127"},
    ]
    got = applications(as_csv(rows), "export.csv", tpl, mapping)
    assert [r.ok for r in got] == [True, False, False, False, False, True]
    assert set(got[1].problems) == {"birth_date", "visitor"} and "友人" in got[1].problems["visitor"][0]
    assert "2回" in got[2].problems[""][0]
    assert got[3].application_id is None
    assert set(got[4].problems) == {"name", "copies"}
    assert [r.line for r in got] == [2, 3, 4, 5, 6, 7]  # the CSV's own lines, for the clerk


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"\xff\xfe\x00\x00garbage", "export.csv", "文字コード"),
        ("申請番号,氏名\nE1,山田\n".encode(), "export.csv", "必要な列がありません"),
        (b"{not json", "export.json", "JSON"),
        (b'{"applications": 5}', "export.json", "JSON の形"),
        (b"[1, 2, 3]", "export.json", "JSON の形"),
    ],
)
def test_an_export_that_cannot_be_read_is_refused_whole(
    tpl: Any, mapping: Any, data: bytes, name: str, words: str
) -> None:
    with pytest.raises(ExportRefused) as err:
        applications(data, name, tpl, mapping)
    assert words in err.value.ja and err.value.en


def test_a_column_nobody_mapped_is_not_dropped_silently(tpl: Any, mapping: Any) -> None:
    (row,) = applications(as_csv([GOOD | {"マイナンバー": "123456789018"}]), "export.csv", tpl, mapping)
    assert not row.ok and "マイナンバー" in row.problems[""][0]


def test_a_mapping_naming_what_the_form_lacks_is_refused(tpl: Any) -> None:
    text = (TEMPLATES_DIR / FORM / "online.yaml").read_text(encoding="utf-8")
    with pytest.raises(TemplateError):
        parse_mapping(text.replace("visitor: {本人: self", "visitor: {本人: myself"), tpl)
    with pytest.raises(TemplateError):
        parse_mapping(text.replace("通数: copies", "通数: how_many"), tpl)

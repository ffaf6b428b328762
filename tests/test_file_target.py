"""Keying by file (bots/files): real files, the demo's real importer in a thread, no mocks.

A record is dropped once, answered once, registered once: a second ``key`` finds the answer; a
crash between the drop and the answer never drops it again; values that do not fit are refused
before anything is written; no reference or form id leads outside the base folder.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from bots.files.layout import ValueDoesNotFit, encode_record, is_file_target, load_layout, parse_layout
from bots.files.target import FileTarget
from core.errors import (
    BusinessRuleRejected,
    ConfigurationError,
    TargetScreenChanged,
    TemplateError,
    Transient,
)
from demo.legacy.importer import Importer, registered, wareki_date

DOG = {
    "request_date": "2025-04-01",
    "kana": "ヤマダ　タロウ",
    "name": "山田　太郎",
    "address": "東京都千代田区千代田1-1",
    "phone": "03-1234-5678",
    "dog_name": "ポチ",
    "dog_birth": "2020-06-21",
    "dog_sex": "male",
    "coat": "白",
}

CSV_LAYOUT = """
system: demo_import_csv
format: csv
encoding: utf-8
line_ending: lf
header: true
forms:
  inu_touroku:
    columns:
      - {name: ref, source: "{reference}", width: 12}
      - {name: request_date, source: "{request_date|era_letter}{request_date|era_year}.{request_date|month}.{request_date|day}"}
      - {name: kana, source: "{kana}", width: 40, required: true}
      - {name: shimei, label: 氏名, source: "{name}", width: 40}
      - {name: address, source: "{address}", width: 100}
      - {name: tel, source: "{phone}", width: 15}
      - {name: dog_name, source: "{dog_name}", width: 20}
      - {name: dog_birth, source: "{dog_birth|era_letter}{dog_birth|era_year}.{dog_birth|month}.{dog_birth|day}"}
      - {name: sex, source: "{dog_sex|map:male=1,female=2}", width: 1}
      - {name: coat, source: "{coat}", width: 10}
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "base").mkdir()
    return tmp_path / "base"


@pytest.fixture
def importer(base: Path, tmp_path: Path) -> Iterator[Importer]:
    imp = Importer(base / "import", base / "results", tmp_path / "legacy.db").start()
    yield imp
    imp.stop()


def target(base: Path, *, timeout: float = 10.0, layout_text: str | None = None) -> FileTarget:
    layout = parse_layout(layout_text) if layout_text else load_layout("demo_import")
    return FileTarget(layout, base, timeout=timeout, poll=0.02)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def test_the_demo_layout_is_a_file_target_and_screens_are_not() -> None:
    assert is_file_target("demo_import")
    assert not is_file_target("demo_legacy")
    assert not is_file_target("../layouts/demo_import")


def test_records_go_in_once_and_a_second_key_finds_the_answer(
    base: Path, tmp_path: Path, importer: Importer
) -> None:
    t = target(base)
    dogs = [
        DOG,
        DOG | {"dog_name": "モモ", "dog_sex": "female"},
        DOG | {"name": "佐藤　花子", "kana": "サトウ　ハナコ"},
    ]
    results = [t.key("inu_touroku", dog, f"DJ{n:08d}") for n, dog in enumerate(dogs, 1)]
    assert all(not r.existed for r in results)
    receipts = [r.receipt for r in results]
    assert len(set(receipts)) == 3 and all(receipts)
    rows = registered(tmp_path / "legacy.db")
    assert [(r["ref"], r["receipt"]) for r in rows] == [
        (f"DJ{n:08d}", rc) for n, rc in enumerate(receipts, 1)
    ]
    assert rows[0]["shimei"] == "山田　太郎" and rows[0]["dog_birth"] == "2020-06-21"
    assert rows[1]["dog_name"] == "モモ" and rows[1]["sex"] == "2"
    assert rows[0]["request_date"] == "2025-04-01"

    again = t.key("inu_touroku", DOG, "DJ00000001")
    assert again.existed and again.receipt == receipts[0]
    assert len(registered(tmp_path / "legacy.db")) == 3
    assert files(base / "import" / "done") == ["DJ00000001.dat", "DJ00000002.dat", "DJ00000003.dat"]
    sidecar = json.loads((base / "sent" / "DJ00000001.json").read_text(encoding="utf-8"))
    assert sidecar["rows"] == 1 and sidecar["bytes"] == 254 and len(sidecar["sha256"]) == 64


def test_one_fixed_width_line_byte_for_byte_in_cp932() -> None:
    data = encode_record(load_layout("demo_import"), "inu_touroku", DOG, "DJ00000042")
    sp = b" "
    expected = (
        b"DJ00000042"
        + sp * 2  # ref: 12
        + b"5070401"  # 令和7年4月1日: 元号コード 5, year 07, 0401
        + b"\x83\x84\x83}\x83_\x81@\x83^\x83\x8d\x83E"
        + sp * 26  # ヤマダ　タロウ: 7 全角 = 14 bytes of 40
        + b"\x8eR\x93c\x81@\x91\xbe\x98Y"
        + sp * 30  # 山田　太郎: 10 bytes of 40
        + b"\x93\x8c\x8b\x9e\x93s\x90\xe7\x91\xe3\x93c\x8b\xe6\x90\xe7\x91\xe3\x93c1-1"
        + sp * 77  # 23 of 100
        + b"03-1234-5678"
        + sp * 3
        + b"\x83|\x83`"
        + sp * 16  # ポチ
        + b"5020621"  # 2020-06-21: 令和2年6月21日
        + b"1"
        + b"\x94\x92"
        + sp * 8  # 白
        + b"\r\n"
    )
    assert data == expected
    assert len(data) == 252 + 2


def test_a_csv_utf8_layout_round_trips(base: Path, tmp_path: Path, importer: Importer) -> None:
    layout_text = CSV_LAYOUT
    t = target(base, layout_text=layout_text)
    data = encode_record(t.layout, "inu_touroku", DOG | {"address": "千代田区1-1, 2階"}, "DJ00000007")
    assert data.decode("utf-8") == (
        "ref,request_date,kana,shimei,address,tel,dog_name,dog_birth,sex,coat\n"
        'DJ00000007,R7.4.1,ヤマダ　タロウ,山田　太郎,"千代田区1-1, 2階",03-1234-5678,ポチ,R2.6.21,1,白\n'
    )
    got = t.key("inu_touroku", DOG | {"address": "千代田区1-1, 2階"}, "DJ00000007")
    assert not got.existed
    (row,) = registered(tmp_path / "legacy.db")
    assert row["receipt"] == got.receipt and row["address"] == "千代田区1-1, 2階"
    assert files(base / "import" / "done") == ["DJ00000007.csv"]


def test_the_importers_refusal_reaches_a_person_and_a_corrected_record_goes_in(
    base: Path, tmp_path: Path, importer: Importer
) -> None:
    t = target(base)
    bad = DOG | {"kana": "やまだ", "dog_birth": "2025-05-01"}  # hiragana; born after the application
    with pytest.raises(BusinessRuleRejected) as err:
        t.key("inu_touroku", bad, "DJ00000005")
    assert "フリガナはカタカナで記入してください" in err.value.ja
    assert "犬の生年月日が申請日より後になっています" in err.value.ja
    assert registered(tmp_path / "legacy.db") == []

    fixed = t.key("inu_touroku", DOG, "DJ00000005")  # the person corrected it: sent again
    assert not fixed.existed and fixed.receipt
    assert [r["ref"] for r in registered(tmp_path / "legacy.db")] == ["DJ00000005"]
    aside = files(base / "sent" / "rejected")
    assert aside == ["DJ00000005.1.dat", "DJ00000005.1.json", "DJ00000005.1.result.json"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"name": "寿限無寿限無五劫の擦り切れ海砂利水魚の水行"},
            "氏名: 42バイトあり、40バイトの欄に入りません",
        ),
        ({"name": "𠮷野　家"}, "「𠮷」(U+20BB7) は Shift_JIS (cp932) で書けない文字です"),
        ({"address": "千代田区\n1-1"}, "住所: 改行・タブなどの制御文字は書けません"),
        ({"dog_birth": "令和二年"}, "犬の生年月日（元号）: 値を変換できません"),
        ({"dog_name": ""}, "犬の名前: 空欄にできません"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_before_anything_is_written(
    base: Path, change: dict[str, str], says: str
) -> None:
    t = target(base, timeout=0.2)
    with pytest.raises(ValueDoesNotFit) as err:
        t.key("inu_touroku", DOG | change, "DJ00000009")
    assert isinstance(err.value, BusinessRuleRejected)  # keying sends it to a person, no retry
    assert says in err.value.ja
    assert files(base / "import") == [] and files(base / "sent") == []


def test_every_problem_of_a_record_is_named_at_once() -> None:
    with pytest.raises(ValueDoesNotFit) as err:
        encode_record(
            load_layout("demo_import"), "inu_touroku", DOG | {"coat": "白黒茶の斑模様", "name": "𠮷"}, "DJ1"
        )
    assert [p.column for p in err.value.problems] == ["shimei", "coat"]
    again = pickle.loads(pickle.dumps(err.value))
    assert again.problems == err.value.problems and again.ja == err.value.ja


def test_a_crash_between_the_drop_and_the_answer_never_drops_twice(base: Path, tmp_path: Path) -> None:
    imp = Importer(base / "import", base / "results", tmp_path / "legacy.db")
    t = target(base, timeout=0.2)
    with pytest.raises(Transient) as err:  # dropped; the importer is down
        t.key("inu_touroku", DOG, "DJ00000011")
    assert "取込処理の結果" in err.value.ja
    sidecar = (base / "sent" / "DJ00000011.json").read_bytes()
    with pytest.raises(Transient):  # the retry finds its own drop and only waits
        t.key("inu_touroku", DOG | {"dog_name": "変わった名前"}, "DJ00000011")
    assert files(base / "import") == ["DJ00000011.dat"]
    assert (base / "sent" / "DJ00000011.json").read_bytes() == sidecar

    imp.start()
    try:
        got = t.key("inu_touroku", DOG, "DJ00000011")
    finally:
        imp.stop()
    assert got.existed and got.receipt
    (row,) = registered(tmp_path / "legacy.db")
    assert row["ref"] == "DJ00000011" and row["dog_name"] == "ポチ"
    assert files(base / "import" / "done") == ["DJ00000011.dat"]


def test_a_crash_before_the_rename_completes_the_same_drop(base: Path, tmp_path: Path) -> None:
    t = target(base, timeout=0.1)
    with pytest.raises(Transient):
        t.key("inu_touroku", DOG, "DJ00000012")
    # as if the crash came after the sidecar and before the rename into the drop folder
    os.replace(base / "import" / "DJ00000012.dat", base / "import" / ".DJ00000012.dat.part")
    imp = Importer(base / "import", base / "results", tmp_path / "legacy.db")
    assert imp.import_once() == []  # the importer never takes a file being written
    imp.start()
    try:
        got = t.key("inu_touroku", DOG, "DJ00000012")
    finally:
        imp.stop()
    assert got.receipt and len(registered(tmp_path / "legacy.db")) == 1
    assert files(base / "import") == []


def test_the_importer_never_registers_a_reference_twice(base: Path, tmp_path: Path) -> None:
    layout = load_layout("demo_import")
    imp = Importer(base / "import", base / "results", tmp_path / "legacy.db")
    (base / "import").mkdir(exist_ok=True)
    data = encode_record(layout, "inu_touroku", DOG, "DJ00000020")
    (base / "import" / "DJ00000020.dat").write_bytes(data)
    (first,) = imp.import_once()
    (base / "import" / "DJ00000020.dat").write_bytes(data)
    (second,) = imp.import_once()
    assert first.status == second.status == "accepted" and first.receipt == second.receipt
    assert len(registered(tmp_path / "legacy.db")) == 1
    assert files(base / "import" / "done") == ["DJ00000020.2.dat", "DJ00000020.dat"]


def test_the_importer_refuses_a_miscut_record(base: Path, tmp_path: Path) -> None:
    imp = Importer(base / "import", base / "results", tmp_path / "legacy.db")
    (base / "import").mkdir(exist_ok=True)
    (base / "import" / "DJ00000021.dat").write_bytes(b"DJ00000021  short\r\n")
    (out,) = imp.import_once()
    assert out.status == "rejected" and "レコード長" in out.messages[0]
    answer = json.loads((base / "results" / "DJ00000021.result.json").read_text(encoding="utf-8"))
    assert answer["status"] == "rejected" and answer["messages"] == out.messages


def test_wareki_dates_the_importer_takes() -> None:
    assert str(wareki_date("5070401")) == "2025-04-01"
    assert str(wareki_date("R7.4.1")) == "2025-04-01"
    assert str(wareki_date("4310430")) == "2019-04-30"
    assert wareki_date("4310501") is None  # 平成31年5月1日 is 令和元年
    assert wareki_date("5010430") is None  # 令和 began on 1 May 2019
    assert wareki_date("5070230") is None
    assert wareki_date("2025-04-01") is None


# --- path attacks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    ["../evil", "DJ1/../../x", "..", ".hidden", "DJ1\x00", "/etc/passwd", "DJ1\\..\\x", "a" * 65, ""],
)
def test_a_reference_never_leads_outside_the_base_folder(base: Path, tmp_path: Path, reference: str) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(ValueDoesNotFit):
        target(base, timeout=0.1).key("inu_touroku", DOG, reference)
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert [p for p in after if p not in before and not str(p).startswith("base/")] == []
    assert files(base / "import") == [] and files(base / "sent") == []


@pytest.mark.parametrize(
    "form_id", ["../../etc/passwd", "inu_touroku/../x", "inu_touroku\x00", "juminhyo_request"]
)
def test_a_form_the_layout_lacks_is_refused_untouched(base: Path, form_id: str) -> None:
    with pytest.raises(TargetScreenChanged):
        target(base, timeout=0.1).key(form_id, DOG, "DJ00000030")
    assert files(base / "import") == [] and files(base / "sent") == []


@pytest.mark.parametrize("folder", ["../outside", "/tmp/elsewhere", "a/../../b", "C:\\\\temp", "."])
def test_a_layout_folder_outside_the_base_is_an_authoring_error(folder: str) -> None:
    text = CSV_LAYOUT.replace("header: true", f'header: true\nfolders: {{drop: "{folder}"}}')
    with pytest.raises(TemplateError):
        parse_layout(text)


def test_a_layout_name_is_never_a_path() -> None:
    with pytest.raises(TemplateError):
        load_layout("../bots/files/layouts/demo_import")


def test_a_folder_linked_outside_the_base_is_refused(base: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (base / "results").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigurationError):
        target(base)


def test_a_planted_link_is_no_answer(base: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.json"
    fake.write_text(json.dumps({"status": "accepted", "receipt": "FAKE"}), encoding="utf-8")
    t = target(base, timeout=0.1)
    (base / "results" / "DJ00000031.result.json").symlink_to(fake)
    assert t.answer("DJ00000031") is None
    with pytest.raises(Transient):
        t.key("inu_touroku", DOG, "DJ00000031")
    assert files(base / "import") == ["DJ00000031.dat"]


def test_the_layout_catches_a_miscounted_record_length() -> None:
    text = load_layout("demo_import").model_dump_json()
    data = json.loads(text)
    data["forms"]["inu_touroku"]["record_bytes"] = 250
    with pytest.raises(TemplateError, match="invalid"):
        parse_layout(json.dumps(data))

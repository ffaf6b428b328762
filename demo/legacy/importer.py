"""犬の登録 一括取込（デモ）: the legacy system's batch importer, for keying by file.

Like the importers of city-hall 基幹系 systems, it watches a folder: each new file holds one record
of a dog registration, fixed-width Shift_JIS (cp932) records counted in bytes (``.dat``) or UTF-8
CSV with a header (``.csv``). It checks the row, registers it in its own table of the demo database,
answers with ``<reference>.result.json`` in the results folder (accepted with a receipt, or rejected
with its reasons in Japanese), and moves the file into ``done/``.

It never registers one reference twice: a file for a reference already registered is answered with
the receipt it got the first time. The answer is written after the row is committed and before the
file is moved, so a crash at any point ends, on the next round, in the same single row and an answer.
Names that start with a dot are files still being written, and are left alone.

This is demo code, a stranger to the product: it imports nothing of it (see pyproject.toml).

    python -m demo.legacy.importer IMPORT_DIR RESULT_DIR DB_PATH [--once] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from demo.legacy.app import LegacyDB

log = logging.getLogger(__name__)

#: 元号コード (1 digit, as in GYYMMDD) and letters (R7.4.1), with each era's first year.
ERA_CODES = {"1": 1868, "2": 1912, "3": 1926, "4": 1989, "5": 2019}
ERA_LETTERS = {"M": "1", "T": "2", "S": "3", "H": "4", "R": "5"}
ERA_STARTS = {
    "1": dt.date(1868, 10, 23),
    "2": dt.date(1912, 7, 30),
    "3": dt.date(1926, 12, 25),
    "4": dt.date(1989, 1, 8),
    "5": dt.date(2019, 5, 1),
}
LABELS = {
    "ref": "参照番号",
    "request_date": "申請日",
    "kana": "フリガナ",
    "shimei": "氏名",
    "address": "住所",
    "tel": "電話番号",
    "dog_name": "犬の名前",
    "dog_birth": "犬の生年月日",
    "sex": "性別",
    "coat": "毛色",
}
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_KANA = re.compile(r"^[ァ-ヶー・　 ]+$")


@dataclass(frozen=True)
class Spec:
    """The importer's own description of a file (the vendor's import spec)."""

    format: str  # "fixed" or "csv"
    encoding: str
    #: (name, width in bytes) in file order; CSV files carry these names as their header.
    columns: tuple[tuple[str, int], ...]

    @property
    def record_bytes(self) -> int:
        return sum(w for _, w in self.columns)


COLUMNS = (
    ("ref", 12),
    ("request_date", 7),
    ("kana", 40),
    ("shimei", 40),
    ("address", 100),
    ("tel", 15),
    ("dog_name", 20),
    ("dog_birth", 7),
    ("sex", 1),
    ("coat", 10),
)
#: By file extension: what this importer takes.
SPECS = {".dat": Spec("fixed", "cp932", COLUMNS), ".csv": Spec("csv", "utf-8", COLUMNS)}


@dataclass(frozen=True)
class Outcome:
    reference: str
    status: str  # accepted / rejected
    receipt: str | None
    messages: list[str]


# --- reading and checking (pure) ----------------------------------------------------------------------


def parse_file(data: bytes, spec: Spec) -> tuple[list[dict[str, str]], list[str]]:
    """The rows of a file as {column: text}, or the reasons it cannot be read."""
    lines = [ln.removesuffix(b"\r") for ln in data.split(b"\n")]
    if lines and lines[-1] == b"":
        lines.pop()
    if spec.format == "fixed":
        rows = []
        for n, line in enumerate(lines, 1):
            if len(line) != spec.record_bytes:
                return [], [
                    f"{n}行目: レコード長が {len(line)} バイトです（{spec.record_bytes} バイトのはずです）"
                ]
            row, at = {}, 0
            for name, width in spec.columns:
                try:
                    text = line[at : at + width].decode(spec.encoding)
                except UnicodeDecodeError:
                    return [], [f"{n}行目: {LABELS[name]}の文字コードが {spec.encoding} ではありません"]
                row[name] = text.rstrip(" ")
                at += width
            rows.append(row)
        return rows, []
    try:
        text = data.decode(spec.encoding)
    except UnicodeDecodeError:
        return [], [f"文字コードが {spec.encoding} ではありません"]
    table = list(csv.reader(io.StringIO(text)))
    names = [name for name, _ in spec.columns]
    if not table or table[0] != names:
        return [], ["見出し行が取込仕様と違います"]
    rows = []
    for n, cells in enumerate(table[1:], 2):
        if len(cells) != len(names):
            return [], [f"{n}行目: 項目数が {len(cells)} です（{len(names)} のはずです）"]
        too_long = [
            nm for (nm, w), c in zip(spec.columns, cells, strict=True) if len(c.encode(spec.encoding)) > w
        ]
        if too_long:
            return [], [f"{n}行目: {LABELS[nm]}が長すぎます" for nm in too_long]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows, []


def wareki_date(text: str) -> dt.date | None:
    """``5070401`` (元号コード + YYMMDD) or ``R7.4.1``: the date, or None if it is no real date."""
    m = re.fullmatch(r"([1-5])(\d\d)(\d\d)(\d\d)", text)
    if m is None:
        m = re.fullmatch(r"([MTSHR])(\d{1,2})\.(\d{1,2})\.(\d{1,2})", text)
        if m is None:
            return None
        code = ERA_LETTERS[m.group(1)]
    else:
        code = m.group(1)
    year, month, day = (int(g) for g in m.groups()[1:])
    if year < 1:
        return None
    try:
        date = dt.date(ERA_CODES[code] + year - 1, month, day)
    except ValueError:
        return None
    later = [s for c, s in ERA_STARTS.items() if c > code]
    if date < ERA_STARTS[code] or (later and date >= min(later)):
        return None
    return date


def check_row(row: dict[str, str], reference: str) -> list[str]:
    """The reasons this row cannot be registered, in Japanese (empty: it can)."""
    errors = []
    if row["ref"] != reference:
        errors.append("参照番号がファイル名と一致しません")
    for name in ("shimei", "kana", "address", "dog_name", "coat"):
        if not row[name].strip(" 　"):
            errors.append(f"{LABELS[name]}が空欄です")
    if row["kana"].strip() and not _KANA.match(row["kana"]):
        errors.append("フリガナはカタカナで記入してください")
    dates = {}
    for name in ("request_date", "dog_birth"):
        date = wareki_date(row[name])
        if date is None:
            errors.append(f"{LABELS[name]}の形式が正しくありません（例: 5070401 または R7.4.1）")
        dates[name] = date
    if dates["request_date"] and dates["dog_birth"] and dates["dog_birth"] > dates["request_date"]:
        errors.append("犬の生年月日が申請日より後になっています")
    if row["sex"] not in ("1", "2"):
        errors.append("性別コードは 1（オス）か 2（メス）です")
    if row["tel"] and not re.fullmatch(r"[0-9-]{10,15}", row["tel"]):
        errors.append("電話番号は数字とハイフンで記入してください")
    return errors


# --- one round (side effects) -------------------------------------------------------------------------


class Importer:
    """The importer over one database: ``import_once`` for a round, ``start``/``stop`` for a thread."""

    def __init__(
        self, import_dir: Path, result_dir: Path, db_path: Path, specs: dict[str, Spec] | None = None
    ):
        self.import_dir, self.result_dir = Path(import_dir), Path(result_dir)
        self.specs = specs or SPECS
        self.db = LegacyDB(Path(db_path))
        with self.db.connect() as c:
            c.execute(
                """create table if not exists inu (
                    receipt text primary key, ref text unique, shimei text, kana text, address text,
                    tel text, dog_name text, dog_birth text, sex text, coat text, request_date text,
                    source_file text, created_at text)"""
            )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def import_once(self) -> list[Outcome]:
        """Take every waiting file once; answer each."""
        self.result_dir.mkdir(parents=True, exist_ok=True)
        outcomes = []
        for path in sorted(self.import_dir.iterdir()) if self.import_dir.is_dir() else []:
            spec = self.specs.get(path.suffix.lower())
            if path.name.startswith(".") or spec is None or path.is_symlink() or not path.is_file():
                continue
            try:
                outcomes.append(self._one(path, spec))
            except OSError as exc:  # taken or changed under us: the next round sees it again
                log.warning("import of %s skipped this round: %s", path.name, exc)
        return outcomes

    def _one(self, path: Path, spec: Spec) -> Outcome:
        reference = path.stem
        if not _REF.match(reference):
            self._move(path, "error")
            return Outcome(reference, "rejected", None, ["ファイル名が参照番号ではありません"])
        rows, errors = parse_file(path.read_bytes(), spec)
        if not errors and len(rows) != 1:
            errors = [f"1ファイル1件です（{len(rows)} 件あります）"]
        if not errors:
            errors = check_row(rows[0], reference)
        outcome = (
            Outcome(reference, "rejected", None, errors) if errors else self._register(rows[0], path.name)
        )
        _write_atomic(
            self.result_dir / f"{reference}.result.json",
            json.dumps(
                {
                    "reference": reference,
                    "status": outcome.status,
                    "receipt": outcome.receipt,
                    "messages": outcome.messages,
                    "file": path.name,
                },
                ensure_ascii=False,
            ).encode("utf-8"),
        )
        self._move(path, "done")
        log.info("imported %s: %s %s", path.name, outcome.status, outcome.receipt or outcome.messages)
        return outcome

    def _register(self, row: dict[str, str], source: str) -> Outcome:
        with self.db.lock, self.db.connect() as conn:
            found = conn.execute("select receipt from inu where ref = ?", (row["ref"],)).fetchone()
            if found:
                return Outcome(row["ref"], "accepted", found["receipt"], ["既に取り込み済みです"])
            receipt = self.db.next_receipt(conn, "inu")
            conn.execute(
                """insert into inu (receipt, ref, shimei, kana, address, tel, dog_name, dog_birth, sex, coat,
                   request_date, source_file, created_at) values (?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (
                    receipt,
                    row["ref"],
                    row["shimei"],
                    row["kana"],
                    row["address"],
                    row["tel"],
                    row["dog_name"],
                    str(wareki_date(row["dog_birth"])),
                    row["sex"],
                    row["coat"],
                    str(wareki_date(row["request_date"])),
                    source,
                    time.strftime("%Y-%m-%d %H:%M:%S"),
                ),
            )
        return Outcome(row["ref"], "accepted", receipt, [])

    def _move(self, path: Path, folder: str) -> None:
        dest_dir = self.import_dir / folder
        dest_dir.mkdir(exist_ok=True)
        dest, n = dest_dir / path.name, 1
        while dest.exists():  # a reference sent again after a refusal: keep both files
            n += 1
            dest = dest_dir / f"{path.stem}.{n}{path.suffix}"
        os.replace(path, dest)

    # --- the loop -------------------------------------------------------------------------------------

    def serve(self, interval: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                self.import_once()
            except Exception:  # keep watching: one bad round must not stop the importer
                log.exception("import round failed")
            self._stop.wait(interval)

    def start(self, interval: float = 0.05) -> Importer:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.serve, args=(interval,), name="legacy-importer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def import_once(import_dir: Path, result_dir: Path, db_path: Path) -> list[Outcome]:
    """One round over ``import_dir``: every waiting file imported (or refused) and answered."""
    return Importer(import_dir, result_dir, db_path).import_once()


def registered(db_path: Path) -> list[dict[str, str]]:
    """The rows the importer registered (for tests and the demo)."""
    db = LegacyDB(Path(db_path))
    with db.connect() as conn:
        if not conn.execute("select 1 from sqlite_master where name = 'inu'").fetchone():
            return []
        return [dict(r) for r in conn.execute("select * from inu order by receipt")]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="犬の登録 一括取込（デモ）")
    parser.add_argument("import_dir", type=Path)
    parser.add_argument("result_dir", type=Path)
    parser.add_argument("db_path", type=Path)
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    importer = Importer(args.import_dir, args.result_dir, args.db_path)
    if args.once:
        for outcome in importer.import_once():
            print(json.dumps(outcome.__dict__, ensure_ascii=False))
        return
    with contextlib.suppress(KeyboardInterrupt):
        importer.serve(args.interval)


if __name__ == "__main__":
    main()

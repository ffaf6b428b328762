"""The layout of a batch import file (取込ファイル): one YAML per target system that takes files.

Many 基幹系 systems are fed by a file dropped in a folder rather than by screens: fixed-width records
in Shift_JIS (cp932) counted in bytes, or CSV. A layout says, per form, which columns the importer
reads and how each is rendered from the record (``{field|filter}``, the filters of
:mod:`bots.transforms`: ``era_name``, ``era_year``, ``strftime``, ``map``, ``digits``...).

A value that does not fit the file is never cut or replaced: too many bytes for its width, a
character the encoding cannot hold (外字 such as 𠮷), a line break. A cut name keyed into a
resident register is worse than a record that waits, so each is a :class:`ValueDoesNotFit` for a
person, listing every problem of the record at once and raised before anything is written.

The functions that turn a record into bytes are pure: :func:`encode_record` is all a test needs to
check a line byte for byte.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bots.transforms import FILTERS, references, render
from core.errors import BusinessRuleRejected, TemplateError

LAYOUTS_DIR = Path(__file__).parent / "layouts"

#: A reference or system name that may become part of a file name: no separator, no dot first, no NUL.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: Characters no import file line may hold: a line break splits the record, the others confuse
#: importers that read line by line or field by field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_ENCODING_JA = {"cp932": "Shift_JIS (cp932)", "utf-8": "UTF-8"}
_LINE_ENDINGS = {"crlf": b"\r\n", "lf": b"\n"}
#: csv.QUOTE_MINIMAL, QUOTE_ALL and QUOTE_NONE, as the literals typeshed's ``csv.writer`` asks for.
_QUOTING: dict[str, Literal[0, 1, 3]] = {"minimal": 0, "all": 1, "none": 3}


class ValueDoesNotFit(BusinessRuleRejected):
    """A record's value cannot be written into the import file as the layout says: nothing was
    written; a person shortens it, replaces a character, or asks for the layout to change.

    A :class:`~core.errors.BusinessRuleRejected`, so keying sends it to the exception queue rather
    than retrying: the same value would never fit on the next attempt either."""

    code = "keying_value_does_not_fit"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            "取込ファイルに書けない値があります: " + " / ".join(p.ja for p in problems),
            "values that cannot be written into the import file: " + " / ".join(p.en for p in problems),
        )

    def __reduce__(self) -> tuple[type[ValueDoesNotFit], tuple[list[Problem]]]:
        """Pickled with its problems (a worker process hands the error back to its flow)."""
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class Problem:
    """Why one column's value cannot be written, in Japanese and English."""

    column: str
    ja: str
    en: str


class Column(BaseModel):
    """One field of the record, in the order the importer reads them."""

    model_config = ConfigDict(extra="forbid")

    #: The importer's name for the field: the CSV header, and the name in messages unless ``label``.
    name: str = Field(min_length=1)
    #: What a clerk calls it (氏名, 生年月日), for the messages of a value that does not fit.
    label: str | None = None
    #: ``{field|filter:arg}`` expressions and literal text; empty for a filler the importer skips.
    source: str = ""
    #: Fixed-width: the field's width in bytes of the file's encoding (a 全角 character is two bytes
    #: in cp932, three in UTF-8), as legacy import specs count. CSV: the most bytes the field may hold.
    width: int | None = Field(default=None, ge=1, le=10_000)
    #: What fills a fixed-width field up to its width: spaces, or zeros (digits only).
    pad: Literal["space", "zero"] = "space"
    #: Where the value sits in its width; numbers padded with zeros sit right unless told otherwise.
    align: Literal["left", "right"] | None = None
    #: A blank value is a problem for a person rather than a blank field.
    required: bool = False

    @property
    def title(self) -> str:
        return self.label or self.name

    @property
    def alignment(self) -> str:
        return self.align or ("right" if self.pad == "zero" else "left")


class FormLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[Column] = Field(min_length=1)
    #: The record length the importer's spec gives (fixed-width): checked against the widths, so a
    #: miscounted column is an authoring error rather than a file every record of which is refused.
    record_bytes: int | None = Field(default=None, ge=1)
    #: A repeated block keyed as records of their own, as in a screen mapping (``FormMapping.each``).
    each: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")


class Folders(BaseModel):
    """The folders of the exchange, relative to the base folder the target is given."""

    model_config = ConfigDict(extra="forbid")

    #: Where the importer picks files up.
    drop: str = "import"
    #: Where the importer answers, one ``<reference>.result.json`` per file.
    results: str = "results"
    #: Ours: a copy of each file dropped and a sidecar with its sha256 and row count.
    sent: str = "sent"

    @model_validator(mode="after")
    def _inside(self) -> Folders:
        names = [self.drop, self.results, self.sent]
        for name in names:
            p = PurePosixPath(name.replace("\\", "/"))
            if not name or "\x00" in name or p.is_absolute() or ".." in p.parts or str(p) in ("", "."):
                raise ValueError(f"folder {name!r} must be a relative path inside the base folder")
            if re.match(r"^[A-Za-z]:", name):
                raise ValueError(f"folder {name!r} must be a relative path inside the base folder")
        if len({PurePosixPath(n) for n in names}) != len(names):
            raise ValueError("drop, results and sent must be different folders")
        return self


class Layout(BaseModel):
    """A target system that takes import files: the file's format, and per form its columns."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(pattern=SAFE_NAME.pattern)
    title: str = ""
    format: Literal["fixed", "csv"]
    encoding: Literal["cp932", "utf-8"] = "cp932"
    line_ending: Literal["crlf", "lf"] = "crlf"
    #: CSV: a first line of column names.
    header: bool = False
    #: CSV: the one character between fields.
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    #: CSV: ``minimal`` quotes a field only when it holds the delimiter or a quote; ``none`` (an
    #: importer that splits on the delimiter) makes such a value a problem for a person.
    quoting: Literal["minimal", "all", "none"] = "minimal"
    #: The file's extension; ``.dat`` for fixed-width, ``.csv`` for CSV unless told.
    suffix: str | None = Field(default=None, pattern=r"^\.[A-Za-z0-9]{1,8}$")
    folders: Folders = Field(default_factory=Folders)
    #: How long one ``key`` waits for the importer's answer before the record waits for a retry.
    answer_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    poll_seconds: float = Field(default=0.5, gt=0, le=60)
    #: As a screen mapping's: how long the importer may stay silent before records go to a person.
    outage_minutes: int = Field(default=240, ge=0, le=7 * 24 * 60)
    forms: dict[str, FormLayout] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Layout:
        if self.delimiter in '"\r\n' or (self.delimiter.isalnum() and self.delimiter.isascii()):
            raise ValueError(f"delimiter {self.delimiter!r} cannot separate fields")
        for form_id, form in self.forms.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", form_id):
                raise ValueError(f"form id {form_id!r} must be lower-case letters, digits and _")
            for col in form.columns:
                where = f"{form_id}.{col.name}"
                if self.format == "fixed" and col.width is None:
                    raise ValueError(f"{where}: a fixed-width column needs a width (bytes)")
                for _, filters in references(col.source):
                    unknown = [f for f in filters if f not in FILTERS]
                    if unknown:
                        raise ValueError(f"{where}: unknown filter {', '.join(unknown)}")
                try:
                    col.name.encode(self.encoding)
                except UnicodeEncodeError as exc:
                    raise ValueError(f"{where}: the name cannot be written in {self.encoding}") from exc
            if self.format == "fixed" and form.record_bytes is not None:
                total = sum(c.width or 0 for c in form.columns)
                if total != form.record_bytes:
                    raise ValueError(
                        f"{form_id}: the widths add up to {total} bytes, not {form.record_bytes}"
                    )
        return self

    @property
    def file_suffix(self) -> str:
        return self.suffix or (".dat" if self.format == "fixed" else ".csv")

    @property
    def newline(self) -> bytes:
        return _LINE_ENDINGS[self.line_ending]


# --- loading ------------------------------------------------------------------------------------------


def layout_path(system: str, folder: Path | None = None) -> Path:
    return (folder or LAYOUTS_DIR) / f"{system}.yaml"


def is_file_target(system: str, folder: Path | None = None) -> bool:
    """Whether ``system`` is fed by import files (it has a layout) rather than by screens."""
    return bool(SAFE_NAME.match(system)) and layout_path(system, folder).is_file()


def load_layout(system: str, folder: Path | None = None) -> Layout:
    """The layout as the file says now (reloaded when the file changes, as bot mappings are)."""
    if not SAFE_NAME.match(system):
        raise TemplateError(
            f"対象システム名 {system!r} は使えません", f"unusable target system name {system!r}"
        )
    path = layout_path(system, folder)
    if not path.is_file():
        raise TemplateError(
            f"対象システム {system} の取込ファイル定義がありません",
            f"no import file layout for {system}",
            detail=str(path),
        )
    return _load(path, path.stat().st_mtime_ns)


def parse_layout(text: str, name: str = "layout") -> Layout:
    try:
        return Layout.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise TemplateError(
            f"取込ファイル定義 {name} に誤りがあります",
            f"import file layout {name} is invalid",
            detail=str(exc),
        ) from exc


@cache
def _load(path: Path, mtime_ns: int) -> Layout:
    return parse_layout(path.read_text(encoding="utf-8"), path.name)


# --- a record to bytes (pure) -------------------------------------------------------------------------


def file_name(layout: Layout, reference: str) -> str:
    """The file one record is dropped as: named by our reference, so the importer's answer and our
    search find it by name alone."""
    if not SAFE_NAME.match(reference):
        raise ValueError(f"unsafe reference {reference!r}")
    return reference + layout.file_suffix


def rendered(column: Column, record: dict[str, Any]) -> str | Problem:
    """The column's text for the record, or why it cannot be made (a date that is not a date)."""
    try:
        value = render(column.source, record)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        return Problem(
            column.name,
            f"{column.title}: 値を変換できません",
            f"{column.name}: the value cannot be converted ({type(exc).__name__})",
        )
    if isinstance(value, list | dict | tuple | set):
        raise TemplateError(
            f"取込ファイル定義の {column.name} が一つの値になりません",
            f"import column {column.name} renders to a list, not one value",
        )
    return "" if value is None else str(value)


def field_bytes(layout: Layout, column: Column, text: str) -> bytes | Problem:
    """One field in the file's encoding, padded to its width for fixed-width; or why it cannot be."""
    title, name = column.title, column.name
    shown = text if len(text) <= 20 else text[:20] + "…"
    if column.required and not text.strip():
        return Problem(name, f"{title}: 空欄にできません", f"{name}: must not be blank")
    if _CONTROL.search(text):
        return Problem(
            name,
            f"{title}: 改行・タブなどの制御文字は書けません",
            f"{name}: line breaks and control characters",
        )
    if layout.format == "csv" and layout.quoting == "none" and (layout.delimiter in text or '"' in text):
        return Problem(
            name,
            f'{title}: 区切り文字「{layout.delimiter}」や「"」は書けません（「{shown}」）',
            f"{name}: holds the delimiter {layout.delimiter!r} or a quote",
        )
    try:
        data = text.encode(layout.encoding)
    except UnicodeEncodeError as exc:
        bad = "".join(dict.fromkeys(text[exc.start :]).keys())
        bad = "".join(c for c in bad if not _encodes(c, layout.encoding))
        codes = " ".join(f"U+{ord(c):04X}" for c in bad)
        return Problem(
            name,
            f"{title}: 「{bad}」({codes}) は {_ENCODING_JA[layout.encoding]} で書けない文字です。"
            "置き換える字を確かめてください",
            f"{name}: {codes} cannot be written in {layout.encoding}",
        )
    width = column.width
    if width is not None and len(data) > width:
        return Problem(
            name,
            f"{title}: {len(data)}バイトあり、{width}バイトの欄に入りません（「{shown}」）",
            f"{name}: {len(data)} bytes do not fit its {width} bytes",
        )
    if layout.format != "fixed" or width is None:
        return data
    if column.pad == "zero" and not data.isdigit() and data:
        return Problem(
            name,
            f"{title}: 数字だけの欄です（「{shown}」）",
            f"{name}: a zero-padded field takes digits only",
        )
    fill = (b"0" if column.pad == "zero" else b" ") * (width - len(data))
    return fill + data if column.alignment == "right" else data + fill


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def encode_record(layout: Layout, form_id: str, record: dict[str, Any], reference: str) -> bytes:
    """The whole file for one record: the header line (CSV, if any) and the record's line, each
    ended as the layout says. Raises :class:`ValueDoesNotFit` with every problem of the record."""
    form = layout.forms[form_id]
    values = record | {"reference": reference}
    fields: list[bytes] = []
    problems: list[Problem] = []
    for col in form.columns:
        text = rendered(col, values)
        out = text if isinstance(text, Problem) else field_bytes(layout, col, text)
        if isinstance(out, Problem):
            problems.append(out)
        else:
            fields.append(out)
    if problems:
        raise ValueDoesNotFit(problems)
    if layout.format == "fixed":
        return b"".join(fields) + layout.newline
    line = _csv_line(layout, [f.decode(layout.encoding) for f in fields])
    head = _csv_line(layout, [c.name for c in form.columns]) if layout.header else b""
    return head + line


def _csv_line(layout: Layout, texts: list[str]) -> bytes:
    quoting = _QUOTING[layout.quoting]
    buf = io.StringIO()
    csv.writer(buf, delimiter=layout.delimiter, quoting=quoting, lineterminator="").writerow(texts)
    return buf.getvalue().encode(layout.encoding) + layout.newline


def rows_in(layout: Layout, data: bytes) -> int:
    """How many records a file holds (the header line is not one): for the sidecar."""
    lines = data.count(layout.newline)
    return lines - 1 if layout.format == "csv" and layout.header else lines

"""Online applications: an online service's export (CSV or JSON) → one set of field values per
application, in the shape the reader produces, with a reason for every row that cannot be taken.

The city's online application services export what citizens submitted; each form's export is mapped
to its template by a small YAML beside the template (``form_templates/<id>/online.yaml``): which
column holds the service's application ID (exactly once by it) and which holds each field, and how
the service's words map to the template's option values. Values go through the same parsing as a
reviewer's typing (:func:`validation.entry.parse_input`), then the same checks as a scan's reading.

An export comes from a system nobody here wrote and may be broken in any way: a file that cannot be
read at all (an encoding that is not UTF-8 or cp932, not CSV or JSON, no ID column, columns the
mapping needs missing) is refused whole (:class:`ExportRefused`, a reason a clerk can act on); a bad
row (a value that is not a date, a duplicate ID, an option the mapping does not know) is refused on
its own, and the good rows of the file are not held back by it. Pure: bytes in, rows out.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InputError, ReviewError, TemplateError
from formkit.model import Template
from validation.entry import parse_input

#: An export is a file a person downloads and drops: bigger than this is not one form's export.
MAX_EXPORT_BYTES = 20 * 1024 * 1024
MAX_ROWS = 10_000
#: A service's application ID: letters, digits and a few separators (it names the document).
APPLICATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
#: How a CSV cell lists several ticked options.
MANY_SEPARATORS = re.compile(r"[;；、,，|]")


class ExportRefused(InputError):
    """The export cannot be read at all: nothing of it is taken, the file goes to quarantine."""

    code = "online_export_refused"


class OnlineMapping(BaseModel):
    """``form_templates/<id>/online.yaml``: one online service's export of one form."""

    model_config = ConfigDict(extra="forbid")

    #: The service's name, kept with each application (交付 systems differ in what they export).
    service: str = Field(min_length=1, max_length=60)
    #: The column (CSV header or JSON key) holding the service's application ID.
    id_column: str
    #: Export column → template field.
    columns: dict[str, str] = Field(min_length=1)
    #: Per field, the service's words for the template's option values (「本人」 → self).
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: A column the export may have that the form does not need (a payment status, a timestamp).
    ignore: list[str] = Field(default_factory=list)
    #: Columns naming the files sent with an application (JSON: ``[{"name", "content_base64"}]`` or
    #: names; CSV: names separated by ``;``): kept with the document for the reviewer.
    attachments: list[str] = Field(default_factory=list)
    #: Values every application of this service has, decided by the form's author (the service's own
    #: identity check and electronic signature stand for the paper's signature: ``signature: true``).
    fixed: dict[str, Any] = Field(default_factory=dict)


@dataclass
class OnlineRow:
    """One application of an export: its ID, the values taken, and why it cannot be taken (if so)."""

    line: int
    application_id: str | None
    values: dict[str, Any] = field(default_factory=dict)
    #: Field (or ``""`` for the row) → the reason, in Japanese and English.
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.application_id is not None and not self.problems


def parse_mapping(text: str, tpl: Template, source: str = "online.yaml") -> OnlineMapping:
    """The mapping, checked against its template: every field it names exists, every value map names
    the field's options."""
    try:
        mapping = OnlineMapping.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise TemplateError(
            f"オンライン申請の対応表 {source} に誤りがあります",
            f"online mapping {source} is invalid",
            detail=str(exc)[:1000],
        ) from exc
    names = {f.name for f in tpl.fields}
    named = [*mapping.columns.values(), *mapping.values, *mapping.fixed]
    unknown = sorted({f for f in named if f not in names})
    bad_options = [
        f"{name}:{v}"
        for name, words in mapping.values.items()
        if name in names
        for v in words.values()
        if v not in {o.value for o in tpl.field(name).options}
    ]
    for name, value in mapping.fixed.items():
        if name in names:
            try:
                parse_input(tpl.field(name), value)
            except ReviewError as exc:
                bad_options.append(f"{name}={value!r}: {exc.en}")
    if unknown or bad_options:
        raise TemplateError(
            f"オンライン申請の対応表 {source} が様式 {tpl.id} にない項目・選択肢を使っています",
            f"online mapping {source} names fields or options form {tpl.id} does not have",
            detail=", ".join(unknown + bad_options),
        )
    return mapping


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM) or cp932, as Japanese services export; anything else is refused
    rather than guessed (a wrong guess would key 文字化け)."""
    if len(data) > MAX_EXPORT_BYTES:
        raise ExportRefused(
            f"ファイルが大きすぎます（{MAX_EXPORT_BYTES // (1024 * 1024)} MB まで）",
            f"the export is too large ({MAX_EXPORT_BYTES // (1024 * 1024)} MB at most)",
        )
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise ExportRefused(
        "文字コードが読めません（UTF-8 か Shift_JIS(cp932) で書き出してください）",
        "the export's encoding is neither UTF-8 nor Shift_JIS (cp932)",
    )


def records(data: bytes, name: str) -> list[dict[str, Any]]:
    """The export's records as column → value, from JSON (a list of objects, or ``{"applications":
    [...]}``) or CSV with a header row."""
    text = decode(data)
    if name.lower().endswith(".json") or text.lstrip().startswith(("[", "{")):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise ExportRefused("JSON として読めません", "not valid JSON", detail=str(exc)[:200]) from exc
        if isinstance(loaded, dict):
            loaded = next((v for v in loaded.values() if isinstance(v, list)), None)
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise ExportRefused(
                "JSON の形が違います（申請ごとのオブジェクトの配列にしてください）",
                "the JSON is not a list of applications (objects)",
            )
        rows: list[dict[str, Any]] = loaded
    else:
        try:
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise ExportRefused("CSV として読めません", "not valid CSV", detail=str(exc)[:200]) from exc
    if len(rows) > MAX_ROWS:
        raise ExportRefused(
            f"申請が多すぎます（1ファイル {MAX_ROWS} 件まで）",
            f"too many applications ({MAX_ROWS} a file at most)",
        )
    return rows


def applications(data: bytes, name: str, tpl: Template, mapping: OnlineMapping) -> list[OnlineRow]:
    """Every application of the export, each with its values or its problems. Refused whole
    (:class:`ExportRefused`) only when no row could be read right: columns the mapping needs are not
    there, or an ID column is missing."""
    rows = records(data, name)
    present = set().union(*(r.keys() for r in rows)) if rows else set()
    needed = {mapping.id_column, *mapping.columns}
    missing = sorted(needed - present) if rows else []
    needed |= set(mapping.attachments)
    if missing:
        raise ExportRefused(
            f"必要な列がありません: {', '.join(missing)}（オンライン申請の対応表と書き出しを確かめてください）",
            f"columns missing from the export: {', '.join(missing)}",
        )
    extra = sorted(present - needed - set(mapping.ignore))
    seen: set[str] = set()
    out = []
    for line, raw in enumerate(rows, start=2 if not name.lower().endswith(".json") else 1):
        row = _row(line, raw, tpl, mapping)
        if extra:
            row.problems[""] = (
                f"対応表にない列があります: {', '.join(extra[:5])}（取り込まずに確認が必要です）",
                f"columns the mapping does not know: {', '.join(extra[:5])}",
            )
        if row.application_id is not None:
            if row.application_id in seen:
                row.problems[""] = (
                    f"申請番号 {row.application_id} がこのファイルに2回あります",
                    f"application {row.application_id} is twice in this export",
                )
            seen.add(row.application_id)
        out.append(row)
    return out


def _row(line: int, raw: dict[str, Any], tpl: Template, mapping: OnlineMapping) -> OnlineRow:
    ident = raw.get(mapping.id_column)
    text_id = str(ident).strip() if isinstance(ident, str | int) and not isinstance(ident, bool) else ""
    row = OnlineRow(line, text_id if APPLICATION_ID.fullmatch(text_id) else None)
    if row.application_id is None:
        row.problems[""] = ("申請番号がないか、使えない文字を含みます", "no usable application ID")
    for column, name in mapping.columns.items():
        value = raw.get(column)
        if isinstance(value, dict) or (isinstance(value, list) and not tpl.field(name).options):
            row.problems[name] = ("値の形が違います", "not a value")
            continue
        spec = tpl.field(name)
        if isinstance(value, str) and spec.kind.entry(spec) == "many":  # CSV: 「年金;その他」
            value = [v for v in MANY_SEPARATORS.split(value) if v.strip()]
        words = mapping.values.get(name)
        if words is not None and value not in (None, "", []):
            listed = value if isinstance(value, list) else [value]
            unknown = [str(v) for v in listed if str(v).strip() not in words]
            if unknown:
                row.problems[name] = (
                    f"対応表にない選択肢です: {unknown[0][:20]}",
                    f"an option the mapping does not know: {unknown[0][:20]}",
                )
                continue
            mapped = [words[str(v).strip()] for v in listed]
            value = mapped if isinstance(value, list) else mapped[0]
        try:
            row.values[name] = parse_input(spec, value)
        except ReviewError as err:
            row.problems[name] = (err.ja, err.en)
    for name, value in mapping.fixed.items():
        row.values[name] = parse_input(tpl.field(name), value)
    return row

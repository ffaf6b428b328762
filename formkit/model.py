"""The form template: one YAML file that is the single source of truth for printing and reading.

Geometry is in millimetres from the page's top-left corner. Printing (``formkit.render``) and reading
(``ocr``) both derive every line and every zone from :func:`formkit.layout.layout_field`, so the two
can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from formkit.kinds import KINDS, Comb, FieldKind, FieldType, Shape, Value, kind_of

__all__ = ["FieldType"]

Mm = float


class Box(BaseModel):
    """A rectangle in millimetres: ``[x, y, w, h]`` in YAML."""

    model_config = ConfigDict(frozen=True)

    x: Mm
    y: Mm
    w: Mm
    h: Mm

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: object) -> object:
        if isinstance(data, list | tuple):
            if len(data) != 4:
                raise ValueError("a box is [x, y, w, h] in millimetres")
            return dict(zip("xywh", data, strict=True))
        return data

    @property
    def x2(self) -> Mm:
        return self.x + self.w

    @property
    def y2(self) -> Mm:
        return self.y + self.h

    def as_list(self) -> list[float]:
        return [round(self.x, 2), round(self.y, 2), round(self.w, 2), round(self.h, 2)]

    def inset(self, d: Mm) -> Box:
        return Box(x=self.x + d, y=self.y + d, w=max(self.w - 2 * d, 0.1), h=max(self.h - 2 * d, 0.1))

    def overlaps(self, other: Box) -> bool:
        return self.x < other.x2 and other.x < self.x2 and self.y < other.y2 and other.y < self.y2

    def grow(self, d: Mm) -> Box:
        """The box with ``d`` mm more on every side (a quiet zone around a mark)."""
        return Box(x=self.x - d, y=self.y - d, w=self.w + 2 * d, h=self.h + 2 * d)

    @classmethod
    def around(cls, boxes: list[Box]) -> Box:
        """The smallest box holding all of ``boxes``."""
        x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
        return cls(x=x0, y=y0, w=max(b.x2 for b in boxes) - x0, h=max(b.y2 for b in boxes) - y0)

    def iou(self, other: Box) -> float:
        """Intersection over union: how far two boxes are the same box (1) or apart (0)."""
        iw = max(0.0, min(self.x2, other.x2) - max(self.x, other.x))
        ih = max(0.0, min(self.y2, other.y2) - max(self.y, other.y))
        inter = iw * ih
        return inter / (self.w * self.h + other.w * other.h - inter) if inter else 0.0


#: Between the lines of a field written on several lines (``lines``), in its value: a full-width
#: space, which every layer (review entry, keying, a legacy system's one-line input) takes as text.
LINE_JOIN = "\u3000"

#: The parts of an address asked for in parts (``part_boxes``), top to bottom.
ADDRESS_PARTS = ("town", "block", "building")


class Option(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str
    label: str
    label_en: str | None = None
    #: Legacy forms: where this option is printed (the word to circle, or its tick box).
    box: Box | None = None


class FieldSpec(BaseModel):
    """One field: where it is, what it holds, how to check it."""

    model_config = ConfigDict(frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    label_en: str | None = None
    #: The kind's name in ``formkit.kinds.KINDS`` (text, name, postal, …).
    type: str
    box: Box
    #: Where the printed label goes; by default a cell left of ``box``, from the page margin.
    label_box: Box | None = None
    #: Comb cells, one character each (kana, digits, postal: 7, count). Without ``cells`` a kana, digits or
    #: postal field is written freely in its box (legacy forms).
    cells: int | None = None
    options: list[Option] = Field(default_factory=list)
    #: For CHECKBOXES: only one may be ticked.
    exclusive: bool = False
    #: For DATE: the eras printed as tick boxes (one era is printed as plain text).
    eras: list[str] = Field(default_factory=list)
    #: Legacy forms: a date written into the form's own 「　年　月　日」 boxes (keys year, month, day).
    #: The year box may hold the era too (昭和50); with one entry in ``eras`` it is the default era.
    #: Where the form prints the eras to circle (5.昭和 7.平成), ``options`` (value: the era) say where;
    #: with ``cells: 2`` each part box is two comb cells, one digit each.
    #: Redesigned forms: an address asked for in parts (keys town, block, building), inside ``box``:
    #: the town written freely, 丁目・番地・号 one digit a comb cell, the building and room freely. The
    #: prefecture and city come from the postal code field whose ``matches_address`` rule names it.
    part_boxes: dict[str, Box] = Field(default_factory=dict)
    #: For DATE in part boxes: the era written as a printed code in its own box, ``part_boxes.era``
    #: (「5.昭和 7.平成 9.令和」: code → era), as insurance and pension forms ask.
    era_codes: dict[str, str] = Field(default_factory=dict)
    #: Free text on several lines (経過, 留意事項): the box is this many lines one under another, each
    #: read on its own; the value is the lines joined by LINE_JOIN.
    lines: Annotated[int, Field(ge=2, le=20)] | None = None
    #: Free text written in pieces between separators the form prints (電話「（　　）　　－　　」): the
    #: box of each piece, left to right; the value is the pieces joined by ``joiner``.
    pieces: list[Box] = Field(default_factory=list, max_length=8)
    joiner: Annotated[str, Field(max_length=3)] = "-"
    #: For KANA: katakana (default) or hiragana.
    script: str = "katakana"
    #: For option types: options per row (default: all in one row).
    columns: int | None = None
    #: Printed after the comb cells (e.g. 通 for a count).
    unit: str | None = None
    required: bool = False
    #: Small printed hint inside or beside the field (e.g. 「該当するものを○で囲む」).
    hint: str | None = None
    #: Rule names from ``validation.rules`` (e.g. ``range:1-10``); empty means the type's defaults.
    rules: list[str] = Field(default_factory=list)
    #: Fields below this confidence go to review; None takes the type's calibrated default.
    review_threshold: float | None = None
    #: 個人番号 and similar: masked wherever shown or logged.
    sensitive: bool = False
    #: ダブルチェック: after approval a second reviewer keys this field again without seeing the first value.
    double_entry: bool = False
    #: The day of the request itself (請求日, 申請日, 提出日): at the 書かない窓口 it is the day of the visit,
    #: so the counter screen starts it at today's date (staff may change it). Dates only.
    today: bool = False
    #: For sample scans only: typical values to write (free text), or [low, high, decimals] for numbers.
    examples: list[str] = Field(default_factory=list)
    example_range: tuple[float, float, int] | None = None

    @model_validator(mode="before")
    @classmethod
    def _mynumber_is_sensitive(cls, data: Any) -> Any:
        """A 個人番号 (rule ``mynumber``) is masked whatever the file says: forgetting ``sensitive``
        must not put one on a reviewer's screen or in a log."""
        if isinstance(data, dict) and "mynumber" in (data.get("rules") or []):
            data = {**data, "sensitive": True}
        return data

    @field_validator("type")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in KINDS:
            raise ValueError(f"unknown field type {v!r} (one of: {', '.join(KINDS)})")
        return str(v)

    @property
    def kind(self) -> FieldKind:
        """What this field holds, and so how it is printed, read, checked and reviewed."""
        return kind_of(self.type)

    @model_validator(mode="after")
    def _check_shape(self) -> FieldSpec:
        boxes = [("box", self.box), ("label_box", self.label_box)]
        boxes += [(f"option {o.value}", o.box) for o in self.options]
        boxes += [(f"part_boxes.{k}", b) for k, b in self.part_boxes.items()]
        for what, b in boxes:
            if b is not None and (b.w <= 0 or b.h <= 0):
                raise ValueError(f"field {self.name}: {what} needs a positive width and height")
        kind = self.kind
        if kind.shape is Shape.COMB and not self.cells:
            raise ValueError(
                f"field {self.name}: a {self.type} needs 'cells' (or use type number in a free box)"
            )
        if kind.comb is Comb.POSTAL and self.cells not in (None, 7):
            raise ValueError(f"field {self.name}: a postal code has 7 cells (or none: written freely)")
        if kind.has_options and len(self.options) < 2:
            raise ValueError(f"field {self.name}: type {self.type} needs at least two options")
        if kind.shape is Shape.DATE and not self.eras:
            raise ValueError(f"field {self.name}: a date needs 'eras' (e.g. [令和])")
        if kind.shape is Shape.DATE and any(o.value not in self.eras for o in self.options):
            raise ValueError(f"field {self.name}: a date's options are its eras (value: one of 'eras')")
        if self.today and kind.shape is not Shape.DATE:
            raise ValueError(f"field {self.name}: only a date can start at today's date ('today')")
        if kind.shape is Shape.DATE and self.cells not in (None, 2):
            raise ValueError(f"field {self.name}: a date's cells are per part: 2 (one digit each)")
        if self.part_boxes and kind.address:
            if set(self.part_boxes) != set(ADDRESS_PARTS):
                raise ValueError(f"field {self.name}: an address's part_boxes are town, block and building")
        elif self.part_boxes and kind.shape is not Shape.DATE:
            raise ValueError(f"field {self.name}: only a date or an address is written in part_boxes")
        elif self.part_boxes and set(self.part_boxes) != {"year", "month", "day"} | (
            {"era"} if self.era_codes else set()
        ):
            raise ValueError(
                f"field {self.name}: part_boxes needs exactly year, month and day (and era, with era_codes)"
            )
        if self.era_codes and (kind.shape is not Shape.DATE or "era" not in self.part_boxes):
            raise ValueError(f"field {self.name}: era_codes are for a date with a part_boxes.era box")
        if any(not c.isdigit() or e not in self.eras for c, e in self.era_codes.items()):
            raise ValueError(f"field {self.name}: era_codes map digits to eras listed in 'eras'")
        if (self.lines or self.pieces) and (
            kind.shape is not Shape.LINE or self.cells or self.part_boxes or kind.address
        ):
            raise ValueError(
                f"field {self.name}: only free text in one box is written on several 'lines' or in 'pieces'"
            )
        if self.lines and self.pieces:
            raise ValueError(f"field {self.name}: 'lines' or 'pieces', not both")
        if len(self.pieces) == 1:
            raise ValueError(f"field {self.name}: 'pieces' are two boxes or more")
        if any(p.w <= 0 or p.h <= 0 for p in self.pieces):
            raise ValueError(f"field {self.name}: every piece needs a positive width and height")
        if self.script not in ("katakana", "hiragana"):
            raise ValueError(f"field {self.name}: script must be katakana or hiragana")
        return self


class StaticText(BaseModel):
    """Printed text that is not a field: headings, notes, the staff-only area."""

    model_config = ConfigDict(frozen=True)

    text: str
    box: Box
    size: float = 9.0
    bold: bool = False
    align: str = "left"
    frame: bool = False
    shade: bool = False


class PageSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    width_mm: Mm = 210.0
    height_mm: Mm = 297.0


class FieldGroup(BaseModel):
    """Blocks a form prints several times (資格取得届: four insured persons; a table's rows): the first
    block's fields are written once, and block i is the same fields moved by (i - 1) × ``step``, named
    ``<name>_<i>`` and labelled 「<label>（<group label><i>）」. A rule naming a field of the block
    names the same block's field. A copy written out in ``fields`` wins over the generated one."""

    model_config = ConfigDict(frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    fields: Annotated[list[str], Field(min_length=1)]
    count: Annotated[int, Field(ge=2, le=30)]
    #: From one block to the next, in mm: (across, down).
    step: tuple[float, float]

    def copies(self) -> list[tuple[int, str, str]]:
        """Blocks 2..N, field by field: (block, the field of block 1, the copy's name)."""
        return [(i, base, name) for i in range(2, self.count + 1) for base, name in self.names(i).items()]

    def names(self, block: int) -> dict[str, str]:
        """Block ``block``'s fields: block 1's name → this block's name."""
        return {base: base if block == 1 else f"{base}_{block}" for base in self.fields}

    def written(self, values: Mapping[str, Any], block: int) -> bool:
        """Somebody wrote in this block (a person's block left empty on a form for one person is not)."""
        return any(not _blank(values.get(name)) for name in self.names(block).values())

    def unused(self, values: Mapping[str, Any]) -> set[str]:
        """The fields of blocks 2..N left wholly blank: their ``required`` does not hold (a form with
        room for four persons sent for one). Block 1 is always asked for."""
        return {
            name
            for i in range(2, self.count + 1)
            if not self.written(values, i)
            for name in self.names(i).values()
        }

    def records(self, values: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """A page's values as one record per block somebody wrote in (資格取得届: one per insured
        person): the fields outside the group, plus the block's own under block 1's names, so one bot
        mapping keys every block. A block left wholly blank is no record: nobody is there to key."""
        ours = {name for i in range(1, self.count + 1) for name in self.names(i).values()}
        shared = {k: v for k, v in values.items() if k not in ours}
        return [
            (i, shared | {base: values.get(name) for base, name in self.names(i).items()})
            for i in range(1, self.count + 1)
            if self.written(values, i)
        ]


def _blank(value: Any) -> bool:
    """Nothing written: no text, no tick (0 is a value: a count of none)."""
    return value is None or value is False or value == "" or value == []


def _moved(box: Any, dx: float, dy: float) -> Any:
    """A box as written in a template (a list, a mapping or a Box) moved by (dx, dy)."""
    if box is None:
        return None
    b = box if isinstance(box, Box) else Box.model_validate(box)
    return Box(x=round(b.x + dx, 2), y=round(b.y + dy, 2), w=b.w, h=b.h)


def expand_groups(data: dict[str, Any]) -> dict[str, Any]:
    """The template's raw data with every group's further blocks written out as fields."""
    groups = [
        g if isinstance(g, FieldGroup) else FieldGroup.model_validate(g) for g in data.get("groups") or []
    ]
    fields = list(data.get("fields") or [])
    raw = [f.model_dump() if isinstance(f, BaseModel) else dict(f) for f in fields]
    by_name = {str(f.get("name")): f for f in raw}
    for g in groups:
        missing = [n for n in g.fields if n not in by_name]
        if missing:
            raise ValueError(f"group {g.name}: no field named {', '.join(missing)}")
        for i, base, name in g.copies():
            dx, dy = g.step[0] * (i - 1), g.step[1] * (i - 1)
            if name in by_name:
                continue  # written out by hand: that one wins
            f = dict(by_name[base])
            f["name"] = name
            f["label"] = f"{f['label']}（{g.label}{i}）"
            if f.get("label_en"):
                f["label_en"] = f"{f['label_en']} ({g.name} {i})"
            f["box"] = _moved(f["box"], dx, dy)
            f["label_box"] = _moved(f.get("label_box"), dx, dy)
            f["part_boxes"] = {k: _moved(b, dx, dy) for k, b in (f.get("part_boxes") or {}).items()}
            f["pieces"] = [_moved(b, dx, dy) for b in f.get("pieces") or []]
            f["options"] = [
                {
                    **(o.model_dump() if isinstance(o, BaseModel) else dict(o)),
                    "box": _moved(_opt_box(o), dx, dy),
                }
                for o in f.get("options") or []
            ]
            f["rules"] = [_renamed(r, g.fields, i) for r in f.get("rules") or []]
            raw.append(f)
            by_name[name] = f
    return {**data, "fields": raw, "groups": groups}


def _opt_box(o: Any) -> Any:
    return getattr(o, "box", None) if isinstance(o, BaseModel) else dict(o).get("box")


def _renamed(rule: str, names: list[str], i: int) -> str:
    """``before:birth_date`` in block i names that block's birth_date when it is a field of the block."""
    kind, sep, arg = rule.partition(":")
    return f"{kind}:{arg}_{i}" if sep and arg in names else rule


class Template(BaseModel):
    """A whole form template, as loaded from ``form_templates/<id>/template.yaml``."""

    model_config = ConfigDict(frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    version: Annotated[int, Field(ge=1, le=63)]
    #: ``redesigned``: printed by dejiru with registration marks and a form-ID strip.
    #: ``legacy``: a form the city cannot change yet, registered against its blank ``master``.
    kind: str = "redesigned"
    #: Number printed in the form-ID strip (1..16383); unique across templates. Redesigned forms only.
    code: Annotated[int, Field(ge=1, le=16383)] | None = None
    #: Legacy forms: the blank form as published (a PDF or image in the template's folder).
    master: str | None = None
    #: Legacy forms: which page of ``master`` this template is (1-based).
    master_page: int = 1
    #: Where the form comes from (publisher, URL), for legacy masters copied into the repository.
    source: str | None = None
    title: str
    title_en: str | None = None
    #: Printed at the top right (e.g. the addressee 「東大和市長 あて」).
    addressee: str | None = None
    instructions: str | None = None
    page: PageSpec = PageSpec()
    #: Drop-out colour for guides (comb cells, boxes), as #RRGGBB: invisible in the reader's red channel.
    dropout_color: str = "#F7A8A8"
    static: list[StaticText] = Field(default_factory=list)
    fields: list[FieldSpec]
    #: Blocks printed several times (person blocks, table rows): see :class:`FieldGroup`.
    groups: list[FieldGroup] = Field(default_factory=list)
    #: Which target system and mapping the keying bot uses for approved records.
    target: str | None = None
    #: A record that goes into several systems (住民記録 and a 基幹系 import): each keyed on its own,
    #: exactly once, with its own ledger; the document is KEYED once every one has it. ``target`` is
    #: then the first of them.
    targets: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = Field(default_factory=list)
    #: A further page of an application: the form of the page before it (``shujii_p2`` continues
    #: ``shujii_p1``). Read from one file, the pages become one document, reviewed and keyed as one.
    continues: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("targets") and not data.get("target"):
            data = {**data, "target": next(iter(data["targets"]))}
        return expand_groups(data) if isinstance(data, dict) and data.get("groups") else data

    @model_validator(mode="after")
    def _targets(self) -> Template:
        if self.targets and (self.target != self.targets[0] or len(set(self.targets)) != len(self.targets)):
            raise ValueError("targets: each system once, and target (if written) the first of them")
        return self

    @property
    def keyed_into(self) -> list[str]:
        """Every target system a record of this form is keyed into (none: not keyed by a bot)."""
        return list(self.targets) if self.targets else [self.target] if self.target else []

    @model_validator(mode="after")
    def _kind(self) -> Template:
        if self.kind == "redesigned" and self.code is None:
            raise ValueError("a redesigned form needs 'code' (printed in its form-ID strip)")
        if self.kind == "legacy" and not self.master:
            raise ValueError("a legacy form needs 'master' (the blank form file in its folder)")
        if self.kind not in ("redesigned", "legacy"):
            raise ValueError("kind must be redesigned or legacy")
        return self

    @property
    def legacy(self) -> bool:
        return self.kind == "legacy"

    @field_validator("fields")
    @classmethod
    def _unique_names(cls, fields: list[FieldSpec]) -> list[FieldSpec]:
        names = [f.name for f in fields]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"field names must be unique: {sorted(dupes)}")
        return fields

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def postal_field(self, address: str) -> FieldSpec | None:
        """The postal code field whose ``matches_address`` rule names this address field: it says the
        address's prefecture and city, and its town is checked against it."""
        for f in self.fields:
            if f.kind.value is Value.POSTAL and f"matches_address:{address}" in f.rules:
                return f
        return None

    @property
    def key(self) -> str:
        return f"{self.id}@v{self.version}"


def page_chain(first: Template, others: Sequence[Template]) -> list[Template]:
    """An application's templates page by page: ``first``, then the template that ``continues`` it,
    and so on. ``template check`` refuses a form continued twice or in a loop; here the first follower
    by ID is taken and a loop ends the chain."""
    pages = [first]
    ordered = sorted(others, key=lambda t: t.id)
    while True:
        nxt = next((t for t in ordered if t.continues == pages[-1].id), None)
        if nxt is None or any(t.id == nxt.id for t in pages):
            return pages
        pages.append(nxt)


def merge_pages(pages: Sequence[Template]) -> Template:
    """One template holding every page's fields and groups (a document of several pages is reviewed,
    checked and keyed as one). Boxes stay in their own page's millimetres. One page: itself."""
    if len(pages) == 1:
        return pages[0]
    return pages[0].model_copy(
        update={
            "fields": [f for t in pages for f in t.fields],
            "groups": [g for t in pages for g in t.groups],
        }
    )

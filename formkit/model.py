"""The form template: one YAML file that is the single source of truth for printing and reading.

Geometry is in millimetres from the page's top-left corner. Printing (``formkit.render``) and reading
(``ocr``) both derive every line and every zone from :func:`formkit.layout.layout_field`, so the two
can never drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class FieldType(StrEnum):
    """What a field holds; decides its printed shape, its reader and its normaliser."""

    TEXT = "text"  # free text in one line (address, その他)
    NAME = "name"  # a person's name in kanji/kana
    KANA = "kana"  # katakana in comb cells
    DIGITS = "digits"  # digits in comb cells
    POSTAL = "postal"  # 〒 NNN-NNNN in seven cells
    PHONE = "phone"  # digits and hyphens in one box
    DATE = "date"  # 和暦: era ticked + year/month/day in comb cells
    COUNT = "count"  # a small number in comb cells with a unit (部数)
    CHECKBOX = "checkbox"  # one box: ticked or not
    CHECKBOXES = "checkboxes"  # several boxes; ``exclusive`` makes them a single choice
    CHOICE = "choice"  # options printed as words, one circled (○で囲む)
    SIGNATURE = "signature"  # present or absent


#: Types whose zone is split into one cell per character.
COMB_TYPES = {FieldType.KANA, FieldType.DIGITS, FieldType.POSTAL, FieldType.COUNT}
#: Types whose value is chosen from ``options``.
OPTION_TYPES = {FieldType.CHECKBOXES, FieldType.CHOICE}


class Option(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str
    label: str
    label_en: str | None = None


class FieldSpec(BaseModel):
    """One field: where it is, what it holds, how to check it."""

    model_config = ConfigDict(frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    label_en: str | None = None
    type: FieldType
    box: Box
    #: Where the printed label goes; by default a cell left of ``box``, from the page margin.
    label_box: Box | None = None
    cells: int | None = None
    options: list[Option] = Field(default_factory=list)
    #: For CHECKBOXES: only one may be ticked.
    exclusive: bool = False
    #: For DATE: the eras printed as tick boxes (one era is printed as plain text).
    eras: list[str] = Field(default_factory=list)
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

    @model_validator(mode="after")
    def _check_shape(self) -> FieldSpec:
        if self.type in COMB_TYPES and self.type is not FieldType.POSTAL and not self.cells:
            raise ValueError(f"field {self.name}: type {self.type} needs 'cells' (characters in the comb)")
        if self.type in OPTION_TYPES and len(self.options) < 2:
            raise ValueError(f"field {self.name}: type {self.type} needs at least two options")
        if self.type is FieldType.DATE and not self.eras:
            raise ValueError(f"field {self.name}: a date needs 'eras' (e.g. [令和])")
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


class Template(BaseModel):
    """A whole form template, as loaded from ``form_templates/<id>/template.yaml``."""

    model_config = ConfigDict(frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    version: Annotated[int, Field(ge=1, le=63)]
    #: Number printed in the form-ID strip (1..16383); unique across templates.
    code: Annotated[int, Field(ge=1, le=16383)]
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
    #: Which target system and mapping the keying bot uses for approved records.
    target: str | None = None

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

    @property
    def key(self) -> str:
        return f"{self.id}@v{self.version}"

"""The plain data the proposer takes in and gives out, in a module of their own so that every step
(cells, labels, options, dates, the YAML) can share them without importing one another."""

from __future__ import annotations

from dataclasses import dataclass, field

from formkit.model import Box, FieldType


@dataclass(frozen=True)
class Text:
    """A printed text line on the blank form: what it says and where (mm)."""

    text: str
    box: Box

    @property
    def cx(self) -> float:
        return self.box.x + self.box.w / 2

    @property
    def cy(self) -> float:
        return self.box.y + self.box.h / 2


@dataclass
class Option:
    value: str
    label: str
    box: Box


@dataclass
class Proposed:
    """One proposed field, ready to be written as YAML."""

    name: str
    label: str
    type: FieldType
    box: Box
    cells: int | None = None
    options: list[Option] = field(default_factory=list)
    eras: list[str] = field(default_factory=list)
    part_boxes: dict[str, Box] = field(default_factory=dict)
    #: Free text on several writing lines, one under another.
    lines: int | None = None
    #: Free text written in boxes between printed separators (電話「（　）　－　」).
    pieces: list[Box] = field(default_factory=list)
    note: str = ""

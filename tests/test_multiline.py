"""Free text on several lines (経過, 留意事項): one field, its box cut into writing lines, each line read on its
own and the lines joined; printed with guide lines in the drop-out colour; drafted by `template new` from
a stack of writing lines under one heading."""

from __future__ import annotations

import pytest

from formkit.layout import line_bands
from formkit.model import LINE_JOIN, Box, FieldSpec, Template
from formkit.render import rasterize_pdf
from synth.fill import filled_pdf


def _form() -> Template:
    return Template(
        id="notes_form",
        version=1,
        code=16001,
        title="経過記入票",
        fields=[
            FieldSpec(name="name", label="氏名", type="name", box=Box(x=51, y=45, w=144, h=12)),
            FieldSpec(name="course", label="経過", type="text", box=Box(x=51, y=62, w=144, h=36), lines=3),
        ],
    )


def test_lines_are_read_one_by_one_and_joined() -> None:
    from ocr.reader import read_page

    tpl = _form()
    assert [round(b.h, 3) for b in line_bands(tpl.field("course"))] == [12.0, 12.0, 12.0]
    values = {
        "name": "山田　太郎",
        "course": LINE_JOIN.join(["令和六年四月に発症", "同年五月に初診", "通院中"]),
    }
    img = rasterize_pdf(filled_pdf(tpl, values), 250 / 25.4, tpl.page.width_mm)
    reading, _ = read_page(img, templates=[tpl])
    course = reading.fields["course"]
    assert course.value == values["course"]
    assert course.confidence > 0.5
    short = {"name": "山田　太郎", "course": "通院中"}  # one line written: no empty lines joined on
    img = rasterize_pdf(filled_pdf(tpl, short), 250 / 25.4, tpl.page.width_mm)
    reading, _ = read_page(img, templates=[tpl])
    assert reading.fields["course"].value == "通院中"


def test_only_free_text_in_one_box_takes_lines() -> None:
    with pytest.raises(ValueError, match="several 'lines'"):
        FieldSpec(name="kana", label="カナ", type="kana", box=Box(x=51, y=45, w=144, h=12), cells=16, lines=2)
    with pytest.raises(ValueError):
        FieldSpec(name="t", label="t", type="text", box=Box(x=51, y=45, w=144, h=12), lines=1)


def test_a_phone_in_pieces_between_printed_separators_is_read_whole() -> None:
    """電話「（　　）　　－　　」: three boxes, the value the pieces joined by the field's joiner."""
    from ocr.reader import read_page

    pieces = [Box(x=60, y=110, w=22, h=10), Box(x=90, y=110, w=28, h=10), Box(x=126, y=110, w=30, h=10)]
    tpl = _form().model_copy(
        update={
            "fields": [
                *_form().fields,
                FieldSpec(
                    name="phone",
                    label="電話",
                    type="phone",
                    box=Box.around(pieces),
                    pieces=pieces,
                    joiner="-",
                ),
            ]
        }
    )
    values = {"name": "山田　太郎", "phone": "042-563-2111"}
    img = rasterize_pdf(filled_pdf(tpl, values), 250 / 25.4, tpl.page.width_mm)
    reading, _ = read_page(img, templates=[tpl])
    assert reading.fields["phone"].value == "042-563-2111"
    with pytest.raises(ValueError, match="not both"):
        FieldSpec(name="p", label="p", type="text", box=Box.around(pieces), pieces=pieces, lines=2)

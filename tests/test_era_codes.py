"""Era codes (元号の番号): insurance and pension forms print 「5.昭和 7.平成 9.令和」 and ask for the number in
a box of its own; the reader turns the number into the era, and a number the form does not print is a
doubt with a reason, never a guess."""

from __future__ import annotations

import pytest

from formkit.model import Box, FieldSpec, StaticText, Template
from formkit.render import rasterize_pdf
from synth.fill import filled_pdf

CODES = {"5": "昭和", "7": "平成", "9": "令和"}


def _form() -> Template:
    parts = {
        "era": Box(x=60, y=50, w=10, h=10),
        "year": Box(x=75, y=50, w=16, h=10),
        "month": Box(x=100, y=50, w=16, h=10),
        "day": Box(x=125, y=50, w=16, h=10),
    }
    return Template(
        id="era_code_form",
        version=1,
        code=16002,
        title="生年月日届",
        static=[StaticText(text="5.昭和 7.平成 9.令和", box=Box(x=60, y=62, w=60, h=5), size=8)],
        fields=[
            FieldSpec(
                name="birth_date",
                label="生年月日",
                type="date",
                box=Box(x=60, y=50, w=85, h=10),
                eras=list(CODES.values()),
                era_codes=CODES,
                part_boxes=parts,
            )
        ],
    )


def _read(tpl: Template, values: dict[str, object], written_on: Template | None = None) -> object:
    from ocr.reader import read_page

    img = rasterize_pdf(filled_pdf(written_on or tpl, values), 250 / 25.4, tpl.page.width_mm)
    reading, _ = read_page(img, templates=[tpl])
    return reading.fields["birth_date"]


def test_the_era_is_read_from_its_code() -> None:
    tpl = _form()
    for iso in ("1990-05-06", "1975-11-23", "2020-02-29"):  # 平成2, 昭和50, 令和2
        got = _read(tpl, {"birth_date": iso})
        assert got.value == iso, (iso, got.raw)


def test_a_code_the_template_does_not_know_is_a_doubt_not_a_guess() -> None:
    written_on = _form()
    spec = written_on.fields[0].model_copy(update={"era_codes": {"7": "平成", "9": "令和"}})
    reader = written_on.model_copy(update={"fields": [spec]})
    got = _read(reader, {"birth_date": "1975-11-23"}, written_on=written_on)  # a 5 in the era box
    assert got.value is None and got.confidence <= 0.3
    assert [r.code for r in got.reasons] == ["era_code"] and "5" in got.reasons[0].ja


def test_era_codes_need_an_era_box_and_known_eras() -> None:
    base = _form().fields[0]
    with pytest.raises(ValueError, match="era"):
        FieldSpec(
            **{**base.model_dump(), "part_boxes": {k: v for k, v in base.part_boxes.items() if k != "era"}}
        )
    with pytest.raises(ValueError, match="era_codes"):
        FieldSpec(**{**base.model_dump(), "era_codes": {"8": "大正"}})

"""The table of field kinds: a kind made up in one module (``tests/made_up_kind.py``) is printed,
filled, read, checked and reviewed by code that never heard of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from formkit.kinds import KINDS, FieldKind, FieldType, registered
from formkit.model import Template
from tests.made_up_kind import JAN, jan_check_digit

GOOD = "4901234567894"
BAD = GOOD[:12] + str((int(GOOD[12]) + 5) % 10)
TODAY = dt.date(2026, 11, 30)

TEMPLATE: dict[str, Any] = {
    "id": "jan_demo",
    "version": 1,
    "code": 9050,
    "title": "JANコードの届",
    "fields": [
        {"name": "name", "label": "氏名", "type": "name", "box": [51, 50, 144, 12], "required": True},
        {
            "name": "jan_code",
            "label": "JANコード",
            "type": "jan",
            "cells": 13,
            "box": [51, 75, 110, 10],
            "rules": ["jan"],
            "examples": [GOOD],
        },
        {
            "name": "jan_wrong",
            "label": "JANコード（誤）",
            "type": "jan",
            "cells": 13,
            "box": [51, 95, 110, 10],
            "rules": ["jan"],
            "examples": [BAD],
        },
    ],
}


@pytest.fixture
def jan() -> Iterator[FieldKind]:
    with registered(JAN) as kind:
        yield kind


def test_the_table_holds_every_built_in_kind_once() -> None:
    assert [k for k in KINDS if k in {t.value for t in FieldType}] == [t.value for t in FieldType]
    assert GOOD[12] == str(jan_check_digit(GOOD)) and BAD != GOOD


def test_a_kind_not_in_the_table_is_refused_with_the_kinds_there_are() -> None:
    with pytest.raises(ValidationError, match=r"unknown field type 'jan'.*postal"):
        Template.model_validate(TEMPLATE)


def test_a_kind_is_never_replaced_quietly(jan: FieldKind) -> None:
    with pytest.raises(ValueError, match="already registered"), registered(JAN):
        pass
    assert KINDS["jan"] is jan


def test_made_up_kind_is_linted_laid_out_and_offered_to_the_editor(jan: FieldKind) -> None:
    from authoring.lint import lint_template
    from formkit.layout import layout
    from review.editor import check_posted, editor_fields

    tpl = Template.model_validate(TEMPLATE)
    errors = [f for f in lint_template(tpl, others=[]) if f.is_error]
    assert errors == []
    cells = {lay.spec.name: lay.cells for lay in layout(tpl)}
    assert len(cells["jan_code"]) == 13 and len(cells["jan_wrong"]) == 13
    assert check_posted(editor_fields(tpl), tpl) == []


def test_made_up_kind_is_checked_and_reviewed(jan: FieldKind) -> None:
    from pipeline.review import ReviewError, parse_input
    from validation.routing import check_values

    tpl = Template.model_validate(TEMPLATE)
    spec = tpl.field("jan_code")
    assert (
        parse_input(spec, "４９０１２３４５６７８９４") == GOOD
    )  # full-width digits, as a reviewer may type
    with pytest.raises(ReviewError):
        parse_input(spec, "4901234-56789")
    found = check_values(tpl, {"name": "山田　太郎", "jan_code": GOOD, "jan_wrong": BAD}, TODAY)
    assert found["jan_code"] == []
    assert [r.code for r in found["jan_wrong"]] == ["jan_check_digit"]


def test_made_up_kind_is_filled_read_and_never_keyed_unseen(jan: FieldKind) -> None:
    from ocr.reader import read_page
    from synth.samples import make_sample
    from validation.routing import validate

    tpl = Template.model_validate(TEMPLATE)
    img, truth = make_sample(tpl, 7, today=TODAY)
    assert truth["fields"]["jan_code"] == GOOD and truth["fields"]["jan_wrong"] == BAD
    reading, _ = read_page(img, templates=[tpl])
    validate(tpl, reading, today=TODAY)
    good, wrong = reading.fields["jan_code"], reading.fields["jan_wrong"]
    assert isinstance(good.value, str) and good.raw.replace(" ", "").isdigit()
    # Read right, or in front of a person: a JAN code is never keyed wrong unseen.
    assert good.value == GOOD or good.needs_review
    # The wrong check digit is on paper: whatever was read, a person sees this field.
    assert wrong.needs_review
    if wrong.value == BAD:
        assert "jan_check_digit" in [r.code for r in wrong.reasons]


def test_architecture_shows_the_table_the_code_has() -> None:
    from scripts.kinds_table import current, markdown

    assert current() == markdown().strip(), "run `python -m scripts.kinds_table --write`"

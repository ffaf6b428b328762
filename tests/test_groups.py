"""Blocks a form prints several times (資格取得届's four insured persons): written once, repeated by a
group; every block is read like the first."""

from __future__ import annotations

import datetime as dt

import pytest

from formkit.model import Box, FieldSpec, Template
from formkit.registry import load_template

FORM = "hihokensha_shikaku_shutoku"


def _tpl(**group: object) -> Template:
    return Template.model_validate(
        {
            "id": "rows",
            "version": 1,
            "code": 16003,
            "title": "一覧",
            "fields": [
                {"name": "day", "label": "日", "type": "date", "eras": ["令和"], "box": [51, 40, 144, 9]},
                {"name": "who", "label": "氏名", "type": "name", "box": [51, 60, 100, 9]},
                {
                    "name": "since",
                    "label": "開始日",
                    "type": "date",
                    "eras": ["令和"],
                    "box": [51, 70, 144, 9],
                    "rules": ["before:day", "after:who"],
                },
            ],
            "groups": [
                {"name": "row", "label": "行", "fields": ["who", "since"], "count": 3, "step": [0, 25]}
                | group
            ],
        }
    )


def test_a_group_repeats_its_fields_moved_named_and_checked_per_block() -> None:
    tpl = _tpl()
    assert [f.name for f in tpl.fields] == ["day", "who", "since", "who_2", "since_2", "who_3", "since_3"]
    assert tpl.field("who_3").box == Box(x=51, y=110, w=100, h=9)
    assert tpl.field("since_2").label == "開始日（行2）"
    assert tpl.field("since_2").rules == ["before:day", "after:who_2"]  # its own block's field
    again = Template.model_validate(tpl.model_dump())  # written out and loaded again: no second copy
    assert [f.name for f in again.fields] == [f.name for f in tpl.fields]


def test_a_copy_written_out_wins_and_a_missing_field_is_an_error() -> None:
    tpl = Template.model_validate(
        {
            **_tpl().model_dump(exclude={"fields", "groups"}),
            "fields": [
                *(f.model_dump() for f in _tpl().fields[:3]),
                FieldSpec(
                    name="who_2", label="氏名（2人目）", type="name", box=Box(x=51, y=86, w=100, h=9)
                ).model_dump(),
            ],
            "groups": [
                {"name": "row", "label": "行", "fields": ["who", "since"], "count": 2, "step": [0, 25]}
            ],
        }
    )
    assert tpl.field("who_2").label == "氏名（2人目）" and tpl.field("since_2").box.y == 95
    with pytest.raises(ValueError, match="no field named nobody"):
        _tpl(fields=["who", "nobody"])


def test_every_insured_person_on_the_form_is_read() -> None:
    from ocr.reader import read_page
    from synth.samples import make_sample

    tpl = load_template(FORM)
    blocks: dict[str, list[bool]] = {}
    for seed in (11, 12):
        img, truth = make_sample(tpl, seed, font="ipag", profile="office", today=dt.date(2025, 6, 2))
        reading, _ = read_page(img, form_id=FORM)
        for name in ("kana", "name", "individual_number", "birth_date", "insured_type"):
            for i, suffix in enumerate(("", "_2", "_3", "_4"), start=1):
                want = truth["fields"][name + suffix]
                blocks.setdefault(str(i), []).append(reading.fields[name + suffix].value == want)
    shares = {b: sum(v) / len(v) for b, v in blocks.items()}
    assert min(shares.values()) >= 0.8, shares  # persons 2-4 read as person 1 does


def test_a_block_the_bot_would_never_key_is_an_error_before_printing() -> None:
    from authoring.lint import lint_template

    base = load_template("juminhyo_request")  # keyed into demo_legacy, its name among what is keyed
    data = base.model_dump()
    data["groups"] = [{"name": "person", "label": "請求者", "fields": ["name"], "count": 2, "step": [0, 200]}]
    grouped = Template.model_validate(data)
    codes = [(f.code, f.field) for f in lint_template(grouped, others=[]) if f.is_error]
    assert ("group_not_keyed", "person") in codes
    assert "group_not_keyed" not in [f.code for f in lint_template(base, others=[])]

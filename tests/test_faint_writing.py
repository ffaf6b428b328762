"""Writing too faint for the ink mask is doubted, not silently left out of a confident reading.

On harsh scans (a thin pen, blurred, grey) some strokes of a field stay at 150-190 grey after
flattening: lighter than the ink mask's strong level, so the crop was cut to the darker characters and
the digit count, made on the same mask, agreed with the shortened reading ("11" read as a confident
"1", 180,438 as "8"). Small synthetic pages: bars of ink drawn into real legacy-form zones.
"""

from __future__ import annotations

import numpy as np
import pytest

from formkit.layout import FieldLayout, layout
from formkit.registry import load_template
from ocr.align import PX_PER_MM
from ocr.ctc import Decoded
from ocr.fields import COUNT_MISMATCH, FAINT_UNREAD, Zones, plan_date_parts, plan_text, uncounted, unread
from ocr.imaging import faint_marks, hysteresis_ink

DARK, FAINT = 40, 170
FORM = "hihokensha_shikaku_shutoku"


@pytest.fixture(scope="module")
def lays() -> dict[str, FieldLayout]:
    return {lay.spec.name: lay for lay in layout(load_template(FORM))}


def page_with(bars: list[tuple[float, float, float, int]]) -> Zones:
    """A white page at PX_PER_MM with vertical bars ``(x_mm, y_mm, height_mm, grey)`` 0.4 mm wide."""
    k = PX_PER_MM
    page = np.full((int(300 * k), int(210 * k)), 255, np.uint8)
    for x, y, h, g in bars:
        page[round(y * k) : round((y + h) * k), round(x * k) : round(x * k) + 4] = g
    return Zones(page, np.zeros(page.shape, bool), k)


def reasons_of(lay: FieldLayout, z: Zones, *texts: str) -> list[str]:
    plan = plan_text(lay, z) if not lay.parts else plan_date_parts(lay, z)
    assert plan.finish is not None
    assert len(plan.crops) == len(texts)
    reading = plan.finish([Decoded(t, [0.99] * len(t)) for t in texts])
    return [r.code for r in reading.reasons]


def test_faint_marks_are_the_strokes_the_ink_mask_left_out() -> None:
    g = np.full((40, 60), 255, np.uint8)
    g[5:35, 10:14] = DARK  # clear ink
    g[5:35, 30:34] = FAINT  # a faint '1'
    g[20:23, 50:53] = FAINT  # a speck, too short to be writing
    ink = hysteresis_ink(g, 8)
    assert [x for x, *_ in faint_marks(g, ink, 8, 10)] == [30]


def test_unread_and_uncounted() -> None:
    marks = [(30, 5, 4, 30)]
    assert unread(marks, None)
    assert unread(marks, (32, 60))  # cut by the crop
    assert not unread(marks, (0, 60))
    assert uncounted(marks, (0, 60), [(10, 14), (40, 44)]) == 1  # beside the counted marks
    assert uncounted(marks, (0, 60), [(29, 35)]) == 0  # over one (a faint part of a counted mark)


def test_faint_digit_beside_the_crop_sends_an_amount_to_review(lays) -> None:
    lay = lays["salary_cash"]  # zone x 31.0-66.5 mm, y 101.7-105.9 mm
    faint = page_with([(36.0, 102.4, 2.8, FAINT), (45.0, 102.4, 2.8, DARK), (48.0, 102.4, 2.8, DARK)])
    assert FAINT_UNREAD.code in reasons_of(lay, faint, "11")
    dark = page_with([(36.0, 102.4, 2.8, DARK), (45.0, 102.4, 2.8, DARK), (48.0, 102.4, 2.8, DARK)])
    assert reasons_of(lay, dark, "111") == []


def test_faint_digit_inside_the_crop_is_counted(lays) -> None:
    lay = lays["salary_cash"]
    z = page_with([(40.0, 102.4, 2.8, DARK), (43.0, 102.4, 2.8, FAINT), (46.0, 102.4, 2.8, DARK)])
    got = reasons_of(lay, z, "11")  # the faint one dropped by the recogniser
    assert COUNT_MISMATCH.code in got and FAINT_UNREAD.code not in got
    assert reasons_of(lay, z, "101") == []


def test_only_faint_writing_is_not_an_empty_field(lays) -> None:
    lay = lays["salary_cash"]
    plan = plan_text(lay, page_with([(40.0, 102.4, 2.8, FAINT), (43.0, 102.4, 2.8, FAINT)]))
    assert plan.crops == [] and plan.finish is not None
    reading = plan.finish([])
    assert reading.value is None and [r.code for r in reading.reasons] == [FAINT_UNREAD.code]
    blank = plan_text(lay, page_with([]))
    assert blank.finish is not None and blank.finish([]).reasons == []


def test_faint_first_digit_of_a_month_sends_the_date_to_review(lays) -> None:
    lay = lays["submitted_on"]  # 令和 printed; year, month, day boxes at x 16.8, 26.2, 36.5 mm
    bars = [(19.0, 22.4, 2.8, DARK), (31.0, 22.4, 2.8, DARK), (40.0, 22.4, 2.8, DARK)]
    assert reasons_of(lay, page_with(bars), "8", "1", "7") == []
    faint = page_with([*bars, (27.5, 22.4, 2.8, FAINT)])  # "11" with a faint first 1
    assert FAINT_UNREAD.code in reasons_of(lay, faint, "8", "1", "7")

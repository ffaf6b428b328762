"""A counter slip's scan against its expected print (ocr.print_check), on rendered and scanned pages.

The slip is a real 住民票 request printed with typed values (synth.fill.expected_print is what the
check compares with), signed or corrected by a synthetic hand, scanned through the project's own
scan defects (fax, copier, phone photo, on an office scanner's skew, blur, noise and JPEG) and
aligned by the reader's own alignment. What each field should come out as is worked out from the
values, never written down.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest
from reportlab.pdfgen.canvas import Canvas

from formkit.kinds import Shape, Value
from formkit.layout import FieldLayout, layout
from formkit.model import Box, Template
from formkit.registry import load_template
from formkit.render import rasterize_pdf
from formkit.seal import counter_values
from ocr.align import PX_PER_MM, align
from ocr.print_check import (
    AS_PRINTED,
    CORRECTED,
    NOT_AS_PRINTED,
    best_shift,
    check_print,
    has_ink,
    worst_window,
)
from synth.fill import Writer, expected_print, filled_pdf, make_hand, typed_hand, write_correction
from synth.samples import sample_values
from synth.scan import PROFILES, degrade

TODAY = dt.date(2026, 11, 24)
DPI = 200
FORM = "juminhyo_request"


class Slip:
    """One applicant's counter slip: the values, the expected print, and ways to scan it."""

    def __init__(self, seed: int) -> None:
        self.tpl: Template = load_template(FORM)
        values, person = sample_values(self.tpl, random.Random(seed), TODAY)
        self.values = counter_values(self.tpl, values)
        self.signer = person.name
        self.lays = {lay.spec.name: lay for lay in layout(self.tpl)}
        self.signature = next(lay for lay in self.lays.values() if lay.spec.kind.shape is Shape.SIGNATURE)
        self.expected = expected_print(self.tpl, self.values, PX_PER_MM)

    def pdf(
        self, hand_ink: Callable[[Writer], None] | None = None, values: dict[str, Any] | None = None
    ) -> bytes:
        """The slip as printed (with ``values`` instead of its own: another applicant's), and what a
        hand (a KanjiVG writer) then wrote on it."""

        def ink(c: Canvas) -> None:
            if hand_ink is not None:
                hand_ink(Writer(c, self.tpl, make_hand(random.Random(7), writer=3)))

        return filled_pdf(self.tpl, values if values is not None else self.values, typed_hand(), decorate=ink)

    def signed(self, w: Writer) -> None:
        w.signature(self.signer, self.signature.zone)

    def scan(self, pdf: bytes, profile: str, seed: int) -> np.ndarray:
        """The page through ``profile``'s defects at DPI, aligned as the reader aligns it."""
        px = DPI / 25.4
        img, _ = degrade(
            rasterize_pdf(pdf, px, self.tpl.page.width_mm), random.Random(seed), PROFILES[profile], px
        )
        return align(img, [self.tpl], self.tpl.id).image


@pytest.fixture(scope="module")
def slip() -> Slip:
    return Slip(5_000_101)


def _value_span(slip: Slip, lay: FieldLayout) -> Box:
    """Where the typed value lies in its zone (mm), from the expected print's dark pixels there."""
    z = lay.zone
    k = PX_PER_MM
    crop = slip.expected[round(z.y * k) : round(z.y2 * k), round(z.x * k) : round(z.x2 * k)].min(axis=2)
    ys, xs = np.nonzero(crop < 100)
    return Box(
        x=z.x + xs.min() / k, y=z.y + ys.min() / k, w=(xs.max() - xs.min()) / k, h=(ys.max() - ys.min()) / k
    )


@pytest.mark.parametrize("profile", ["fax", "copier", "phone"])
def test_a_signed_slip_as_printed_is_as_printed_under_every_defect(slip: Slip, profile: str) -> None:
    scan = slip.scan(slip.pdf(slip.signed), profile, seed=11)
    checks = check_print(scan, slip.expected, slip.tpl)
    assert slip.signature.spec.name not in checks  # the signature is has_ink's, not compared
    assert set(checks) == {n for n, lay in slip.lays.items() if lay is not slip.signature}
    wrong = {n: c for n, c in checks.items() if c.verdict != AS_PRINTED}
    assert not wrong, wrong
    assert has_ink(scan, slip.signature.zone)


def test_a_struck_through_value_with_another_beside_it_is_corrected(slip: Slip) -> None:
    name = slip.lays["name"]
    other = sample_values(slip.tpl, random.Random(99), TODAY)[0]["name"]
    assert other != slip.values["name"]

    def correct(w: Writer) -> None:
        write_correction(w, name, other, _value_span(slip, name))
        slip.signed(w)

    checks = check_print(slip.scan(slip.pdf(correct), "copier", seed=12), slip.expected, slip.tpl)
    assert checks["name"].verdict == CORRECTED, checks["name"]
    assert checks["name"].missing < checks["name"].extra  # the print is still there, struck through
    wrong = {n: c for n, c in checks.items() if n != "name" and c.verdict != AS_PRINTED}
    assert not wrong, wrong


def test_a_tick_moved_by_hand_is_corrected(slip: Slip) -> None:
    field = next(
        n for n, lay in slip.lays.items() if lay.spec.kind.shape is Shape.TICKS and lay.spec.exclusive
    )
    options = [o.value for o in slip.lays[field].spec.options]
    other = next(o for o in options if o != slip.values[field])

    def correct(w: Writer) -> None:
        write_correction(w, slip.lays[field], other)  # ticked beside, the printed tick left as it is
        slip.signed(w)

    checks = check_print(slip.scan(slip.pdf(correct), "fax", seed=16), slip.expected, slip.tpl)
    assert checks[field].verdict == CORRECTED, checks[field]
    wrong = {n: c for n, c in checks.items() if n != field and c.verdict != AS_PRINTED}
    assert not wrong, wrong


def _strangers(a: Any, b: Any) -> bool:
    """Two texts with no character in common (spaces aside): nothing of one is printed in the other."""
    return isinstance(a, str) and isinstance(b, str) and not (set(a) - {" ", "\u3000"}) & set(b)


def test_another_applicants_slip_is_not_as_printed_where_the_values_differ(slip: Slip) -> None:
    """A seal moved onto someone else's slip, compared with this slip's expected print: every field
    whose value differs is flagged, and a text sharing no character with the expected one (the other
    family's name) is not_as_printed. Fields with the same value stay as printed, except a circled
    option: the typed circle's gap is drawn where the hand's random stream stands, which the other
    values move."""
    other = Slip(5_000_205)
    scan = slip.scan(slip.pdf(values=other.values), "phone", seed=14)
    checks = check_print(scan, slip.expected, slip.tpl)
    changed = {n for n in checks if slip.values.get(n) != other.values.get(n)}
    text = {n for n, lay in slip.lays.items() if lay.spec.kind.value is Value.TEXT}
    strangers = {n for n in changed & text if _strangers(slip.values[n], other.values[n])}
    assert "name" in strangers
    wrong = {n: checks[n] for n in strangers if checks[n].verdict != NOT_AS_PRINTED}
    assert not wrong, wrong
    missed = {n: checks[n] for n in changed if checks[n].verdict == AS_PRINTED}
    assert not missed, missed
    same = {
        n: c
        for n, c in checks.items()
        if n not in changed and slip.lays[n].spec.kind.shape is not Shape.CIRCLE and c.verdict != AS_PRINTED
    }
    assert not same, same
    assert not has_ink(scan, slip.signature.zone)  # nobody signed it


def test_small_misalignment_and_bolder_ink_are_as_printed(slip: Slip) -> None:
    """The expected print itself moved 3 px (0.3 mm) and printed a pixel bolder all round: the same
    paper, so nothing is flagged and nothing is missing."""
    moved = np.roll(slip.expected, (3, -2), axis=(0, 1))
    bolder = cv2.erode(moved, np.ones((3, 3), np.uint8))
    for img in (moved, bolder):
        checks = check_print(img, slip.expected, slip.tpl)
        assert all(c.verdict == AS_PRINTED for c in checks.values()), checks


def test_worst_window_sees_one_changed_character_among_many() -> None:
    """Ten strokes of a value, one of them gone: a tenth of the whole, all of its window."""
    value = np.zeros((60, 400), dtype=bool)
    for i in range(10):
        value[10:50, 20 + 38 * i : 23 + 38 * i] = True
    lost = np.zeros_like(value)
    lost[10:50, 20 + 38 * 4 : 23 + 38 * 4] = True
    assert lost.sum() / value.sum() == pytest.approx(0.1)
    assert worst_window(value, lost, window=30, min_px=40) == pytest.approx(1.0)
    assert worst_window(value, np.zeros_like(value), window=30, min_px=40) == 0.0
    assert worst_window(np.zeros_like(value), lost, window=30, min_px=40) == 0.0


def test_best_shift_finds_the_offset_and_leaves_an_empty_zone_alone() -> None:
    exp = np.zeros((50, 80), dtype=bool)
    exp[20:23, 10:70] = True
    exp[10:40, 40:43] = True
    scan = np.roll(exp, (2, -3), axis=(0, 1))
    assert best_shift(scan, exp, 5) == (2, -3)
    assert best_shift(np.zeros_like(exp), exp, 5) == (0, 0)

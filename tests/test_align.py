"""Identification and alignment on real rendered pages: turned, skewed, at other resolutions."""

import numpy as np
import pytest

from core.errors import AlignmentFailed, BlankPage, UnknownForm
from ocr.align import align


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_any_orientation_is_identified(sample, tpl, k) -> None:
    img, _ = sample(11, dpi=200)
    turned = np.ascontiguousarray(np.rot90(img, k))
    a = align(turned)
    assert a.template.id == tpl.id and a.template.version == tpl.version
    assert a.rotation == (90 * k) % 360 or a.rotation == (360 - 90 * k) % 360
    assert a.print_match > 0.8


@pytest.mark.parametrize("dpi", [150, 300, 400])
def test_resolutions(sample, dpi) -> None:
    img, _ = sample(12, dpi=dpi)
    assert align(img).print_match > 0.8


def test_harsh_scan_still_aligns(sample) -> None:
    img, truth = sample(105, profile="harsh", dpi=200)
    assert align(img).template.id == truth["form"]


def test_blank_page() -> None:
    with pytest.raises(BlankPage) as err:
        align(np.full((1169, 827, 3), 250, np.uint8))
    assert "白紙" in err.value.ja


def test_unknown_page_is_refused_with_a_reason() -> None:
    rng = np.random.default_rng(0)
    img = np.full((1169, 827, 3), 255, np.uint8)
    for _ in range(40):  # "text" lines, no registration marks
        y, x = rng.integers(50, 1100), rng.integers(30, 500)
        img[y : y + 8, x : x + rng.integers(50, 300)] = 30
    with pytest.raises(UnknownForm) as err:
        align(img)
    assert "登録された様式ではありません" in err.value.ja


def test_wrong_form_id_given_is_refused(sample) -> None:
    img, _ = sample(11, dpi=200)
    with pytest.raises(UnknownForm):
        align(img, form_id="no_such_form")


def test_marks_without_a_valid_id_strip(sample, tpl) -> None:
    img, _ = sample(11, dpi=200)
    damaged = img.copy()
    h, w = damaged.shape[:2]
    damaged[: int(h * 0.06), int(w * 0.15) : int(w * 0.7)] = 255  # the strip is torn off
    with pytest.raises(UnknownForm) as err:
        align(damaged)
    assert "様式ID" in err.value.ja


def test_page_that_does_not_match_the_print_is_refused(sample, tpl) -> None:
    # Marks and a valid strip pasted on a page whose print is somewhere else: never read it blindly.
    img, _ = sample(11, dpi=200)
    fake = np.full_like(img, 255)
    h, w = img.shape[:2]
    band = int(h * 0.07)
    fake[:band] = img[:band]
    fake[-band:] = img[-band:]
    fake[band:-band] = np.roll(img[band:-band], int(w * 0.05), axis=1)
    with pytest.raises(AlignmentFailed):
        align(fake)


def test_fax_resolution(sample, tmp_path) -> None:
    """A fax server's 200×100 dpi black-and-white TIFF, read back through the page loader."""
    import cv2
    from PIL import Image

    from ocr.pages import load_pages

    img, _ = sample(13, dpi=200)
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    half = cv2.resize(g, (g.shape[1], g.shape[0] // 2), interpolation=cv2.INTER_AREA)
    bw = Image.fromarray(np.where(half < 160, 0, 255).astype(np.uint8)).convert("1")
    p = tmp_path / "fax.tif"
    bw.save(p, dpi=(200, 100), compression="group4")
    page = load_pages(p)[0]
    assert align(page.image).print_match > 0.7


def test_600_dpi(sample) -> None:
    img, _ = sample(14, dpi=600)
    assert align(img).print_match > 0.8


def test_phone_photo_perspective(sample) -> None:
    import random

    from synth.scan import _perspective

    img, _ = sample(15, dpi=200)
    photo = _perspective(np.asarray(img), random.Random(3))
    assert align(photo).print_match > 0.75

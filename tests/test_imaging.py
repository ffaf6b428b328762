"""Pure imaging helpers on small synthetic images."""

import numpy as np

from ocr.imaging import (
    column_gaps,
    dropout,
    ink_bbox,
    is_color,
    normalize_background,
    printed_text,
    remove_printed,
)


def test_dropout_red_guides_vanish_black_and_blue_ink_stay() -> None:
    img = np.full((20, 30, 3), 255, np.uint8)
    img[:, 5] = (247, 168, 168)  # drop-out guide
    img[5:15, 10] = (20, 20, 25)  # black ink
    img[5:15, 20] = (25, 40, 130)  # blue ink
    g = dropout(img, color=True)
    assert g[10, 5] > 240 and g[10, 10] < 60 and g[10, 20] < 60
    assert is_color(img) and not is_color(np.dstack([g, g, g]))


def test_normalize_background_removes_shadow() -> None:
    x = np.linspace(120, 250, 200, dtype=np.float32)
    g = np.tile(x, (60, 1)).astype(np.uint8)
    g[20:40, 100:103] = 30
    n = normalize_background(g)
    assert n[5, 10] > 230 and n[5, 190] > 230 and n[30, 101] < 100


def test_bbox_gaps_and_printed_removal() -> None:
    m = np.zeros((10, 40), bool)
    m[2:8, 3:8] = True
    m[2:8, 20:25] = True
    assert ink_bbox(m) == (3, 2, 22, 6)
    assert column_gaps(m, 5) == [(8, 20)]
    g = np.full((10, 40), 255, np.uint8)
    g[m] = 0
    printed = np.zeros_like(m)
    printed[:, 20:25] = True
    assert ink_bbox(remove_printed(g, printed) < 128) == (3, 2, 5, 6)


def test_printed_text_leaves_out_ruled_and_dotted_lines() -> None:
    """At 10 px/mm: a ruled cell with a dotted divider and one printed character (口, 3 mm) in it."""
    g = np.full((120, 300), 255, np.uint8)
    g[10:12, 10:290] = g[100:102, 10:290] = 0  # ruled lines across
    g[10:102, 10:12] = g[10:102, 288:290] = 0  # and down
    for y in range(14, 98, 8):
        g[y : y + 3, 150:152] = 0  # a dotted line: 0.3 mm dots, 0.5 mm apart
    g[40:70, 200:203] = g[40:70, 227:230] = g[40:43, 200:230] = g[67:70, 200:230] = 0  # 口
    text = printed_text(g, 10.0, 0)
    assert text[40:70, 200:230].sum() > 300  # the character is text
    assert not text[:, :190].any() and not text[:15].any() and not text[95:].any()  # lines are not
    grown = printed_text(g, 10.0, 4)
    assert grown[36, 215] and not grown[35, 215]  # grown 4 px, like the print the reader removes

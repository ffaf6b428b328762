"""Identify a redesigned form and map the page onto its template's millimetres.

1. Find the four solid registration marks near the image corners (any scan resolution, skew,
   page turned 0/90/180/270°, or a photo in perspective).
2. For each of the four ways the marks can correspond to the template's corners, read the form-ID
   strip through the resulting homography; the one whose checksum holds gives the form, its version
   and the page's orientation at once.
3. Warp the page to the template at ``PX_PER_MM`` and verify: the blank form's black print must be
   found where the template says it is. A page that fails is refused (AlignmentFailed), never read
   with silently wrong crops.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.errors import AlignmentFailed, BlankPage, TemplateError, UnknownForm
from formkit import idcode
from formkit.layout import MARK_SIZE_MM, id_cells, mark_centres
from formkit.model import Box, Template
from formkit.registry import all_templates, by_code
from formkit.render import master_image
from ocr.imaging import gray, is_color, normalize_background

#: The scale a filled scan is warped to (template mm → pixels of ``Aligned.image``, 254 dpi) for reading
#: zones. Not the resolution a blank form is looked at when proposing a template
#: (``authoring.propose.BLANK_PX_PER_MM``, 200 dpi) nor the editor's background (4 px/mm).
PX_PER_MM = 10.0
WORK_LONG_SIDE = 1200
#: Fraction of the blank form's black print that must be found on the aligned page.
MIN_PRINT_MATCH = 0.65
#: Dark ink where the blank form has only paper, relative to the amount of print (see print_match).
#: Measured: aligned scans ≤ 0.01 (harsh profile), a 2 mm misalignment 0.07, 10 mm 0.29.
MAX_STRAY_INK = 0.05
#: The sheet's outer edge (mm) where dark is not counted as stray ink: beyond a skewed or photographed
#: sheet lies the scanner lid or the desk, and a sliver of it along the whole edge, a fraction of a
#: pixel wide, outweighs all the print of a sparse form.
STRAY_EDGE_MM = 1.5


@dataclass(frozen=True)
class Blob:
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class Aligned:
    template: Template
    #: The page warped onto the template, RGB, ``PX_PER_MM`` pixels per millimetre.
    image: np.ndarray
    #: Template millimetres → source image pixels.
    homography: np.ndarray
    #: How far the page was turned clockwise (0, 90, 180, 270).
    rotation: int
    color: bool
    #: Share of the blank form's black print found where expected (1.0 = perfect).
    print_match: float
    #: The page as decoded (``homography``'s target), kept for what the warp's resampling would blur:
    #: a counter slip's QR read from the scan's own pixels (:func:`ocr.qr.source_seal_region`).
    source: np.ndarray | None = field(default=None, repr=False, compare=False)


def _work_image(img: np.ndarray) -> tuple[np.ndarray, float]:
    g = gray(img)
    scale = min(1.0, WORK_LONG_SIDE / max(g.shape))
    if scale < 1.0:
        g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return g, scale


def find_mark_candidates(g: np.ndarray, page_long_mm: float = 297.0) -> list[Blob]:
    """Solid, roughly square dark blobs of about registration-mark size."""
    expected = MARK_SIZE_MM * max(g.shape) / page_long_mm
    k = max(31, int(expected * 3) | 1)
    norm = normalize_background(g) if min(g.shape) > k else g
    _, binary = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    n, _, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    out = []
    for i in range(1, n):
        _x, _y, w, h, area = stats[i]
        side = (w + h) / 2
        if not 0.6 * expected <= side <= 1.7 * expected:
            continue
        if not 0.6 <= w / max(h, 1) <= 1.6:
            continue
        if area / float(w * h) < 0.72:
            continue
        out.append(Blob(float(centroids[i][0]), float(centroids[i][1]), float(side)))
    return out


def corner_marks(cands: list[Blob], shape: tuple[int, int]) -> list[Blob] | None:
    """The candidate nearest each image corner (TL, TR, BR, BL), if all four are plausible."""
    h, w = shape
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    limit = 0.3 * float(np.hypot(w, h))
    chosen: list[Blob] = []
    for cx, cy in corners:
        best = min(cands, key=lambda b: np.hypot(b.x - cx, b.y - cy), default=None)
        if best is None or np.hypot(best.x - cx, best.y - cy) > limit or best in chosen:
            return None
        chosen.append(best)
    return chosen


def _refine(img_gray: np.ndarray, x: float, y: float, size: float) -> tuple[float, float]:
    """Centroid of the mark at full resolution (the working image is downscaled)."""
    r = int(size)
    x0, y0 = max(int(x) - r, 0), max(int(y) - r, 0)
    win = img_gray[y0 : int(y) + r, x0 : int(x) + r]
    if win.size == 0:
        return x, y
    _, b = cv2.threshold(win, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, _, stats, cents = cv2.connectedComponentsWithStats(b, connectivity=8)
    if n < 2:
        return x, y
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return x0 + float(cents[i][0]), y0 + float(cents[i][1])


def _homography(tpl_pts: list[tuple[float, float]], img_pts: list[tuple[float, float]]) -> np.ndarray:
    return cv2.getPerspectiveTransform(
        np.array(tpl_pts, dtype=np.float32), np.array(img_pts, dtype=np.float32)
    )


def _plausible(h_mm: np.ndarray, tpl: Template) -> bool:
    """Reject correspondences that would stretch the page very differently in x and y."""
    w, hh = tpl.page.width_mm, tpl.page.height_mm
    pts = cv2.perspectiveTransform(np.array([[[0, 0], [w, 0], [0, hh]]], dtype=np.float32), h_mm)[0]
    sx = float(np.hypot(*(pts[1] - pts[0]))) / w
    sy = float(np.hypot(*(pts[2] - pts[0]))) / hh
    return 0.75 < sx / max(sy, 1e-6) < 1.33


def read_id_strip(img_gray: np.ndarray, h_mm: np.ndarray) -> tuple[int, int] | None:
    """Decode the form-ID strip through a candidate homography; None if it is not a valid strip."""
    cells = id_cells()
    centres = np.array([[[c.x + c.w / 2, c.y + c.h / 2] for c in cells]], dtype=np.float32)
    pts = cv2.perspectiveTransform(centres, h_mm)[0]
    # Half a cell, in image pixels, around each centre.
    px_per_mm = float(np.hypot(*(pts[1] - pts[0]))) / cells[0].w
    r = max(1, int(px_per_mm * cells[0].w * 0.25))
    hgt, wid = img_gray.shape
    values = []
    for x, y in pts:
        xi, yi = round(x), round(y)
        if not (r <= xi < wid - r and r <= yi < hgt - r):
            return None
        values.append(float(img_gray[yi - r : yi + r + 1, xi - r : xi + r + 1].mean()))
    v = np.array(values)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 60:
        return None
    thresh = (lo + hi) / 2
    if np.any(np.abs(v - thresh) < 0.15 * (hi - lo)):
        return None  # a cell neither clearly black nor clearly white
    return idcode.decode([1 if x < thresh else 0 for x in v])


def warp(img: np.ndarray, h_mm: np.ndarray, tpl: Template, px_per_mm: float = PX_PER_MM) -> np.ndarray:
    scale = np.diag([1 / px_per_mm, 1 / px_per_mm, 1.0])
    h_px = h_mm @ scale  # template pixels → image pixels
    size = (round(tpl.page.width_mm * px_per_mm), round(tpl.page.height_mm * px_per_mm))
    return cv2.warpPerspective(
        img,
        h_px,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )


@functools.lru_cache(maxsize=64)
def _seal_area_of(tpl_key: str, tpl_json: str) -> Box | None:
    from formkit.layout import seal_box

    tpl = Template.model_validate_json(tpl_json)
    try:
        return seal_box(tpl).grow(2.0)
    except TemplateError:
        return None  # no room for a seal: never printed at the counter


def _seal_area(tpl: Template) -> Box | None:
    """Where a counter slip of this form carries its QR (redesigned forms only)."""
    if tpl.legacy or tpl.code is None:
        return None
    return _seal_area_of(tpl.key, tpl.model_dump_json())


def _zones_mask(tpl: Template, shape: tuple[int, int], px_per_mm: float) -> np.ndarray:
    from formkit.layout import layout

    # Field zones, and framed areas such as the staff-only boxes where stamps and notes go.
    return _zones_mask_boxes(
        [lay.zone for lay in layout(tpl)] + [st.box for st in tpl.static if st.frame], shape, px_per_mm
    )


def _zones_mask_boxes(boxes: list[Box], shape: tuple[int, int], px_per_mm: float) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    for b in boxes:
        m[
            int(b.y * px_per_mm) : int(b.y2 * px_per_mm) + 1, int(b.x * px_per_mm) : int(b.x2 * px_per_mm) + 1
        ] = True
    return m


def print_match(aligned_rgb: np.ndarray, tpl: Template, px_per_mm: float = PX_PER_MM) -> tuple[float, float]:
    """How well the aligned page agrees with the blank form, at 4 px/mm.

    Returns (found, stray): the share of the form's black print that is dark on the page (1 px
    tolerance), and the dark ink outside anything the form printed or any field zone (or the sheet's
    outer edge, ``STRAY_EDGE_MM``), relative to the amount of print. A shifted or wrong page loses
    ``found`` and, more tellingly, gains ``stray``: its printed labels land where the form has blank
    paper.
    """
    small = 4.0
    f = small / px_per_mm
    page = cv2.resize(gray(aligned_rgb), None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    master = gray(master_image(tpl, small))
    master = cv2.resize(master, (page.shape[1], page.shape[0]), interpolation=cv2.INTER_AREA)
    black = master < 110
    if not black.any():
        return 1.0, 0.0
    page = normalize_background(page)
    darkest = cv2.erode(page, np.ones((3, 3), np.uint8))
    found = float((darkest[black] < 170).mean())
    allowed = cv2.dilate((master < 235).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    allowed |= _zones_mask(tpl, page.shape, small)
    seal = _seal_area(tpl)
    if seal is not None:  # a counter slip's QR (書かない窓口) is print the blank form does not have
        allowed |= _zones_mask_boxes([seal], page.shape, small)
    edge = max(1, round(STRAY_EDGE_MM * small))
    allowed[:edge] = allowed[-edge:] = True
    allowed[:, :edge] = allowed[:, -edge:] = True
    stray = float(((page < 110) & ~allowed).sum()) / float(black.sum())
    return found, stray


def is_blank(img: np.ndarray) -> bool:
    g, _ = _work_image(img)
    norm = normalize_background(g)
    return float((norm < 128).mean()) < 0.0015


def verified(img: np.ndarray, h_mm: np.ndarray | list[np.ndarray], tpl: Template, rotation: int) -> Aligned:
    """Warp onto the template and check the print is where it should be; refuse otherwise.

    Given several candidate homographies, the one whose warp agrees best with the blank form wins.
    """
    best: tuple[float, float, float, np.ndarray, np.ndarray] | None = None
    for h in h_mm if isinstance(h_mm, list) else [h_mm]:
        candidate = warp(img, h, tpl)
        found, stray_ink = print_match(candidate, tpl)
        if best is None or found - stray_ink > best[0]:
            best = (found - stray_ink, found, stray_ink, candidate, h)
    assert best is not None
    _, match, stray, aligned, h_mm = best
    if match < MIN_PRINT_MATCH or stray > MAX_STRAY_INK:
        raise AlignmentFailed(
            "用紙の位置合わせに失敗しました（印刷された枠が予定の位置にありません）。まっすぐスキャンし直してください",
            "alignment failed: the printed form is not where the template expects it; rescan the page straight",
            detail=f"{tpl.key}: {match:.0%} of the print found, stray ink {stray:.0%}",
        )
    return Aligned(tpl, aligned, h_mm, rotation, is_color(img), match, source=img)


def rotation_of(h_mm: np.ndarray) -> int:
    """How far the page was turned (0/90/180/270), from the direction the template's x axis points."""
    p = cv2.perspectiveTransform(np.array([[[0, 0], [100, 0]]], dtype=np.float32), h_mm)[0]
    angle = float(np.degrees(np.arctan2(p[1][1] - p[0][1], p[1][0] - p[0][0])))
    return round(angle / 90.0) % 4 * 90


def _redesigned(
    img: np.ndarray, marks: list[Blob], scale: float, pool: list[Template], form_id: str | None
) -> Aligned | tuple[int, int] | None:
    """Align by registration marks; the form-ID it decoded if no template here has it; None if none."""
    g_full = gray(img)
    img_pts = [_refine(g_full, b.x / scale, b.y / scale, b.size / scale) for b in marks]
    redesigned = [t for t in pool if not t.legacy]
    wanted = [t for t in redesigned if t.id == form_id] if form_id else redesigned
    if not redesigned:
        return None
    geometry = redesigned[0]
    decoded: tuple[int, int] | None = None
    for k in range(4):
        tpl_pts = mark_centres(geometry)
        corr = [img_pts[(j + k) % 4] for j in range(4)]
        h_mm = _homography(tpl_pts, corr)
        if not _plausible(h_mm, geometry):
            continue
        ident = read_id_strip(g_full, h_mm)
        if ident is None:
            continue
        decoded = ident
        tpl = next((t for t in wanted if (t.code, t.version) == ident), None)
        if tpl is None and not form_id:
            tpl = by_code(*ident)
        if tpl is None:
            continue
        if mark_centres(tpl) != tpl_pts:
            h_mm = _homography(mark_centres(tpl), corr)
        return verified(img, h_mm, tpl, 90 * k)
    return decoded


def align(img: np.ndarray, templates: list[Template] | None = None, form_id: str | None = None) -> Aligned:
    """Identify and align one page; raises UnknownForm, AlignmentFailed or BlankPage with a reason.

    Redesigned forms are found by their registration marks and form-ID strip; pages without them are
    registered against the blank masters of the legacy templates (:mod:`ocr.legacy`).
    """
    if is_blank(img):
        raise BlankPage("白紙のページです（何も書かれていません）", "the page is blank")
    pool = templates if templates is not None else all_templates()
    if form_id and not any(t.id == form_id for t in pool):
        raise UnknownForm(f"様式 {form_id} は登録されていません", f"form {form_id} is not registered")
    if not pool:
        raise UnknownForm("様式が1つも登録されていません", "no form templates are installed")
    work, scale = _work_image(img)
    cands = find_mark_candidates(work)
    marks = corner_marks(cands, work.shape)
    decoded: tuple[int, int] | None = None
    if marks is not None:
        found = _redesigned(img, marks, scale, pool, form_id)
        if isinstance(found, Aligned):
            return found
        decoded = found
    legacy = [t for t in pool if t.legacy and (not form_id or t.id == form_id)]
    if legacy and decoded is None:
        from ocr.legacy import register

        match = register(img, legacy)
        if match is not None:
            return verified(img, match.homographies, match.template, rotation_of(match.homographies[0]))
    if decoded is not None:
        code, version = decoded
        raise UnknownForm(
            f"様式ID {code}-{version:02d} はこのシステムに登録されていません"
            + (f"（{form_id} ではありません）" if form_id else ""),
            f"form ID {code}-{version:02d} is not registered here" + (f" (not {form_id})" if form_id else ""),
        )
    if marks is not None:
        raise UnknownForm(
            "様式IDを読み取れません（用紙上部の黒い帯が汚れているか、登録された様式ではありません）",
            "the form-ID strip cannot be read (smudged, or not a registered form)",
        )
    if form_id:
        raise AlignmentFailed(
            "用紙の位置合わせができません（四隅のマーク■も、様式の罫線・文字も見つかりません）。用紙全体をスキャンし直してください",
            "cannot align the page (no registration marks, and the form's own print was not recognised): rescan the whole page",
            detail=form_id,
        )
    raise UnknownForm(
        "登録された様式ではありません（四隅の位置合わせマーク■も、登録済みの様式の罫線・文字も見つかりません）",
        "not a registered form (no registration marks, and no registered legacy form matches)",
        detail=f"{len(cands)} mark-like shapes",
    )

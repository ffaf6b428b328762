"""Registering a legacy form (one the city cannot redesign yet) against its blank master.

Legacy forms carry no registration marks and no form-ID strip, so both identification and alignment
come from the form's own print: ORB features of the page are matched to the features of each legacy
template's blank master (rendered from the same file the template names), a RANSAC homography is
fitted, and the template with the most consistent matches wins. ORB is rotation-invariant and its
scale pyramid absorbs resolution differences, so turned pages, 150–600 dpi, faxes and phone photos
register the same way. RANSAC on ORB keypoints is only good to about a millimetre, and how good
varies from one page (or one way round of the same page) to the next, so the result is refined with
ECC on the print, with the page's lighting divided out, and verified like any alignment
(``ocr.align.print_match``, which allows a quarter of a millimetre).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from formkit.model import Template
from formkit.render import master_image
from ocr.imaging import gray, normalize_background

#: Resolution at which masters and pages are compared (pixels per millimetre).
WORK_PX_PER_MM = 4.0
ORB_FEATURES = 6000
#: Fewer consistent matches than this and the page is not that form.
MIN_INLIERS = 80
MIN_INLIER_RATIO = 0.25
#: The margin along the sheet's edge that ECC refinement leaves out (millimetres).
ECC_EDGE_MM = 3.0


@dataclass(frozen=True)
class LegacyMatch:
    template: Template
    #: Template millimetres → source image pixels: the ECC-refined estimate first, then RANSAC's own.
    homographies: list[np.ndarray]
    inliers: int
    ratio: float


def _orb() -> Any:
    return cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=ORB_FEATURES, scaleFactor=1.2, nlevels=8, edgeThreshold=15, patchSize=31, fastThreshold=12
    )


@lru_cache(maxsize=32)
def _master_features(tpl_key: str, tpl_json: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tpl = Template.model_validate_json(tpl_json)
    g = gray(master_image(tpl, WORK_PX_PER_MM))
    kps, desc = _orb().detectAndCompute(g, None)
    pts = np.array([k.pt for k in kps], dtype=np.float32)
    return pts, desc, g


def master_features(tpl: Template) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _master_features(tpl.key, tpl.model_dump_json())


def _page_features(
    img: np.ndarray, long_side: int
) -> tuple[np.ndarray, np.ndarray | None, float, np.ndarray]:
    g = gray(img)
    scale = long_side / max(g.shape)
    small = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else g
    scale = min(scale, 1.0)
    kps, desc = _orb().detectAndCompute(small, None)
    return np.array([k.pt for k in kps], dtype=np.float32), desc, scale, small


def _match(page_desc: np.ndarray, master_desc: np.ndarray) -> list[tuple[int, int]]:
    """(page index, master index) pairs passing Lowe's ratio test."""
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(page_desc, master_desc, k=2)
    return [
        (m.queryIdx, m.trainIdx)
        for m, n in (p for p in pairs if len(p) == 2)
        if m.distance < 0.8 * n.distance
    ]


def _refine_ecc(master: np.ndarray, page_small: np.ndarray, h_master_to_small: np.ndarray) -> np.ndarray:
    """Polish the homography on the form's print (ECC); keep the RANSAC estimate if ECC does not converge.

    The RANSAC fit on ORB keypoints can be off by up to its tolerance (about a millimetre), more than
    the print check allows (a quarter of a millimetre), so this step is what lets a harsh scan pass.
    The page's lighting is divided out first and the sheet's edge left out: a shadow across the page,
    a grey photocopy or the dark scanner lid beyond a skewed sheet otherwise outweigh the print in
    the correlation, and ECC wanders off or stops without converging.
    """
    try:
        warped = cv2.warpPerspective(
            page_small,
            h_master_to_small,
            (master.shape[1], master.shape[0]),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderValue=255,
        )
        template = cv2.GaussianBlur(255 - master, (5, 5), 0).astype(np.float32)
        inp = cv2.GaussianBlur(255 - normalize_background(warped), (5, 5), 0).astype(np.float32)
        edge = round(ECC_EDGE_MM * WORK_PX_PER_MM)
        mask = np.zeros(master.shape[:2], np.uint8)
        mask[edge:-edge, edge:-edge] = 255
        warp = np.eye(3, dtype=np.float32)
        # 1e-4: some pages never met 1e-5 and ran all 60 steps (3-4 s) to the same fit.
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-4)
        _, warp = cv2.findTransformECC(template, inp, warp, cv2.MOTION_HOMOGRAPHY, criteria, mask, 5)
        # warp maps master coordinates to the warped page's; compose with the first estimate.
        return h_master_to_small @ warp.astype(np.float64)
    except cv2.error:
        return h_master_to_small


def register(img: np.ndarray, templates: list[Template]) -> LegacyMatch | None:
    """The legacy template this page is, with its homography; None if none matches well enough."""
    if not templates:
        return None
    long_mm = max(max(t.page.width_mm, t.page.height_mm) for t in templates)
    pts, desc, scale, small = _page_features(img, int(long_mm * WORK_PX_PER_MM * 1.1))
    if desc is None or len(pts) < MIN_INLIERS:
        return None
    best: tuple[int, float, Template, np.ndarray] | None = None
    for tpl in templates:
        m_pts, m_desc, _ = master_features(tpl)
        if m_desc is None:
            continue
        pairs = _match(desc, m_desc)
        if len(pairs) < MIN_INLIERS:
            continue
        src = m_pts[[j for _, j in pairs]]
        dst = pts[[i for i, _ in pairs]]
        h, mask = cv2.findHomography(src, dst, cv2.RANSAC, 4.0, maxIters=4000, confidence=0.999)
        if h is None:
            continue
        inliers = int(mask.sum())
        ratio = inliers / len(pairs)
        if inliers >= MIN_INLIERS and ratio >= MIN_INLIER_RATIO and (best is None or inliers > best[0]):
            best = (inliers, ratio, tpl, h)
    if best is None:
        return None
    inliers, ratio, tpl, h = best
    _, _, master = master_features(tpl)
    refined = _refine_ecc(master, small, h)
    # template mm → master px (×4) → small page px (h) → source px (÷ scale)
    to_mm = [
        np.diag([1 / scale, 1 / scale, 1.0]) @ x @ np.diag([WORK_PX_PER_MM, WORK_PX_PER_MM, 1.0])
        for x in (refined, h)
    ]
    return LegacyMatch(tpl, to_mm, inliers, ratio)

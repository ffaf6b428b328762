"""Making a clean rendered page look scanned: the defects real scanners, copiers and faxes add.

Pure functions on numpy images (RGB, uint8). A :class:`ScanProfile` says how hard to be; every
random choice comes from the caller's ``random.Random`` so a sample is reproducible from its seed.

Each defect has a name (:data:`DEFECTS`), so that :mod:`synth.splits` can say which ones
calibration may see and which are kept for measuring only. ``office`` and ``harsh`` keep their
original draws (tests and past bench figures depend on them); newer profiles list named defects
with a probability each (``ScanProfile.defects``), applied where they happen in real life: on the
paper before it is scanned (a red seal, the back page showing through), by the device (fax, copier,
phone camera, low resolution), or on the way out (heavy JPEG). The ``strikeout`` defect happens while
writing, so :func:`synth.fill.make_hand` applies it; the profile only carries its probability.
"""

from __future__ import annotations

import io
import random
from dataclasses import asdict, dataclass, replace
from functools import cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class ScanProfile:
    name: str
    max_skew_deg: float = 0.0
    max_shift_mm: float = 0.0
    scale_jitter: float = 0.0
    noise_sigma: float = 0.0
    blur_max: float = 0.0
    jpeg_quality: tuple[int, int] | None = None
    #: Probability of turning the page 90/180/270 degrees (fed the wrong way).
    rotate_prob: float = 0.0
    shadow_prob: float = 0.0
    fax_prob: float = 0.0
    photocopy_prob: float = 0.0
    perspective_prob: float = 0.0
    grayscale_prob: float = 0.0
    #: Named defects (keys of :data:`DEFECTS`) with the probability each is applied to a page.
    defects: tuple[tuple[str, float], ...] = ()

    def named_defects(self) -> set[str]:
        """Every named defect this profile can apply, the legacy probability fields included."""
        legacy = {
            "rotate": self.rotate_prob,
            "shadow": self.shadow_prob,
            "fax": self.fax_prob,
            "photocopy": self.photocopy_prob,
            "perspective": self.perspective_prob,
            "grayscale": self.grayscale_prob,
        }
        return {n for n, p in legacy.items() if p} | {n for n, p in self.defects if p}

    def defect_prob(self, name: str) -> float:
        return max((p for n, p in self.defects if n == name), default=0.0)


@dataclass(frozen=True)
class Defect:
    name: str
    #: "ink" (while writing), "paper" (on the sheet before scanning), "scan" (the device), "file".
    stage: str
    what: str


DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in [
        Defect("rotate", "scan", "page fed turned 90/180/270 degrees"),
        Defect("shadow", "scan", "a lighting gradient across the page"),
        Defect("perspective", "scan", "the page as a quadrilateral (photographed at an angle)"),
        Defect("grayscale", "scan", "scanned in grey"),
        Defect("fax", "scan", "1-bit at 200 × 100 dpi (fine/normal fax), stretched back, with line streaks"),
        Defect("photocopy", "scan", "copier: contrast, grey background, toner speckle, dark edge band"),
        Defect(
            "phone_photo",
            "scan",
            "phone camera: perspective, desk, uneven light, shadow of the hand, defocus",
        ),
        Defect("low_dpi", "scan", "scanned at 150 dpi"),
        Defect("heavy_jpeg", "file", "saved as JPEG at quality 8-25"),
        Defect("bleed_through", "paper", "the back page showing through, mirrored and faint"),
        Defect("stamp", "paper", "a red 印 seal pressed over the name"),
        Defect("strikeout", "ink", "one character crossed out with a double line and written again"),
    ]
}

#: Every page gets these from the scanner itself; they belong to no split.
BASICS = ("skew", "shift", "scale", "blur", "noise", "jpeg")


PROFILES = {
    "clean": ScanProfile("clean"),
    # A decent office scanner: what the demo and the end-to-end tests use.
    "office": ScanProfile(
        "office",
        max_skew_deg=1.0,
        max_shift_mm=2.0,
        scale_jitter=0.01,
        noise_sigma=4.0,
        blur_max=0.6,
        jpeg_quality=(80, 92),
    ),
    # Everything the reader must survive: for the benchmark.
    "harsh": ScanProfile(
        "harsh",
        max_skew_deg=5.0,
        max_shift_mm=4.0,
        scale_jitter=0.03,
        noise_sigma=10.0,
        blur_max=1.2,
        jpeg_quality=(30, 70),
        rotate_prob=0.15,
        shadow_prob=0.25,
        fax_prob=0.1,
        photocopy_prob=0.15,
        perspective_prob=0.1,
        grayscale_prob=0.15,
    ),
}
_OFFICE = PROFILES["office"]
PROFILES |= {
    # Calibration material (synth.splits.TUNE): one named defect each, on an office scan.
    "fax": replace(_OFFICE, name="fax", defects=(("fax", 1.0),)),
    "copier": replace(_OFFICE, name="copier", defects=(("photocopy", 1.0), ("grayscale", 0.3))),
    "lowres": replace(_OFFICE, name="lowres", defects=(("low_dpi", 1.0), ("shadow", 0.3))),
    "stamped": replace(_OFFICE, name="stamped", defects=(("stamp", 1.0), ("rotate", 0.2))),
    # Never tuned on (synth.splits.HOLDOUT).
    "phone": replace(
        _OFFICE,
        name="phone",
        max_skew_deg=0.0,
        max_shift_mm=0.0,
        scale_jitter=0.0,
        defects=(("phone_photo", 1.0), ("heavy_jpeg", 0.3)),
    ),
    "bleed": replace(_OFFICE, name="bleed", defects=(("bleed_through", 1.0), ("strikeout", 0.5))),
    "crushed": replace(_OFFICE, name="crushed", defects=(("heavy_jpeg", 1.0), ("strikeout", 0.3))),
    "phone_bleed": replace(
        _OFFICE,
        name="phone_bleed",
        max_skew_deg=0.0,
        max_shift_mm=0.0,
        scale_jitter=0.0,
        defects=(("phone_photo", 1.0), ("bleed_through", 1.0), ("strikeout", 0.3)),
    ),
}


def _affine(img: np.ndarray, rng: random.Random, p: ScanProfile, px_per_mm: float) -> tuple[np.ndarray, dict]:
    # The scanner bed is larger than the sheet: a skewed page is not cut off at its corners.
    margin = int(
        np.ceil(np.tan(np.radians(p.max_skew_deg)) * max(img.shape[:2]) / 2 + p.max_shift_mm * px_per_mm)
    )
    if margin > 0:
        img = cv2.copyMakeBorder(
            img, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=(255, 255, 255)
        )
    h, w = img.shape[:2]
    angle = rng.uniform(-p.max_skew_deg, p.max_skew_deg)
    scale = 1 + rng.uniform(-p.scale_jitter, p.scale_jitter)
    dx = rng.uniform(-p.max_shift_mm, p.max_shift_mm) * px_per_mm
    dy = rng.uniform(-p.max_shift_mm, p.max_shift_mm) * px_per_mm
    m = np.asarray(cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale), dtype=np.float64)
    m[:, 2] += (dx, dy)
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    return out, {"skew_deg": round(angle, 2), "scale": round(scale, 4), "shift_px": [round(dx), round(dy)]}


def _perspective(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A phone photo: the page as a quadrilateral on a darker background."""
    h, w = img.shape[:2]
    d = 0.06
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = np.array(
        [
            [w * rng.uniform(0, d), h * rng.uniform(0, d)],
            [w * (1 - rng.uniform(0, d)), h * rng.uniform(0, d)],
            [w * (1 - rng.uniform(0, d)), h * (1 - rng.uniform(0, d))],
            [w * rng.uniform(0, d), h * (1 - rng.uniform(0, d))],
        ],
        dtype=np.float32,
    )
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), borderValue=(90, 85, 80))


def _shadow(img: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    x = np.linspace(0, 1, w)[None, :]
    y = np.linspace(0, 1, h)[:, None]
    ax, ay = rng.uniform(-1, 1), rng.uniform(-1, 1)
    grad = np.clip(0.5 + ax * (x - 0.5) + ay * (y - 0.5), 0, 1)
    factor = 1 - rng.uniform(0.15, 0.35) * grad
    return np.clip(img.astype(np.float32) * factor[..., None], 0, 255).astype(np.uint8)


def _photocopy(img: np.ndarray, rng: random.Random) -> np.ndarray:
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = (gray - 128) * rng.uniform(1.2, 1.6) + 128 + rng.uniform(-10, 20)
    speckle = np.array(rng.random() * 0.002)
    out = np.clip(gray, 0, 255).astype(np.uint8)
    nprng = np.random.default_rng(rng.randrange(2**32))
    dots = nprng.random(out.shape) < float(speckle)
    out[dots] = 0
    return cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)


def fax(img: np.ndarray, rng: random.Random | None, px_per_mm: float) -> np.ndarray:
    """A fax: 1-bit at 200 dpi across and 100 dpi down (normal mode), stored back at the page's size.

    With ``rng`` the threshold varies and a few scan lines drop out or smear, as on a noisy line."""
    h, w = img.shape[:2]
    dpi = px_per_mm * 25.4
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(
        gray, (max(1, int(w * 200 / dpi)), max(1, int(h * 100 / dpi))), interpolation=cv2.INTER_AREA
    )
    threshold = 160 if rng is None else rng.uniform(135, 175)
    bw = np.where(small < threshold, 0, 255).astype(np.uint8)
    if rng is not None:
        for _ in range(rng.randint(0, 4)):
            y = rng.randrange(bw.shape[0])
            bw[y] = 255 if rng.random() < 0.6 else bw[max(0, y - 1)]
    big = cv2.resize(bw, (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(big, cv2.COLOR_GRAY2RGB)


def _fax(img: np.ndarray, px_per_mm: float) -> np.ndarray:
    return fax(img, None, px_per_mm)


def photocopy(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A copier's copy: harder contrast, a grey page, toner specks in clusters, a dark band where the
    lid did not close."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = (gray - 128) * rng.uniform(1.2, 1.7) + 128
    paper = rng.uniform(195, 235)
    gray = np.minimum(gray, paper) - (255 - paper) * 0.15
    h, w = gray.shape
    nprng = np.random.default_rng(rng.randrange(2**32))
    seeds = nprng.random((h, w)) < rng.uniform(0.0002, 0.0015)
    specks = cv2.dilate(seeds.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    gray[specks] = nprng.uniform(20, 90, int(specks.sum()))
    if rng.random() < 0.6:
        band = max(2, int(w * rng.uniform(0.005, 0.02)))
        side = rng.choice(["left", "right", "top", "bottom"])
        sl = {
            "left": np.s_[:, :band],
            "right": np.s_[:, w - band :],
            "top": np.s_[:band, :],
            "bottom": np.s_[h - band :, :],
        }[side]
        gray[sl] = gray[sl] * rng.uniform(0.1, 0.4)
    out = np.clip(gray, 0, 255).astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)


def phone_photo(img: np.ndarray, rng: random.Random) -> np.ndarray:
    """A phone photo of the sheet on a desk: perspective, warm light falling off to one side,
    the soft shadow of the hand holding the phone, vignetting and a little defocus."""
    h, w = img.shape[:2]
    d = rng.uniform(0.03, 0.09)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = np.array(
        [[w * rng.uniform(0, d) + w * 0.04, h * rng.uniform(0, d) + h * 0.03] for _ in range(4)],
        dtype=np.float32,
    )
    dst[1, 0] = w - dst[1, 0]
    dst[2] = [w - dst[2, 0], h - dst[2, 1]]
    dst[3, 1] = h - dst[3, 1]
    desk = tuple(int(c) for c in (rng.uniform(60, 140), rng.uniform(50, 120), rng.uniform(40, 100)))
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=desk).astype(np.float32)
    # The light is smooth: work it out on a small grid and scale it up.
    sw, sh = max(8, w // 8), max(8, h // 8)
    x = np.linspace(-1, 1, sw, dtype=np.float32)[None, :]
    y = np.linspace(-1, 1, sh, dtype=np.float32)[:, None]
    ax, ay = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5)
    light = 1 - 0.25 * np.clip(ax * x + ay * y + 0.3, 0, 1.5) - 0.12 * (x * x + y * y)
    cx, cy, r = rng.uniform(-1, 1), rng.uniform(0.2, 1.2), rng.uniform(0.4, 0.9)
    hand = np.clip(1 - np.hypot(x - cx, (y - cy) * 1.4) / r, 0, 1).astype(np.float32)
    light *= 1 - rng.uniform(0.2, 0.45) * cv2.GaussianBlur(hand, (0, 0), 3)
    light = cv2.resize(light.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    cast = np.array([1.0, rng.uniform(0.93, 0.99), rng.uniform(0.82, 0.95)], dtype=np.float32)
    out = out * light[..., None] * cast
    sigma = rng.uniform(0.5, 1.4)
    out = cv2.GaussianBlur(out, (0, 0), sigma)
    nprng = np.random.default_rng(rng.randrange(2**32))
    out += (nprng.standard_normal((h, w), dtype=np.float32) * rng.uniform(2, 6))[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def low_dpi(img: np.ndarray, px_per_mm: float, dpi: int = 150) -> tuple[np.ndarray, float]:
    """The page as a scanner set to ``dpi`` delivers it (smaller image); the new px per mm."""
    k = dpi / (px_per_mm * 25.4)
    if k >= 1:
        return img, px_per_mm
    h, w = img.shape[:2]
    out = cv2.resize(img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    return out, px_per_mm * k


def heavy_jpeg(img: np.ndarray, rng: random.Random) -> tuple[np.ndarray, int]:
    q = rng.randint(8, 25)
    return jpeg_roundtrip(img, q), q


def bleed_through(img: np.ndarray, rng: random.Random, back: np.ndarray | None = None) -> np.ndarray:
    """Thin paper: the back page (by default this page's own print, as on a double-sided form) shows
    through mirrored, blurred and faint."""
    b = img if back is None else back
    if b.shape[:2] != img.shape[:2]:
        b = cv2.resize(b, (img.shape[1], img.shape[0]))
    b = np.ascontiguousarray(b[:, ::-1])
    h, w = img.shape[:2]
    shift = np.array(
        [[1, 0, rng.uniform(-0.02, 0.02) * w], [0, 1, rng.uniform(-0.02, 0.02) * h]], dtype=np.float32
    )
    b = cv2.warpAffine(b, shift, (w, h), borderValue=(255, 255, 255))
    b = cv2.GaussianBlur(b, (0, 0), rng.uniform(1.0, 2.5)).astype(np.float32)
    alpha = rng.uniform(0.08, 0.22)
    dark = 1 - alpha * (1 - cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255)
    return np.clip(img.astype(np.float32) * dark[..., None], 0, 255).astype(np.uint8)


@cache
def _seal_font(px: int) -> ImageFont.FreeTypeFont:
    from formkit.fonts import FORM_FONT, font_path

    return ImageFont.truetype(str(font_path("ipam" if FORM_FONT == "ipag" else FORM_FONT)), px)


def stamp(
    img: np.ndarray,
    rng: random.Random,
    px_per_mm: float,
    boxes: list[tuple[int, int, int, int]],
    text: str = "印",
) -> np.ndarray:
    """A red seal (印鑑) pressed over the end of a name: a ring with a character, unevenly inked,
    laid over what is written there (vermilion multiplies with the ink under it)."""
    if not boxes:
        return img
    x0, y0, x1, y1 = boxes[rng.randrange(len(boxes))]
    d = int(rng.uniform(10, 15) * px_per_mm)
    cx = int(x0 + (x1 - x0) * rng.uniform(0.35, 0.95))
    cy = int((y0 + y1) / 2 + rng.uniform(-0.3, 0.3) * (y1 - y0))
    seal = Image.new("L", (d, d), 0)
    draw = ImageDraw.Draw(seal)
    ring = max(2, d // 14)
    draw.ellipse((ring, ring, d - ring, d - ring), outline=255, width=ring)
    font = _seal_font(max(8, int(d * 0.62)))
    draw.text((d / 2, d / 2), text[:1], fill=255, font=font, anchor="mm")
    mask = np.asarray(seal, dtype=np.float32) / 255
    mask = cv2.warpAffine(mask, cv2.getRotationMatrix2D((d / 2, d / 2), rng.uniform(-20, 20), 1.0), (d, d))
    nprng = np.random.default_rng(rng.randrange(2**32))
    patchy = cv2.GaussianBlur(nprng.random((d, d)).astype(np.float32), (0, 0), max(1.0, d / 40))
    mask *= np.clip((patchy - patchy.min()) / max(float(np.ptp(patchy)), 1e-6) * 1.6, 0.2, 1.0)
    mask *= rng.uniform(0.75, 1.0)
    red = np.array([205, 35, 45], dtype=np.float32) / 255
    out = img.astype(np.float32)
    h, w = out.shape[:2]
    ax0, ay0 = max(0, cx - d // 2), max(0, cy - d // 2)
    ax1, ay1 = min(w, ax0 + d), min(h, ay0 + d)
    if ax1 <= ax0 or ay1 <= ay0:
        return img
    m = mask[: ay1 - ay0, : ax1 - ax0, None]
    region = out[ay0:ay1, ax0:ax1]
    out[ay0:ay1, ax0:ax1] = region * (1 - m) + region * red * m
    return np.clip(out, 0, 255).astype(np.uint8)


def degrade(
    img: np.ndarray,
    rng: random.Random,
    profile: ScanProfile,
    px_per_mm: float,
    *,
    seal_boxes: list[tuple[int, int, int, int]] | None = None,
    seal_text: str = "印",
) -> tuple[np.ndarray, dict]:
    """The page as a scanner would deliver it, and a record of what was done (for the ground truth).

    ``seal_boxes`` are pixel boxes (x0, y0, x1, y1) where a seal may be pressed (name fields)."""
    info: dict = {"profile": profile.name}
    out = img
    # Named defects are drawn first, and only for profiles that have them: office and harsh pages
    # come out exactly as they always did.
    active = [n for n, p in profile.defects if n != "strikeout" and p and rng.random() < p]
    if active:
        info["defects"] = active
    if "stamp" in active:
        out = stamp(out, rng, px_per_mm, seal_boxes or [], seal_text)
    if "bleed_through" in active:
        out = bleed_through(out, rng)
    if "phone_photo" in active:
        out = phone_photo(out, rng)
    if profile.perspective_prob and rng.random() < profile.perspective_prob:
        out = _perspective(out, rng)
        info["perspective"] = True
    if profile.max_skew_deg or profile.max_shift_mm or profile.scale_jitter:
        out, aff = _affine(out, rng, profile, px_per_mm)
        info.update(aff)
    if "shadow" in active or (profile.shadow_prob and rng.random() < profile.shadow_prob):
        out = _shadow(out, rng)
        info["shadow"] = True
    if "photocopy" in active:
        out = photocopy(out, rng)
    if profile.photocopy_prob and rng.random() < profile.photocopy_prob:
        out = _photocopy(out, rng)
        info["photocopy"] = True
    elif "grayscale" in active or (profile.grayscale_prob and rng.random() < profile.grayscale_prob):
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        info["grayscale"] = True
    if "low_dpi" in active:
        out, px_per_mm = low_dpi(out, px_per_mm)
        info["dpi"] = round(px_per_mm * 25.4)
    if profile.blur_max:
        sigma = rng.uniform(0, profile.blur_max)
        if sigma > 0.2:
            out = cv2.GaussianBlur(out, (0, 0), sigma)
        info["blur"] = round(sigma, 2)
    if profile.noise_sigma:
        nprng = np.random.default_rng(rng.randrange(2**32))
        noise = nprng.normal(0, profile.noise_sigma, out.shape[:2])[..., None]
        out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if "fax" in active:
        out = fax(out, rng, px_per_mm)
    if profile.fax_prob and rng.random() < profile.fax_prob:
        out = _fax(out, px_per_mm)
        info["fax"] = True
    if "rotate" in active or (profile.rotate_prob and rng.random() < profile.rotate_prob):
        k = rng.choice([1, 2, 3])
        out = np.ascontiguousarray(np.rot90(out, k))
        info["rotated_deg"] = 90 * k
    if profile.jpeg_quality:
        q = rng.randint(*profile.jpeg_quality)
        out = jpeg_roundtrip(out, q)
        info["jpeg_quality"] = q
    if "heavy_jpeg" in active:
        out, q = heavy_jpeg(out, rng)
        info["jpeg_quality"] = q
    return out, info


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def profile_dict(p: ScanProfile) -> dict:
    return asdict(p)

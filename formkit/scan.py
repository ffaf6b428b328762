"""Making a clean rendered page look scanned: the defects real scanners, copiers and faxes add.

Pure functions on numpy images (RGB, uint8). A :class:`ScanProfile` says how hard to be; every
random choice comes from the caller's ``random.Random`` so a sample is reproducible from its seed.
"""

from __future__ import annotations

import io
import random
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image


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


def _fax(img: np.ndarray) -> np.ndarray:
    """200×100 dpi, black and white, then back to the original size as a fax server would store it."""
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (int(w * 200 / 300), int(h * 100 / 300)), interpolation=cv2.INTER_AREA)
    bw = np.where(small < 160, 0, 255).astype(np.uint8)
    big = cv2.resize(bw, (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(big, cv2.COLOR_GRAY2RGB)


def _photocopy(img: np.ndarray, rng: random.Random) -> np.ndarray:
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = (gray - 128) * rng.uniform(1.2, 1.6) + 128 + rng.uniform(-10, 20)
    speckle = np.array(rng.random() * 0.002)
    out = np.clip(gray, 0, 255).astype(np.uint8)
    nprng = np.random.default_rng(rng.randrange(2**32))
    dots = nprng.random(out.shape) < float(speckle)
    out[dots] = 0
    return cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)


def degrade(
    img: np.ndarray, rng: random.Random, profile: ScanProfile, px_per_mm: float
) -> tuple[np.ndarray, dict]:
    """The page as a scanner would deliver it, and a record of what was done (for the ground truth)."""
    info: dict = {"profile": profile.name}
    out = img
    if profile.perspective_prob and rng.random() < profile.perspective_prob:
        out = _perspective(out, rng)
        info["perspective"] = True
    if profile.max_skew_deg or profile.max_shift_mm or profile.scale_jitter:
        out, aff = _affine(out, rng, profile, px_per_mm)
        info.update(aff)
    if profile.shadow_prob and rng.random() < profile.shadow_prob:
        out = _shadow(out, rng)
        info["shadow"] = True
    if profile.photocopy_prob and rng.random() < profile.photocopy_prob:
        out = _photocopy(out, rng)
        info["photocopy"] = True
    elif profile.grayscale_prob and rng.random() < profile.grayscale_prob:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        info["grayscale"] = True
    if profile.blur_max:
        sigma = rng.uniform(0, profile.blur_max)
        if sigma > 0.2:
            out = cv2.GaussianBlur(out, (0, 0), sigma)
        info["blur"] = round(sigma, 2)
    if profile.noise_sigma:
        nprng = np.random.default_rng(rng.randrange(2**32))
        noise = nprng.normal(0, profile.noise_sigma, out.shape[:2])[..., None]
        out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if profile.fax_prob and rng.random() < profile.fax_prob:
        out = _fax(out)
        info["fax"] = True
    if profile.rotate_prob and rng.random() < profile.rotate_prob:
        k = rng.choice([1, 2, 3])
        out = np.ascontiguousarray(np.rot90(out, k))
        info["rotated_deg"] = 90 * k
    if profile.jpeg_quality:
        q = rng.randint(*profile.jpeg_quality)
        out = jpeg_roundtrip(out, q)
        info["jpeg_quality"] = q
    return out, info


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def profile_dict(p: ScanProfile) -> dict:
    return asdict(p)

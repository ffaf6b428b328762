"""The engine interface and the per-process engine cache (models load once per process, never per page)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from core.errors import EngineUnavailable
from core.settings import load_settings

REC_HEIGHT = 48


@dataclass(frozen=True)
class DetectedLine:
    """A text line found by detection: its quadrilateral (image pixels, clockwise from top-left)."""

    quad: np.ndarray  # shape (4, 2), float32
    score: float


class Recognizer(Protocol):
    name: str
    #: Class index → character; index 0 is the CTC blank.
    classes: list[str]

    def probs(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Per-frame class probabilities ``[T, C]`` for each grayscale (or BGR) line crop."""
        ...


class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> list[DetectedLine]: ...


def to_bgr(image: np.ndarray) -> np.ndarray:
    """PaddleOCR models were trained on OpenCV's BGR order; our pages are RGB or grayscale."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image[..., ::-1])


def rec_input(crop: np.ndarray, width: int) -> np.ndarray:
    """PaddleOCR's recogniser preprocessing: height 48, aspect kept, scaled to [-1, 1], zero-padded right."""
    if crop.ndim == 2:
        crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
    h, w = crop.shape[:2]
    new_w = max(1, min(width, int(np.ceil(REC_HEIGHT * w / max(h, 1)))))
    resized = cv2.resize(crop, (new_w, REC_HEIGHT), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    resized = (resized / 255.0 - 0.5) / 0.5
    out = np.zeros((3, REC_HEIGHT, width), dtype=np.float32)
    out[:, :, :new_w] = resized.transpose(2, 0, 1)
    return out


def batches(crops: list[np.ndarray], max_batch: int = 8) -> list[list[int]]:
    """Indices grouped by similar aspect ratio, so little of each batch is padding."""
    ratios = [c.shape[1] / max(c.shape[0], 1) for c in crops]
    order = sorted(range(len(crops)), key=lambda i: ratios[i])
    return [order[i : i + max_batch] for i in range(0, len(order), max_batch)]


def batch_width(crops: list[np.ndarray], idx: list[int]) -> int:
    ratio = max(max(crops[i].shape[1] / max(crops[i].shape[0], 1) for i in idx), 320 / REC_HEIGHT)
    return int(np.ceil(REC_HEIGHT * ratio))


def packaged_model(package: str, relpath: str) -> Path:
    """A model file or folder shipped inside an installed wheel, or a clear install error."""
    try:
        pkg = import_module(package)
    except ImportError as exc:  # pragma: no cover - install problem
        raise EngineUnavailable(
            f"OCRモデルのパッケージ {package} が入っていません。`make setup` を実行してください",
            f"the package {package} with the OCR models is missing: run `make setup`",
        ) from exc
    path = Path(str(pkg.__file__)).parent / relpath
    if not path.exists():
        raise EngineUnavailable(
            f"OCRモデル {relpath} が見つかりません。`make setup` を実行してください",
            f"OCR model {relpath} not found: run `make setup`",
            detail=str(path),
        )
    return path


def cpu_threads() -> int:
    return load_settings().ocr_threads or (os.cpu_count() or 2)


_ENGINES: dict[str, Callable[[], Recognizer]] = {}
_DETECTORS: dict[str, Callable[[], Detector]] = {}
_CACHE: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()
DEFAULT_ENGINE = "ppocrv6-onnx"


def _register() -> None:
    if _ENGINES:
        return
    from ocr.engines import onnx_ppocr, paddle_ppocr

    _ENGINES["ppocrv6-onnx"] = onnx_ppocr.OnnxRecognizer
    _ENGINES["ppocrv5-paddle"] = paddle_ppocr.PaddleRecognizer
    _DETECTORS["ppocrv6-onnx"] = onnx_ppocr.OnnxDetector
    _DETECTORS["ppocrv5-paddle"] = paddle_ppocr.PaddleDetector


def engine_names() -> list[str]:
    _register()
    return list(_ENGINES)


def default_engine() -> str:
    return load_settings().engine or DEFAULT_ENGINE


def _get(kind: str, table: dict, name: str | None) -> object:
    _register()
    name = name or default_engine()
    if name not in table:
        raise EngineUnavailable(
            f"OCRエンジン {name} はありません（{', '.join(table)}）",
            f"unknown OCR engine {name} (have: {', '.join(table)})",
        )
    with _LOCK:
        key = (kind, name)
        if key not in _CACHE:
            _CACHE[key] = table[name]()
        return _CACHE[key]


def get_recognizer(name: str | None = None) -> Recognizer:
    return _get("rec", _ENGINES, name)  # type: ignore[return-value]


def get_detector(name: str | None = None) -> Detector:
    return _get("det", _DETECTORS, name)  # type: ignore[return-value]

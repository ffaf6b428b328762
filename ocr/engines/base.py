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
#: PaddleOCR pads every line to at least 320 px (its training shape). A short text line, or a kanji or
#: kana comb cell, reads with more confidence with that room; a digit cell does not need it, so digit
#: cells are read at their own width (TUNE split: the same exact and silent figures, recognition 40 %
#: faster on a page of comb-cell dates, numbers and phone numbers).
LINE_MIN_WIDTH = 320
CELL_MIN_WIDTH = REC_HEIGHT


@dataclass(frozen=True)
class DetectedLine:
    """A text line found by detection: its quadrilateral (image pixels, clockwise from top-left)."""

    quad: np.ndarray  # shape (4, 2), float32
    score: float


class Recognizer(Protocol):
    name: str
    #: Class index → character; index 0 is the CTC blank.
    classes: list[str]

    def probs(self, crops: list[np.ndarray], min_width: int = LINE_MIN_WIDTH) -> list[np.ndarray]:
        """Per-frame class probabilities ``[T, C]`` for each grayscale (or BGR) line crop, each padded
        to at least ``min_width`` pixels at the model's height."""
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


#: How much wider than its own padded width a crop may be padded to share a batch.
BATCH_SLACK = 1.1


def batches(crops: list[np.ndarray], min_width: int = LINE_MIN_WIDTH, max_batch: int = 8) -> list[list[int]]:
    """Indices grouped by width, each crop padded to within 10 % of what it would be padded to alone.

    The recogniser's reading changes with trailing padding: a name padded to 472 px instead of 320 px
    because a long address shared its batch scored 0.59 instead of 0.94. A crop's result must not
    depend on which other crops happen to be on the page."""
    padded = [max(min_width, REC_HEIGHT * c.shape[1] / max(c.shape[0], 1)) for c in crops]
    out: list[list[int]] = []
    for i in sorted(range(len(crops)), key=lambda i: padded[i]):
        if out and len(out[-1]) < max_batch and padded[i] <= padded[out[-1][0]] * BATCH_SLACK:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def batch_width(crops: list[np.ndarray], idx: list[int], min_width: int = LINE_MIN_WIDTH) -> int:
    ratio = max(max(crops[i].shape[1] / max(crops[i].shape[0], 1) for i in idx), min_width / REC_HEIGHT)
    return int(np.ceil(REC_HEIGHT * ratio))


def batched_probs(
    crops: list[np.ndarray], run: Callable[[np.ndarray], np.ndarray], min_width: int
) -> list[np.ndarray]:
    """Run a recogniser over crops in batches of similar width; ``run`` maps ``[N, 3, 48, W]`` to
    ``[N, T, C]``. Frames past a crop's own width only saw padding and are dropped."""
    out: list[np.ndarray] = [np.empty(0)] * len(crops)
    for idx in batches(crops, min_width):
        width = batch_width(crops, idx, min_width)
        pred = run(np.stack([rec_input(crops[i], width) for i in idx]))
        for k, i in enumerate(idx):
            h, w = crops[i].shape[:2]
            used = int(np.ceil(pred.shape[1] * min(1.0, REC_HEIGHT * w / max(h, 1) / width))) + 1
            out[i] = pred[k, : min(used, pred.shape[1])]
    return out


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
    """Threads for each engine. The engine is loaded once per process and the readers of
    ``dejiru run`` use it at the same time, so by default the cores are shared among them: two readers
    each running two threads on two cores spent 20 % more CPU per page (burst bench, 120 files)."""
    settings = load_settings()
    return settings.ocr_threads or max(1, (os.cpu_count() or 2) // max(1, settings.readers))


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

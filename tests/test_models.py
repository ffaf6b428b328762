"""The OCR models load offline from the pinned wheels, and are the files we measured."""

from ocr.engines import engine_names, get_recognizer
from ocr.engines.provenance import MODEL_FILES, verify


def test_model_files_match_their_recorded_sha256() -> None:
    results = verify()
    assert len(results) == len(MODEL_FILES)
    assert [m.path for m, ok in results if not ok] == []


def test_both_engines_load_once_per_process() -> None:
    for name in engine_names():
        a, b = get_recognizer(name), get_recognizer(name)
        assert a is b and len(a.classes) > 18000
        assert {"ア", "ヴ", "東", "大", "和", "0"} <= set(a.classes)

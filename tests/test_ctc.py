"""Constrained CTC decoding on hand-made probability matrices (no model needed)."""

import numpy as np
import pytest

from ocr.ctc import decode, decode_one

CLASSES = ["<blank>", "1", "l", "7", "カ", "力", "ロ", "口", "１", " "]


def frames(*rows: dict[str, float]) -> np.ndarray:
    p = np.zeros((len(rows), len(CLASSES)), dtype=np.float32)
    for t, row in enumerate(rows):
        rest = 1.0 - sum(row.values())
        p[t, 0] = rest
        for ch, v in row.items():
            p[t, CLASSES.index(ch)] = v
    return p


def test_unconstrained_greedy_merges_repeats_and_blanks() -> None:
    p = frames({"1": 0.9}, {"1": 0.9}, {}, {"1": 0.8}, {"7": 0.95})
    d = decode(p, CLASSES)
    assert d.text == "117"
    assert d.char_conf == [np.float32(0.9), np.float32(0.8), np.float32(0.95)]


def test_digits_only_turns_l_into_1_and_folds_full_width() -> None:
    p = frames({"l": 0.6, "1": 0.1, "１": 0.2}, {}, {"7": 0.9})
    d = decode(p, CLASSES, frozenset("0123456789"))
    assert d.text == "17"
    assert abs(d.char_conf[0] - 0.9) < 1e-5  # l, 1 and １ are the same digit here


def test_katakana_field_reads_kanji_lookalikes_as_katakana() -> None:
    kata = frozenset("カロ")
    p = frames({"力": 0.8, "カ": 0.15}, {}, {"口": 0.7, "ロ": 0.2})
    d = decode(p, CLASSES, kata)
    assert d.text == "カロ"
    assert min(d.char_conf) > 0.85


def test_hidden_evidence_lowers_confidence() -> None:
    # The model is sure of a character the field cannot hold: the field must not pass as confident.
    p = frames({"1": 0.95}, {}, {"7": 0.05, "カ": 0.9})
    d = decode(p, CLASSES, frozenset("0123456789"))
    assert d.suppressed > 0.8
    assert d.confidence < 0.2


def test_decode_one_picks_best_allowed_character() -> None:
    p = frames({}, {"7": 0.3, "1": 0.2}, {"7": 0.6})
    d = decode_one(p, CLASSES, frozenset("0123456789"))
    assert d.text == "7" and abs(d.confidence - 0.6) < 1e-5


def test_rivals_report_lookalike_kanji() -> None:
    from ocr.ctc import with_rivals

    classes = ["<blank>", "渡", "辺", "邉", "邊", " "]
    p = np.zeros((3, len(classes)), dtype=np.float32)
    p[0, 1] = 1.0
    p[1, 2], p[1, 3] = 0.9, 0.08  # read 辺, but 邉 had real weight
    p[2, 0] = 1.0
    d = with_rivals(decode(p, classes), p, classes, {"辺": "邉邊"})
    assert d.text == "渡辺"
    assert ("辺", "邉", pytest.approx(0.08, abs=1e-6)) in d.rivals


def test_a_gap_unsure_between_space_and_blank_costs_no_confidence() -> None:
    # Between family and given name: about as much space as blank. Either way no character stands there.
    p = frames({"カ": 0.99}, {" ": 0.55}, {"ロ": 0.99})
    d = decode(p, CLASSES)
    assert d.text == "カ ロ" and min(d.char_conf) > 0.98


def test_a_space_that_may_be_a_character_keeps_its_doubt() -> None:
    # The model half believes a 1 stands in the gap: that doubt must reach the field's confidence.
    p = frames({"カ": 0.99}, {" ": 0.5, "1": 0.45}, {"ロ": 0.99})
    d = decode(p, CLASSES)
    assert d.text == "カ ロ" and d.confidence < 0.6

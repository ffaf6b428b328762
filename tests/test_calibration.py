"""Threshold calibration on hand-made labelled readings."""

import json

from validation.calibration import Labelled, calibrate, choose, curve, wilson_upper, write


def test_curve_and_choice() -> None:
    items = [
        Labelled("kana", c, ok, False)
        for c, ok in [(0.99, True), (0.98, True), (0.95, True), (0.9, False), (0.85, True), (0.5, False)]
    ]
    items.append(Labelled("kana", 0.99, False, True))  # blocked by a check: never auto-accepted
    pts = curve(items)
    assert pts[0].threshold == 0.5 and pts[-1].threshold == 1.01
    at_95 = next(p for p in pts if p.threshold == 0.95)
    assert abs(at_95.straight_through - 3 / 7) < 1e-9 and at_95.silent == 0
    assert choose(pts, 0.0).threshold == 0.95  # lowest threshold with no silent error
    assert choose(pts, 0.15).threshold == 0.85  # one wrong of seven accepted is within 15 %


def test_calibrate_per_type_and_file(tmp_path) -> None:
    items = [Labelled("digits", 0.999, True, False)] * 50 + [Labelled("digits", 0.6, False, False)]
    items += [Labelled("name", 0.97, True, False)] * 20 + [Labelled("name", 0.96, False, False)]
    result = calibrate(items, target=0.0)
    assert result["thresholds"] == {"digits": 0.999, "name": 0.97}
    assert result["per_type"]["digits"]["straight_through"] == round(50 / 51, 4)
    path = tmp_path / "t.json"
    write(result, path, 0.0, "test")
    assert json.loads(path.read_text())["thresholds"]["name"] == 0.97


def test_wilson_upper_is_honest_about_small_samples() -> None:
    assert wilson_upper(0, 100) > 0.03
    assert wilson_upper(0, 100_000) < 0.0001

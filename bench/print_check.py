"""Counter slips (書かない窓口): does the scan still show what was printed? (``make bench``; not a test).

    python -m bench.print_check [--pages 40] [--splits tune,holdout] [--fit] [--rescore FILE ...]

For each page of a split (:mod:`synth.splits`: its forms, its fonts and KanjiVG writers, its scan
profiles and dpi, its seeds and its half of the names and towns) a made-up applicant's values are
printed as a counter slip (typed, :func:`synth.fill.expected_print`) and scanned three ways:

* **as printed**, signed by the visitor in the page's hand: every field must come out ``as_printed``;
* **corrected**: the same slip with one field corrected by that hand (:func:`synth.fill.write_correction`:
  the value struck through with a double line and another written beside or above it, one character
  struck and rewritten, or a value written straight over the print), signed: that field must be
  flagged (``corrected``, or ``not_as_printed``), the others ``as_printed``;
* **other values**: another applicant's slip of the same form, unsigned, compared with the first's
  expected print (a QR moved onto someone else's paper): the fields whose values differ must be
  flagged, preferably ``not_as_printed``; the fields that agree must stay ``as_printed``.

The signature zone is checked with :func:`ocr.print_check.has_ink`: signed on the first two, empty on
the third. A page that cannot be aligned is counted apart (the check never sees it).

Every field's figures are written to ``bench/out/print_check-<split>.jsonl``. ``--fit`` derives the
limits from TUNE's rows only (:func:`fit`: from the largest values seen where nothing was changed)
and scores every split with them; without it, and with ``--rescore`` (stored rows, nothing scanned
again), the module's own limits are used. The HOLDOUT figures are measured on pages, hands, defects
and a form no limit was fitted on. TUNE pages start at seed 5,500,000, HOLDOUT at 8,000,000.

Printed per split: as-printed pages (and fields) wrongly flagged, corrections found (and found as
``corrected``), untouched fields of corrected pages flagged, other-values pages caught, their changed
fields flagged (and ``not_as_printed``), their unchanged fields flagged, signatures found and empty
zones taken for signed, scans the alignment refused; then every miss and false flag.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from core import progress

TODAY = dt.date(2026, 11, 24)
FIRST_SEED = {"tune": 5_500_000, "holdout": 8_000_000}
#: --fit: a limit is the largest value seen where nothing was changed, times this (see :func:`fit`).
MARGIN = 1.5
#: --fit: no less than a short stroke (mm), and a short word of ink (mm²), whatever TUNE's noise.
EXTRA_FLOOR_MM = 1.0
SIGNATURE_FLOOR_MM2 = 3.0


def value_span(expected: Any, tpl: Any, zone: Any, px_per_mm: float) -> Any:
    """Where the printed value lies in ``zone`` (mm), from the expected print less the blank form."""
    import numpy as np

    from formkit.model import Box
    from formkit.render import master_image
    from ocr.print_check import page_ink

    y0, y1 = int(zone.y * px_per_mm), int(zone.y2 * px_per_mm)
    x0, x1 = int(zone.x * px_per_mm), int(zone.x2 * px_per_mm)
    ink = page_ink(expected)[y0:y1, x0:x1]
    blank = page_ink(master_image(tpl, px_per_mm))[y0:y1, x0:x1]
    ys, xs = np.nonzero(ink & ~blank)
    if xs.size < 20:
        return None
    k = px_per_mm
    return Box(
        x=zone.x + xs.min() / k,
        y=zone.y + ys.min() / k,
        w=(xs.max() - xs.min() + 1) / k,
        h=(ys.max() - ys.min() + 1) / k,
    )


def other_value(spec: Any, mine: Any, theirs: Any, rng: random.Random) -> Any:
    """A value for a correction that differs from what was printed: the other applicant's when it
    differs, else one character slipped (a text), else None (the field is left uncorrected)."""
    from synth.fill import slip_for

    if theirs not in (None, "", []) and theirs != mine:
        return theirs
    if isinstance(mine, str) and mine.strip() and spec.kind.value.value == "text":
        i = rng.choice([j for j, ch in enumerate(mine) if not ch.isspace()])
        return mine[:i] + slip_for(mine[i], rng) + mine[i + 1 :]
    return None


def scan_of(pdf: bytes, tpl: Any, spec: Any, tag: str, seal_names: bool = True) -> Any:
    """The slip as the page's profile scans it, aligned (None when alignment refuses the page)."""
    from core.errors import DejiruError
    from formkit.layout import layout
    from formkit.render import rasterize_pdf
    from ocr.align import align
    from synth.scan import PROFILES, degrade

    px = spec.dpi / 25.4
    clean = rasterize_pdf(pdf, px, tpl.page.width_mm)
    seals = [
        (round(z.x * px), round(z.y * px), round(z.x2 * px), round(z.y2 * px))
        for z in (lay.zone for lay in layout(tpl) if lay.spec.kind.person_name)
    ]
    img, info = degrade(
        clean, random.Random(f"{spec.seed}:scan:{tag}"), PROFILES[spec.profile], px, seal_boxes=seals
    )
    try:
        return align(img, [tpl], tpl.id).image, info
    except DejiruError:
        return None, info


def page_scans(spec: Any, population: Any) -> dict[str, Any]:
    """One page's expected print and its three aligned scans (None where alignment refused one), with
    what each scan changed: ``{"tpl", "expected", "scans": [(case, scan, defects, signed, changed)],
    "target", "style"}``."""
    from reportlab.pdfgen.canvas import Canvas

    from formkit.kinds import Shape
    from formkit.layout import layout
    from formkit.registry import load_template
    from formkit.seal import counter_values
    from ocr.align import PX_PER_MM
    from synth.fill import Writer, expected_print, filled_pdf, make_hand, typed_hand, write_correction
    from synth.samples import sample_values
    from synth.scan import PROFILES

    tpl = load_template(spec.form)
    values, person = sample_values(tpl, random.Random(f"{spec.seed}:values"), TODAY, population)
    others, _ = sample_values(tpl, random.Random(f"{spec.seed}:other"), TODAY, population)
    mine, theirs = counter_values(tpl, values), counter_values(tpl, others)
    expected = expected_print(tpl, mine, PX_PER_MM)
    lays = {lay.spec.name: lay for lay in layout(tpl)}
    sig = next((lay for lay in lays.values() if lay.spec.kind.shape is Shape.SIGNATURE), None)
    strike = PROFILES[spec.profile].defect_prob("strikeout")

    r = random.Random(f"{spec.seed}:correction")
    candidates = [
        (n, v)
        for n, lay in lays.items()
        if lay.spec.kind.shape is not Shape.SIGNATURE
        and (v := other_value(lay.spec, mine.get(n), theirs.get(n), r)) is not None
    ]
    target, new = r.choice(candidates)
    style = r.choice(["strike", "strike", "char", "over"])
    span = value_span(expected, tpl, lays[target].zone, PX_PER_MM) if style != "over" else None
    if span is None:
        style = "over"
    elif style == "char" and span.w > span.h * 1.5:
        span = span.model_copy(update={"x": span.x + r.uniform(0, span.w - span.h), "w": span.h})

    def hand_pdf(correct: bool) -> bytes:
        hand = make_hand(
            random.Random(f"{spec.seed}:hand"), font=spec.font, writer=spec.writer, strikeout=strike
        )

        def ink(c: Canvas) -> None:
            w = Writer(c, tpl, hand)
            if correct:
                write_correction(w, lays[target], new, span)
            if sig is not None:
                w.signature(person.name, sig.zone)

        return filled_pdf(tpl, mine, typed_hand(), decorate=ink)

    other_changed = {n for n in lays if mine.get(n) != theirs.get(n)}
    scans = []
    for case, pdf, signed, changed in (
        ("as_printed", hand_pdf(False), True, set()),
        ("corrected", hand_pdf(True), True, {target}),
        ("other", filled_pdf(tpl, theirs, typed_hand()), False, other_changed),
    ):
        scan, info = scan_of(pdf, tpl, spec, case)
        defects = info.get("defects", []) + [
            k for k in ("fax", "grayscale", "photocopy", "shadow", "perspective") if info.get(k)
        ]
        scans.append((case, scan, defects, signed, changed))
    return {
        "tpl": tpl,
        "expected": expected,
        "scans": scans,
        "target": target,
        "style": style,
        "signature": sig,
    }


def score_page(spec: Any, page: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure of one page's three scans, one row per field (and one per signature zone)."""
    from ocr.align import PX_PER_MM
    from ocr.print_check import check_print, ink_area_mm2

    tpl, sig = page["tpl"], page["signature"]
    base = {"seed": spec.seed, "form": spec.form, "hand": spec.hand, "profile": spec.profile, "dpi": spec.dpi}
    rows: list[dict[str, Any]] = []
    for case, scan, defects, signed, changed in page["scans"]:
        head = base | {"case": case, "defects": defects}
        if scan is None:
            rows.append(head | {"unaligned": True})
            continue
        for name, chk in check_print(scan, page["expected"], tpl, PX_PER_MM).items():
            row = head | {
                "field": name,
                "type": tpl.field(name).type,
                "missing": chk.missing,
                "extra": chk.extra,
                "verdict": chk.verdict,
                "changed": name in changed,
            }
            if case == "corrected" and name == page["target"]:
                row["style"] = page["style"]
            rows.append(row)
        if sig is not None:
            area = ink_area_mm2(scan, sig.zone, PX_PER_MM)
            rows.append(head | {"signature": True, "signed": signed, "ink_mm2": round(area, 3)})
    return rows


def run_page(spec: Any, population: Any) -> list[dict[str, Any]]:
    return score_page(spec, page_scans(spec, population))


def read_split(name: str, n: int, out_dir: Path) -> list[dict[str, Any]]:
    from synth.splits import SPLITS

    split = SPLITS[name]
    path = out_dir / f"print_check-{name}.jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with path.open("w", encoding="utf-8") as fh:
        todo = split.pages(n, FIRST_SEED[name])
        for spec in progress.track(todo, f"{name}: 印刷と照合 / printing and checking"):
            page_rows = run_page(spec, split.population)
            for row in page_rows:
                fh.write(json.dumps(row | {"split": name}, ensure_ascii=False) + "\n")
            rows += page_rows
    print(f"  rows: {path} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return rows


def load_rows(path: Path) -> tuple[str, list[dict[str, Any]]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (rows[0]["split"] if rows else path.stem), rows


def rescored(rows: list[dict[str, Any]], limits: dict[str, float] | None) -> list[dict[str, Any]]:
    """The rows with verdicts (and signature findings) under other limits, or the module's."""
    from ocr import print_check as pc

    lim = limits or module_limits()
    field_limits = pc.Limits(missing=lim["missing"], extra=lim["extra"], joint=lim["joint"])
    out = []
    for r in rows:
        r = dict(r)
        if "field" in r:
            r["verdict"] = pc.verdict(r["missing"], r["extra"], field_limits)
        if r.get("signature"):
            r["inked"] = r["ink_mm2"] >= lim["signature"]
        out.append(r)
    return out


def module_limits() -> dict[str, float]:
    from ocr import print_check as pc

    return {
        "missing": pc.MISSING_LIMIT,
        "extra": pc.EXTRA_LIMIT_MM,
        "joint": pc.JOINT_SHARE,
        "signature": pc.SIGNATURE_INK_MM2,
    }


def fit(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Limits from TUNE rows where nothing was changed (every field of the as-printed pages, the
    untouched fields of the corrected pages, the empty signature zones of the other-values pages):

    * ``missing``: halfway from the largest share seen to 1 (all of a value gone);
    * ``extra``: MARGIN × the longest stray stroke seen, and at least EXTRA_FLOOR_MM;
    * ``joint``: half of each limit at once, as long as no such field had any of both (noise is
      one-sided); else the joint rule is off (1.0: each limit on its own);
    * ``signature``: MARGIN × the most ink seen in an empty zone, and at least SIGNATURE_FLOOR_MM2.

    The other-values pages' unchanged fields are left out: another slip's print may differ there too
    (a typed circle is drawn from where the hand's random stream stands)."""
    calm = [r for r in rows if "field" in r and not r["changed"] and r["case"] != "other"]
    empty = [r["ink_mm2"] for r in rows if r.get("signature") and not r["signed"]]
    worst = max(r["missing"] for r in calm)
    return {
        "missing": round(worst + (1 - worst) / 2, 3),
        "extra": round(max(MARGIN * max(r["extra"] for r in calm), EXTRA_FLOOR_MM), 2),
        "joint": 0.5 if not any(r["missing"] > 0 and r["extra"] > 0 for r in calm) else 1.0,
        "signature": round(max(MARGIN * max(empty, default=0.0), SIGNATURE_FLOOR_MM2), 2),
    }


def pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.1f} %)" if n else "0/0"


def report(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one split, printed and returned."""
    fields = [r for r in rows if "field" in r]
    unaligned = Counter(r["case"] for r in rows if r.get("unaligned"))
    by_page: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in fields:
        by_page.setdefault((r["seed"], r["case"]), []).append(r)

    def pages(case: str) -> list[list[dict[str, Any]]]:
        return [v for (_, c), v in sorted(by_page.items()) if c == case]

    flagged = lambda r: r["verdict"] != "as_printed"  # noqa: E731
    ap = pages("as_printed")
    ap_fields = [r for p in ap for r in p]
    cor = [r for p in pages("corrected") for r in p if r["changed"]]
    cor_rest = [r for p in pages("corrected") for r in p if not r["changed"]]
    oth = pages("other")
    oth_changed = [r for p in oth for r in p if r["changed"]]
    oth_same = [r for p in oth for r in p if not r["changed"]]
    sigs = [r for r in rows if r.get("signature")]
    signed = [r for r in sigs if r["signed"]]
    empty = [r for r in sigs if not r["signed"]]
    fig = {
        "as_printed_pages_flagged": [sum(any(flagged(r) for r in p) for p in ap), len(ap)],
        "as_printed_fields_flagged": [sum(map(flagged, ap_fields)), len(ap_fields)],
        "corrections_found": [sum(map(flagged, cor)), len(cor)],
        "corrections_as_corrected": [sum(r["verdict"] == "corrected" for r in cor), len(cor)],
        "corrected_pages_other_fields_flagged": [sum(map(flagged, cor_rest)), len(cor_rest)],
        "other_values_pages_caught": [sum(any(flagged(r) for r in p) for p in oth), len(oth)],
        "other_values_changed_fields_flagged": [sum(map(flagged, oth_changed)), len(oth_changed)],
        "other_values_changed_fields_not_as_printed": [
            sum(r["verdict"] == "not_as_printed" for r in oth_changed),
            len(oth_changed),
        ],
        "other_values_same_fields_flagged": [sum(map(flagged, oth_same)), len(oth_same)],
        "signed_zones_inked": [sum(r["inked"] for r in signed), len(signed)],
        "empty_zones_inked": [sum(r["inked"] for r in empty), len(empty)],
        "unaligned_scans": dict(unaligned),
    }
    print(f"\n{name}: {len(ap)} pages")
    for k, v in fig.items():
        print(f"  {k:44} {pct(*v) if isinstance(v, list) else v}")
    missed = [r for r in cor if not flagged(r)]
    for r in missed:
        print(
            f"    missed correction: {r['form']}.{r['field']} ({r['style']}) {r['profile']} {r['hand']} missing={r['missing']} extra={r['extra']}"
        )
    for r in [r for r in ap_fields + cor_rest + oth_same if flagged(r)]:
        print(
            f"    false flag: {r['case']} {r['form']}.{r['field']} {r['profile']} {r['defects']} missing={r['missing']} extra={r['extra']}"
        )
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=40, help="pages per split (three scans each)")
    ap.add_argument("--splits", default="tune,holdout")
    ap.add_argument("--fit", action="store_true", help="derive the limits from TUNE and score with them")
    ap.add_argument("--rescore", type=Path, nargs="*", help="rows files of an earlier run")
    ap.add_argument("--out", type=Path, default=Path("bench/out/print_check.json"))
    args = ap.parse_args()

    data: dict[str, list[dict[str, Any]]] = {}
    if args.rescore:
        for path in args.rescore:
            name, rows = load_rows(path)
            data[name] = rows
    else:
        for name in args.splits.split(","):
            data[name] = read_split(name, args.pages, args.out.parent)
    limits = None
    if args.fit:
        if "tune" not in data:
            raise SystemExit("--fit needs the tune split's rows")
        limits = fit(data["tune"])
        print(f"limits fitted on tune: {limits}")
    used = limits or module_limits()
    print(f"limits: {used}")
    result = {"limits": used, "splits": {n: report(n, rescored(rows, limits)) for n, rows in data.items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    with progress.shown():
        main()

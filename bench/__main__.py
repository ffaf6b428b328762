"""Benchmark the reader on generated filled scans with ground truth.

    python -m bench [--pages 300] [--fullpage 20] [--engines ppocrv6-onnx,ppocrv5-paddle] [--out FILE]

Pages cycle through five fonts (IPA Gothic/Mincho printed; Klee, Seto, Kiloji handwriting-style), two
scan profiles (office; harsh: skew ±5°, turned pages, blur, noise, JPEG q30-70, shadows, fax,
photocopy, phone-photo perspective) and 200/300 dpi. Printed per engine and font group: field
exact-match, CER, ms per field, s per page, straight-through and silent-error rates; and full-page
PaddleOCR (detection + recognition, no template) on a subset for the speed and accuracy ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("DEJIRU_THRESHOLDS", "/nonexistent")  # measure the defaults unless told otherwise

FONTS = ["ipag", "klee", "ipam", "seto", "kiloji"]


def cer(want: str, got: str) -> float:
    """Character error rate: edit distance / length of the truth."""
    a, b = want, got
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(len(a), 1)


def as_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ",".join(v)
    return str(v)


def dataset(n: int, seed: int) -> list[tuple[int, str, str, int]]:
    return [
        (seed + i, FONTS[i % len(FONTS)], "harsh" if (i // len(FONTS)) % 2 else "office", (300, 200)[i % 2])
        for i in range(n)
    ]


def norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--fullpage", type=int, default=20, help="pages also read by full-page OCR")
    ap.add_argument("--engines", default="ppocrv6-onnx,ppocrv5-paddle")
    ap.add_argument("--seed", type=int, default=7_000_000)
    ap.add_argument("--out", type=Path, default=Path("bench/out/results.json"))
    args = ap.parse_args()

    from formkit.fonts import FONTS as FONT_INFO
    from formkit.registry import load_template
    from formkit.samples import make_sample
    from ocr.engines import get_recognizer
    from ocr.fullpage import read_full_page
    from ocr.reader import read_page
    from validation.routing import validate

    tpl = load_template("juminhyo_request")
    engines = args.engines.split(",")
    for e in engines:
        get_recognizer(e)  # load outside the timings
    stats: dict[str, Any] = {e: defaultdict(lambda: defaultdict(list)) for e in engines}
    fullpage: dict[str, dict[str, list[float]]] = {e: defaultdict(list) for e in engines}
    template_secs: dict[str, list[float]] = {e: [] for e in engines}
    failures: dict[str, list[str]] = {e: [] for e in engines}
    gen_secs = []
    print(f"{args.pages} pages, engines {engines}; full-page OCR on {args.fullpage} of them", flush=True)
    for k, (seed, font, profile, dpi) in enumerate(dataset(args.pages, args.seed)):
        t0 = time.perf_counter()
        img, truth = make_sample(tpl, seed, font=font, profile=profile, dpi=dpi)
        gen_secs.append(time.perf_counter() - t0)
        group = FONT_INFO[font].group
        for e in engines:
            s = stats[e][group]
            t0 = time.perf_counter()
            try:
                reading, _ = read_page(img, engine=e)
            except Exception as exc:  # an alignment failure is a finding, reported with its reason
                failures[e].append(f"seed {seed} ({profile}, {truth['meta']['scan']}): {exc}")
                s["pages_failed"].append(1)
                continue
            dt = time.perf_counter() - t0
            template_secs[e].append(dt)
            decision = validate(tpl, reading)
            s["page_s"].append(dt)
            s["ms_per_field"].append(reading.timings_ms["recognise"] / len(reading.fields))
            s["doc_straight"].append(decision.straight_through)
            s["doc_right"].append(all(reading.fields[n].value == v for n, v in truth["fields"].items()))
            for name, want in truth["fields"].items():
                f = reading.fields[name]
                ok = f.value == want
                s["exact"].append(ok)
                s["straight"].append(not f.needs_review)
                s["silent"].append((not f.needs_review) and not ok)
                if isinstance(want, str) and tpl.field(name).type.value in (
                    "text",
                    "name",
                    "kana",
                    "phone",
                    "postal",
                ):
                    s["cer"].append(cer(want, as_text(f.value)))
            if k < args.fullpage:
                t0 = time.perf_counter()
                lines = read_full_page(img, engine=e)
                fullpage[e]["page_s"].append(time.perf_counter() - t0)
                text = norm("".join(ln.text for ln in lines))
                for name in ("name", "address", "phone", "kana"):
                    want = truth["fields"][name]
                    fullpage[e]["found"].append(norm(want) in text)
        if (k + 1) % 25 == 0:
            print(f"  {k + 1} pages", flush=True)

    report: dict[str, Any] = {
        "pages": args.pages,
        "fullpage_pages": min(args.fullpage, args.pages),
        "sample_generation_s_median": statistics.median(gen_secs),
        "engines": {},
    }
    print()
    hdr = f"{'engine':16} {'fonts':12} {'exact%':>7} {'CER':>7} {'ms/field':>9} {'s/page':>7} {'straight%':>9} {'silent%':>8} {'docs ST%':>8} {'failed':>6}"
    print(hdr)
    print("-" * len(hdr))
    for e in engines:
        rep: dict[str, Any] = {}
        for group in ("printed", "handwriting", "all"):
            if group == "all":
                s = defaultdict(list)
                for g in stats[e].values():
                    for key, vals in g.items():
                        s[key] += vals
            else:
                s = stats[e][group]
            if not s["exact"]:
                continue
            row = {
                "field_exact_pct": 100 * sum(s["exact"]) / len(s["exact"]),
                "cer": statistics.mean(s["cer"]) if s["cer"] else 0.0,
                "ms_per_field": statistics.median(s["ms_per_field"]),
                "s_per_page_median": statistics.median(s["page_s"]),
                "straight_through_fields_pct": 100 * sum(s["straight"]) / len(s["straight"]),
                "silent_error_fields_pct": 100 * sum(s["silent"]) / len(s["silent"]),
                "straight_through_docs_pct": 100 * sum(s["doc_straight"]) / len(s["doc_straight"]),
                "docs_all_right_pct": 100 * sum(s["doc_right"]) / len(s["doc_right"]),
                "pages_failed": len(s["pages_failed"]),
                "fields": len(s["exact"]),
            }
            rep[group] = row
            print(
                f"{e:16} {group:12} {row['field_exact_pct']:7.2f} {row['cer']:7.4f} {row['ms_per_field']:9.1f} "
                f"{row['s_per_page_median']:7.3f} {row['straight_through_fields_pct']:9.1f} "
                f"{row['silent_error_fields_pct']:8.2f} {row['straight_through_docs_pct']:8.1f} {row['pages_failed']:6}"
            )
        fp = fullpage[e]
        if fp["page_s"]:
            fp_s = statistics.median(fp["page_s"])
            tp_s = statistics.median(template_secs[e][: len(fp["page_s"])])
            rep["fullpage"] = {
                "s_per_page_median": fp_s,
                "value_found_pct": 100 * sum(fp["found"]) / len(fp["found"]),
                "template_speedup": fp_s / tp_s,
            }
            print(
                f"{e:16} {'full-page':12} value found in page text {rep['fullpage']['value_found_pct']:.1f}%, "
                f"{fp_s:.2f} s/page → template reading is {fp_s / tp_s:.1f}× faster"
            )
        rep["failures"] = failures[e]
        report["engines"][e] = rep
    for e in engines:
        for f in failures[e][:10]:
            print(f"  {e} refused: {f}")
    report["tesseract"] = (
        "not measured: tesseract is not part of the offline stack here (see docs/offline.md)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()

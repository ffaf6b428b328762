"""Benchmark the reader on generated filled scans with ground truth (``make bench``; not a test).

    python -m bench [--pages 300] [--subset 20] [--engines ppocrv6-onnx,ppocrv5-paddle] [--out FILE]

Pages cycle through the templates (redesigned 住民票請求書; legacy 健康診断個人票 and 被保険者資格取得届), five fonts
(IPA Gothic/Mincho printed; Klee, Seto, Kiloji handwriting-style), two scan profiles (office; harsh:
skew ±5°, turned pages, blur, noise, JPEG q30-70, shadows, fax, photocopy, phone-photo perspective)
and 200/300 dpi. Printed per engine and font group: field exact-match, CER, ms per field, s per page,
straight-through and silent-error rates. On a subset of pages, the same pages are read by full-page
OCR without a template — the real ``paddleocr.PaddleOCR`` and ``rapidocr.RapidOCR`` pipelines with
the same offline models, and tesseract-jpn when it is installed — for the speed and accuracy ratios;
and Paddle Inference with oneDNN off, for the cost of that workaround. Results also go to JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")

FONTS = ["ipag", "klee", "ipam", "seto", "kiloji"]
#: Two redesigned pages to one legacy, the legacy ones alternating between the two real forms.
TEMPLATES = [
    "juminhyo_request",
    "juminhyo_request",
    "health_check_hiring",
    "juminhyo_request",
    "juminhyo_request",
    "hihokensha_shikaku_shutoku",
]
TEXT_TYPES = ("text", "address", "name", "kana", "phone", "postal", "number")


def cer(want: str, got: str) -> float:
    """Character error rate: edit distance / length of the truth."""
    prev = list(range(len(got) + 1))
    for i, ca in enumerate(want, 1):
        cur = [i]
        for j, cb in enumerate(got, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(len(want), 1)


def as_text(v: Any) -> str:
    if v is None:
        return ""
    return ",".join(v) if isinstance(v, list) else str(v)


def norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def dataset(n: int, seed: int) -> list[tuple[int, str, str, str, int]]:
    out = []
    for i in range(n):
        out.append(
            (
                seed + i,
                TEMPLATES[i % len(TEMPLATES)],
                FONTS[(i // len(TEMPLATES)) % len(FONTS)],
                "harsh" if (i // (len(TEMPLATES) * len(FONTS))) % 2 else "office",
                (300, 200)[(i // 2) % 2],
            )
        )
    return out


class Stats:
    def __init__(self) -> None:
        self.v: dict[str, list[Any]] = defaultdict(list)

    def add(self, key: str, value: Any) -> None:
        self.v[key].append(value)

    def merge(self, other: Stats) -> None:
        for k, vals in other.v.items():
            self.v[k] += vals

    def row(self) -> dict[str, Any]:
        v = self.v
        pct = lambda k: 100 * sum(v[k]) / len(v[k]) if v[k] else 0.0  # noqa: E731
        return {
            "fields": len(v["exact"]),
            "field_exact_pct": pct("exact"),
            "cer": statistics.mean(v["cer"]) if v["cer"] else 0.0,
            "ms_per_field": statistics.median(v["ms_per_field"]) if v["ms_per_field"] else 0.0,
            "s_per_page_median": statistics.median(v["page_s"]) if v["page_s"] else 0.0,
            "straight_through_fields_pct": pct("straight"),
            "silent_error_fields_pct": pct("silent"),
            "review_load_fields_per_doc": (len(v["straight"]) - sum(v["straight"]))
            / max(len(v["page_s"]), 1),
            "straight_through_docs_pct": pct("doc_straight"),
            "docs_all_right_pct": pct("doc_right"),
            "pages_refused": len(v["refused"]),
        }


def full_page_readers(engines: list[str]) -> dict[str, Any]:
    """Full-page OCR without a template: the libraries' own pipelines, and ours (det + rec)."""
    from ocr.engines.paddle_ppocr import DET_DIR, REC_DIR, model_dir
    from ocr.fullpage import read_full_page

    readers: dict[str, Any] = {}
    if "ppocrv5-paddle" in engines:
        from paddleocr import PaddleOCR

        pp = PaddleOCR(
            text_detection_model_name=DET_DIR,
            text_detection_model_dir=str(model_dir(DET_DIR)),
            text_recognition_model_name=REC_DIR,
            text_recognition_model_dir=str(model_dir(REC_DIR)),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
        )
        readers["paddleocr PP-OCRv5 pipeline"] = lambda img: "".join(
            pp.predict(img[..., ::-1])[0]["rec_texts"]
        )
    if "ppocrv6-onnx" in engines:
        from rapidocr import RapidOCR

        ro = RapidOCR(params={"Global.log_level": "critical"})
        readers["rapidocr PP-OCRv6 pipeline"] = lambda img: "".join(ro(img[..., ::-1]).txts or ())
    for e in engines:
        readers[f"dejiru full-page {e}"] = lambda img, e=e: "".join(
            ln.text for ln in read_full_page(img, engine=e)
        )
    return readers


def tesseract_field(crop: Any, lang: str = "jpn") -> str:
    import cv2

    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        cv2.imwrite(f.name, crop)
        out = subprocess.run(
            ["tesseract", f.name, "-", "-l", lang, "--psm", "7"], capture_output=True, text=True
        )
    return out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--subset", type=int, default=20, help="pages also read by the baselines")
    ap.add_argument("--engines", default="ppocrv6-onnx,ppocrv5-paddle")
    ap.add_argument("--seed", type=int, default=7_000_000)
    ap.add_argument("--out", type=Path, default=Path("bench/out/results.json"))
    ap.add_argument(
        "--thresholds",
        help="thresholds file to route with (default: what the installation uses; "
        "'none' for the uncalibrated defaults)",
    )
    args = ap.parse_args()
    if args.thresholds:
        os.environ["DEJIRU_THRESHOLDS"] = "/nonexistent" if args.thresholds == "none" else args.thresholds

    from formkit.fonts import FONTS as FONT_INFO
    from formkit.registry import load_template
    from formkit.samples import make_sample
    from ocr.engines import get_recognizer
    from ocr.reader import read_aligned, read_page
    from validation.routing import validate

    engines = args.engines.split(",")
    for e in engines:
        get_recognizer(e)  # load outside the timings
    stats: dict[str, dict[tuple[str, str], Stats]] = {e: defaultdict(Stats) for e in engines}
    by_type: dict[str, dict[str, Stats]] = {e: defaultdict(Stats) for e in engines}
    refused: dict[str, list[str]] = {e: [] for e in engines}
    base = {"page_s": defaultdict(list), "found": defaultdict(list)}
    template_page_s: list[float] = []
    tess = shutil.which("tesseract") is not None
    tess_stats = Stats()
    mkldnn_off: list[float] = []
    readers = full_page_readers(engines) if args.subset else {}
    rec_off = None
    if args.subset and "ppocrv5-paddle" in engines:
        os.environ["DEJIRU_PADDLE_MKLDNN"] = "0"
        from ocr.engines.paddle_ppocr import PaddleRecognizer

        rec_off = PaddleRecognizer()
        os.environ.pop("DEJIRU_PADDLE_MKLDNN")
    gen_s: list[float] = []
    print(
        f"{args.pages} pages, engines {engines}; baselines on {args.subset} pages"
        f"{'' if tess else ' (tesseract not installed: no tesseract baseline)'}",
        flush=True,
    )
    for k, (seed, form, font, profile, dpi) in enumerate(dataset(args.pages, args.seed)):
        tpl = load_template(form)
        t0 = time.perf_counter()
        img, truth = make_sample(tpl, seed, font=font, profile=profile, dpi=dpi)
        gen_s.append(time.perf_counter() - t0)
        group = FONT_INFO[font].group
        kind = "legacy" if tpl.legacy else "redesigned"
        for e in engines:
            s = stats[e][(group, kind)]
            t0 = time.perf_counter()
            try:
                reading, aligned = read_page(img, engine=e)
            except Exception as exc:  # a refusal is a finding, reported with its reason
                refused[e].append(f"{form} seed {seed} ({profile}, {truth['meta']['scan']}): {exc}")
                s.add("refused", 1)
                for _ in truth["fields"]:
                    s.add("exact", False)
                    s.add("straight", False)
                    s.add("silent", False)
                continue
            dt = time.perf_counter() - t0
            if e == engines[0] and k < args.subset:
                template_page_s.append(dt)
            decision = validate(tpl, reading)
            s.add("page_s", dt)
            s.add("ms_per_field", reading.timings_ms["recognise"] / len(reading.fields))
            s.add("doc_straight", decision.straight_through)
            s.add("doc_right", all(reading.fields[n].value == v for n, v in truth["fields"].items()))
            for name, want in truth["fields"].items():
                f = reading.fields[name]
                ok = f.value == want
                ftype = tpl.field(name).type.value
                for st in (s, by_type[e][ftype]):
                    st.add("exact", ok)
                    st.add("straight", not f.needs_review)
                    st.add("silent", (not f.needs_review) and not ok)
                    if isinstance(want, str) and ftype in TEXT_TYPES:
                        st.add("cer", cer(want, as_text(f.value)))
            if e == "ppocrv5-paddle" and rec_off is not None and k < args.subset:
                t0 = time.perf_counter()
                read_aligned(aligned, recognizer=rec_off)
                mkldnn_off.append(time.perf_counter() - t0 + reading.timings_ms["align"] / 1000)
        if k < args.subset:
            text_fields = {
                n: v
                for n, v in truth["fields"].items()
                if isinstance(v, str)
                and tpl.field(n).type.value in ("name", "text", "address", "phone", "number")
            }
            for label, reader in readers.items():
                t0 = time.perf_counter()
                text = norm(reader(img))
                base["page_s"][label].append(time.perf_counter() - t0)
                for v in text_fields.values():
                    base["found"][label].append(norm(v) in text)
            if tess:
                _tesseract_page(img, tpl, truth, tess_stats)
        if (k + 1) % 25 == 0:
            print(f"  {k + 1} pages", flush=True)
    report = build_report(
        args,
        engines,
        stats,
        by_type,
        refused,
        base,
        template_page_s,
        tess_stats if tess else None,
        mkldnn_off,
        gen_s,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten: {args.out}")


def _tesseract_page(img: Any, tpl: Any, truth: dict[str, Any], st: Stats) -> None:
    """tesseract-jpn on the same aligned, trimmed zones the reader uses (text-like fields only)."""
    from formkit.layout import layout
    from ocr.align import PX_PER_MM, align
    from ocr.fields import Zones
    from ocr.imaging import dropout, ink_bbox, pad_crop
    from ocr.reader import flatten, printed

    try:
        a = align(img)
    except Exception:
        return
    z = Zones(flatten(dropout(a.image, a.color)), printed(a.template), PX_PER_MM)
    for lay in layout(tpl):
        want = truth["fields"].get(lay.spec.name)
        if (
            not isinstance(want, str)
            or lay.spec.type.value not in ("name", "text", "address", "phone", "number")
            or lay.cells
        ):
            continue
        box = lay.zone.inset(0.7)
        bbox = ink_bbox(z.ink(box))
        if bbox is None:
            continue
        t0 = time.perf_counter()
        got = norm(tesseract_field(pad_crop(z.gray(box), bbox, 6)))
        st.add("ms_per_field", (time.perf_counter() - t0) * 1000)
        st.add("exact", got == norm(want))
        st.add("cer", cer(norm(want), got))


def build_report(
    args: Any,
    engines: list[str],
    stats: Any,
    by_type: Any,
    refused: Any,
    base: Any,
    template_page_s: list[float],
    tess: Stats | None,
    mkldnn_off: list[float],
    gen_s: list[float],
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "pages": args.pages,
        "subset": args.subset,
        "engines": {},
        "sample_generation_s_median": statistics.median(gen_s),
    }
    hdr = (
        f"{'engine':15} {'group':22} {'exact%':>7} {'CER':>7} {'ms/fld':>7} {'s/page':>7} {'straight%':>9} "
        f"{'silent%':>8} {'review/doc':>10} {'docsST%':>7} {'refused':>7}"
    )
    print()
    print(hdr)
    print("-" * len(hdr))
    for e in engines:
        rep: dict[str, Any] = {}
        total = Stats()
        groups = sorted(stats[e].items())
        for _, st in groups:
            total.merge(st)
        for label, st in [*((f"{g}/{k}", st) for (g, k), st in groups), ("all", total)]:
            row = st.row()
            rep[label] = row
            print(
                f"{e:15} {label:22} {row['field_exact_pct']:7.2f} {row['cer']:7.4f} {row['ms_per_field']:7.1f} "
                f"{row['s_per_page_median']:7.3f} {row['straight_through_fields_pct']:9.1f} "
                f"{row['silent_error_fields_pct']:8.2f} {row['review_load_fields_per_doc']:10.2f} "
                f"{row['straight_through_docs_pct']:7.1f} {row['pages_refused']:7}"
            )
        for group in ("printed", "handwriting"):
            merged = Stats()
            for (g, _), st in groups:
                if g == group:
                    merged.merge(st)
            if merged.v:
                rep[group] = merged.row()
        rep["by_field_type"] = {t: st.row() for t, st in sorted(by_type[e].items())}
        rep["refused"] = refused[e]
        report["engines"][e] = rep
    if template_page_s:
        tp = statistics.median(template_page_s)
        print(
            f"\nfull-page OCR without a template, on the first {len(template_page_s)} pages "
            f"(template reading: {tp:.2f} s/page with {engines[0]}):"
        )
        report["full_page"] = {}
        for label, secs in base["page_s"].items():
            fp = statistics.median(secs)
            found = base["found"][label]
            row = {
                "s_per_page_median": fp,
                "value_found_pct": 100 * sum(found) / max(len(found), 1),
                "template_reading_speedup": fp / tp,
            }
            report["full_page"][label] = row
            print(
                f"  {label:34} {fp:6.2f} s/page  values found in page text {row['value_found_pct']:5.1f}%  "
                f"→ template reading {row['template_reading_speedup']:.1f}× faster"
            )
    if mkldnn_off:
        report["paddle_mkldnn_off_s_per_page_median"] = statistics.median(mkldnn_off)
        print(f"\nppocrv5-paddle with oneDNN off: {statistics.median(mkldnn_off):.2f} s/page")
    if tess is not None and tess.v["exact"]:
        row = tess.row()
        report["tesseract_jpn_fields"] = {
            k: row[k] for k in ("fields", "field_exact_pct", "cer", "ms_per_field")
        }
        print(
            f"tesseract-jpn on the same trimmed text zones: {row['field_exact_pct']:.1f}% exact, CER "
            f"{row['cer']:.3f}, {row['ms_per_field']:.0f} ms/field ({row['fields']} fields)"
        )
    for e in engines:
        for line in refused[e][:8]:
            print(f"  {e} refused: {line}")
    return report


if __name__ == "__main__":
    main()

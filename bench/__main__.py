"""Benchmark the reader on material it was never tuned on (``make bench``; not a test).

    python -m bench [--pages 200] [--splits holdout,tune] [--engines ppocrv6-onnx] [--subset 0]
                    [--thresholds FILE|none] [--out FILE] [--rescore LABELS.jsonl]

Why: thresholds fitted on the project's own fonts and scan defects looked fine on those and let
eight to ten times more silent errors through on handwriting, fonts, names, addresses and defects
they had never seen. So the headline figures are measured on the HOLDOUT split of
:mod:`synth.splits` — other fonts, other KanjiVG stroke writers, other scan defects (phone photos,
bleed-through, heavy JPEG, crossed-out characters), other seeds, the other half of Japan's towns and
of the name lists, and a form no calibration ever reads (犬の登録申請書) — with TUNE (what
``dejiru calibrate`` fits on; seeds 5,500,000+ here, apart from calibrate's default 5,000,000+) for
comparison. ``--splits classic`` runs the old bench (five fonts, office/harsh, seeds 7,000,000+).

Printed per split and engine, per field type (text, name, kana, address, date, digits, postal, phone,
number/amount, checkbox/choice, signature) and overall, handwriting only (stroke writers and
handwriting-style fonts), printed only and on the held-out form only: exact %, straight-through %,
silent-error % (straight through and wrong) with its 95 % Wilson interval; reading s/page median.
A page the reader refuses counts as reviewed and wrong, never as straight through.

Every field reading is also written (``bench/out/labels-<split>.jsonl``: type, confidence, right or
wrong, blocked by a check, the template's own threshold), so ``--rescore`` can route the same
readings with other thresholds (``--thresholds``/``DEJIRU_THRESHOLDS``) without reading again: a
field goes straight through when no check blocked it and its confidence reaches its threshold,
exactly as :func:`validation.routing.validate` decides.

``--subset N`` also reads the first N pages of the first split with full-page OCR without a template
(the libraries' own pipelines, and tesseract-jpn when installed) for the old speed and accuracy
ratios, and Paddle with oneDNN off.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core import progress

os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")

#: The old bench's pages (``--splits classic``): five fonts, office and harsh, seeds 7,000,000+.
CLASSIC_FONTS = ["ipag", "klee", "ipam", "seto", "kiloji"]
CLASSIC_TEMPLATES = [
    "juminhyo_request",
    "juminhyo_request",
    "health_check_hiring",
    "juminhyo_request",
    "juminhyo_request",
    "hihokensha_shikaku_shutoku",
]
TEXT_TYPES = ("text", "address", "name", "kana", "phone", "postal", "number")
#: Field types as the report groups them.
TYPE_GROUPS = {
    "text": "text",
    "name": "name",
    "kana": "kana",
    "address": "address",
    "date": "date",
    "digits": "digits",
    "postal": "postal",
    "phone": "phone",
    "number": "number/amount",
    "amount": "number/amount",
    "count": "number/amount",
    "checkbox": "checkbox/choice",
    "checkboxes": "checkbox/choice",
    "choice": "checkbox/choice",
    "signature": "signature",
}
GROUP_ORDER = list(dict.fromkeys(TYPE_GROUPS.values()))
#: Where each split's pages start (TUNE's apart from the seeds ``dejiru calibrate`` reads by default).
FIRST_SEED = {"tune": 5_500_000, "holdout": 8_000_000, "classic": 7_000_000}


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


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a rate k/n (honest about rare events and small samples)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / denom), min(1.0, (centre + spread) / denom)


def split_pages(name: str, n: int, first_seed: int | None = None) -> list[Any]:
    """The pages of a split (``classic``: the old bench's rotation)."""
    from synth.splits import SPLITS, PageSpec

    start = FIRST_SEED[name] if first_seed is None else first_seed
    if name == "classic":
        return [
            PageSpec(
                "classic",
                start + i,
                CLASSIC_TEMPLATES[i % len(CLASSIC_TEMPLATES)],
                CLASSIC_FONTS[(i // len(CLASSIC_TEMPLATES)) % len(CLASSIC_FONTS)],
                None,
                "harsh" if (i // (len(CLASSIC_TEMPLATES) * len(CLASSIC_FONTS))) % 2 else "office",
                (300, 200)[(i // 2) % 2],
            )
            for i in range(n)
        ]
    return SPLITS[name].pages(n, first_seed=start)


# --- figures ------------------------------------------------------------------------------------------


def straight(row: dict[str, Any], thresholds: dict[str, float] | None) -> bool:
    """As routed when read, or re-routed with other per-type thresholds (template overrides win)."""
    if thresholds is None:
        return bool(row["straight"])
    if row["blocked"]:
        return False
    limit = row["override"] if row["override"] is not None else thresholds[row["type"]]
    return bool(row["confidence"] >= limit)


def figures(rows: list[dict[str, Any]], thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    n = len(rows)
    exact = sum(r["correct"] for r in rows)
    st = [straight(r, thresholds) for r in rows]
    silent = sum(s and not r["correct"] for s, r in zip(st, rows, strict=True))
    lo, hi = wilson(silent, n)
    cers = [r["cer"] for r in rows if r.get("cer") is not None]
    return {
        "fields": n,
        "exact_pct": 100 * exact / n if n else 0.0,
        "straight_through_pct": 100 * sum(st) / n if n else 0.0,
        "silent_errors": silent,
        "silent_pct": 100 * silent / n if n else 0.0,
        "silent_pct_95": [100 * lo, 100 * hi],
        "cer": statistics.mean(cers) if cers else None,
    }


def report_split(
    split: str,
    engine: str,
    rows: list[dict[str, Any]],
    pages: list[dict[str, Any]],
    thresholds: dict[str, float] | None = None,
    held_out_forms: Iterable[str] = (),
) -> dict[str, Any]:
    """The table for one split and engine, printed and returned."""
    held = set(held_out_forms)
    sections: list[tuple[str, list[dict[str, Any]]]] = [
        (g, [r for r in rows if TYPE_GROUPS[r["type"]] == g]) for g in GROUP_ORDER
    ]
    sections += [
        ("overall", rows),
        ("handwriting only", [r for r in rows if r["handwriting"]]),
        ("printed only", [r for r in rows if not r["handwriting"]]),
        ("stroke writers only", [r for r in rows if r["hand"].startswith("kvg")]),
    ]
    if held:
        sections.append(
            (f"held-out form ({', '.join(sorted(held))})", [r for r in rows if r["form"] in held])
        )
    out: dict[str, Any] = {"rows": {}}
    hdr = f"{'':34} {'fields':>6} {'exact%':>7} {'straight%':>9} {'silent%':>8} {'95% interval':>16}"
    print(f"\n{split.upper()} — {engine}")
    print(hdr)
    print("-" * len(hdr))
    for label, sel in sections:
        if not sel:
            continue
        f = figures(sel, thresholds)
        out["rows"][label] = f
        lo, hi = f["silent_pct_95"]
        sep = label == "overall"
        if sep:
            print("-" * len(hdr))
        print(
            f"{label:34} {f['fields']:6} {f['exact_pct']:7.2f} {f['straight_through_pct']:9.1f} "
            f"{f['silent_pct']:8.2f} {f'[{lo:.2f}, {hi:.2f}]':>16}"
        )
    secs = [p["read_s"] for p in pages if p.get("read_s") is not None]
    docs: dict[int, list[bool]] = defaultdict(list)
    for r in rows:
        docs[r["page"]].append(straight(r, thresholds))
    out["pages"] = len(pages)
    out["pages_refused"] = sum(1 for p in pages if p.get("refused"))
    out["read_s_per_page_median"] = statistics.median(secs) if secs else None
    out["docs_straight_through_pct"] = 100 * sum(all(v) for v in docs.values()) / max(len(docs), 1)
    out["by_profile"] = {
        p: figures([r for r in rows if r["profile"] == p], thresholds)
        for p in sorted({r["profile"] for r in rows})
    }
    out["by_hand"] = {
        h: figures([r for r in rows if r["hand"] == h], thresholds) for h in sorted({r["hand"] for r in rows})
    }
    out["by_form"] = {
        fm: figures([r for r in rows if r["form"] == fm], thresholds)
        for fm in sorted({r["form"] for r in rows})
    }
    print(
        f"reading: {out['read_s_per_page_median'] or 0:.3f} s/page median; {out['pages']} pages, "
        f"{out['pages_refused']} refused; documents straight through {out['docs_straight_through_pct']:.1f} %"
    )
    worst = sorted(out["by_profile"].items(), key=lambda kv: -kv[1]["silent_pct"])[:4]
    print("silent % by scan profile: " + ", ".join(f"{p} {f['silent_pct']:.2f}" for p, f in worst))
    return out


# --- reading ------------------------------------------------------------------------------------------


def read_split(
    split: str, n: int, engines: list[str], first_seed: int | None, labels_dir: Path
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]], list[tuple[Any, Any, Any]]]:
    """Generate and read a split's pages; every field as a row (also written as JSON lines)."""
    from formkit.registry import load_template
    from ocr.reader import read_page
    from synth.samples import make_sample
    from synth.splits import SPLITS
    from validation.routing import validate

    population = SPLITS[split].population if split in SPLITS else None
    rows: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    pages: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    kept: list[tuple[Any, Any, Any]] = []  # (image, template, truth) of the first pages, for baselines
    labels_dir.mkdir(parents=True, exist_ok=True)
    path = labels_dir / f"labels-{split}.jsonl"
    t_start = time.perf_counter()
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"split": split, "engines": engines, "pages": n}) + "\n")
        todo = progress.track(split_pages(split, n, first_seed), f"{split}: 読み取り / reading")
        for k, spec in enumerate(todo):
            tpl = load_template(spec.form)
            t0 = time.perf_counter()
            img, truth = make_sample(
                tpl,
                spec.seed,
                font=spec.font,
                writer=spec.writer,
                profile=spec.profile,
                dpi=spec.dpi,
                population=population,
            )
            gen_s = time.perf_counter() - t0
            if len(kept) < 40:
                kept.append((img, tpl, truth))
            base = {
                "split": split,
                "page": k,
                "seed": spec.seed,
                "form": spec.form,
                "hand": spec.hand,
                "handwriting": spec.handwriting,
                "profile": spec.profile,
            }
            for e in engines:
                t0 = time.perf_counter()
                try:
                    reading, _ = read_page(img, engine=e)
                except Exception as exc:  # a refusal is a finding: reviewed, and wrong
                    page = base | {
                        "engine": e,
                        "refused": f"{type(exc).__name__}: {exc}"[:300],
                        "gen_s": gen_s,
                    }
                    pages[e].append(page)
                    fh.write(json.dumps(page, ensure_ascii=False) + "\n")
                    for name in truth["fields"]:
                        spec_f = tpl.field(name)
                        row = base | {
                            "engine": e,
                            "field": name,
                            "type": spec_f.type,
                            "confidence": 0.0,
                            "correct": False,
                            "blocked": True,
                            "straight": False,
                            "override": spec_f.review_threshold,
                            "cer": None,
                        }
                        rows[e].append(row)
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                    continue
                read_s = time.perf_counter() - t0
                validate(tpl, reading)
                page = base | {"engine": e, "read_s": read_s, "gen_s": gen_s}
                pages[e].append(page)
                fh.write(json.dumps(page, ensure_ascii=False) + "\n")
                for name, want in truth["fields"].items():
                    f = reading.fields[name]
                    spec_f = tpl.field(name)
                    ftype = spec_f.type
                    row = base | {
                        "engine": e,
                        "field": name,
                        "type": ftype,
                        "confidence": round(float(f.confidence), 5),
                        "correct": f.value == want,
                        "blocked": any(r.code != "low_confidence" for r in f.reasons),
                        "reasons": sorted({r.code for r in f.reasons}),
                        "straight": not f.needs_review,
                        "override": spec_f.review_threshold,
                        "cer": cer(want, as_text(f.value))
                        if isinstance(want, str) and ftype in TEXT_TYPES
                        else None,
                    }
                    if not row["correct"]:
                        row["want"], row["got"] = want, f.value
                    rows[e].append(row)
                    fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    print(f"  labels: {path} ({time.perf_counter() - t_start:.0f} s)", flush=True)
    return rows, pages, kept


def load_labels(path: Path) -> tuple[str, dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    pages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        head = json.loads(fh.readline())
        for line in fh:
            d = json.loads(line)
            (rows if "field" in d else pages)[d["engine"]].append(d)
    return head["split"], rows, pages


def thresholds_in_use() -> tuple[dict[str, float], str]:
    """The per-type thresholds routing uses now (calibrated file, else defaults), and where from."""
    from formkit.kinds import KINDS
    from validation.routing import calibrated_thresholds, thresholds_path

    cal = calibrated_thresholds()
    out = {name: cal.get(name, kind.threshold) for name, kind in KINDS.items()}
    path = thresholds_path()
    return out, str(path) if path is not None and path.exists() else "defaults (no thresholds file)"


# --- baselines (the old bench's ratios) --------------------------------------------------------------------


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
        readers["rapidocr PP-OCRv6 pipeline"] = lambda img: "".join(ro(img[..., ::-1]).txts or ())  # type: ignore[union-attr]
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


def _tesseract_page(img: Any, tpl: Any, truth: dict[str, Any], st: dict[str, list[Any]]) -> None:
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
            or lay.spec.type not in ("name", "text", "address", "phone", "number")
            or lay.cells
        ):
            continue
        box = lay.zone.inset(0.7)
        bbox = ink_bbox(z.ink(box))
        if bbox is None:
            continue
        t0 = time.perf_counter()
        got = norm(tesseract_field(pad_crop(z.gray(box), bbox, 6)))
        st["ms"].append((time.perf_counter() - t0) * 1000)
        st["exact"].append(got == norm(want))
        st["cer"].append(cer(norm(want), got))


def baselines(kept: list[tuple[Any, Any, Any]], engines: list[str], template_s: float) -> dict[str, Any]:
    """Full-page OCR (and tesseract on the zones) on the same pages, for the speed/accuracy ratios."""
    out: dict[str, Any] = {}
    readers = full_page_readers(engines)
    for label, reader in readers.items():
        secs, found = [], []
        for img, _tpl, truth in progress.track(kept, label):
            t0 = time.perf_counter()
            text = norm(reader(img))
            secs.append(time.perf_counter() - t0)
            found += [
                norm(v) in text
                for n, v in truth["fields"].items()
                if isinstance(v, str) and _tpl.field(n).type in ("name", "text", "address", "phone", "number")
            ]
        fp = statistics.median(secs)
        out[label] = {
            "s_per_page_median": fp,
            "value_found_pct": 100 * sum(found) / max(len(found), 1),
            "template_reading_speedup": fp / template_s if template_s else None,
        }
        print(
            f"  {label:34} {fp:6.2f} s/page  values found in page text {out[label]['value_found_pct']:5.1f}%"
            f"  → template reading {fp / max(template_s, 1e-9):.1f}× faster"
        )
    if shutil.which("tesseract"):
        st: dict[str, list[Any]] = defaultdict(list)
        for img, tpl, truth in progress.track(kept, "tesseract-jpn"):
            _tesseract_page(img, tpl, truth, st)
        if st["exact"]:
            out["tesseract_jpn_fields"] = {
                "fields": len(st["exact"]),
                "field_exact_pct": 100 * sum(st["exact"]) / len(st["exact"]),
                "cer": statistics.mean(st["cer"]),
                "ms_per_field": statistics.median(st["ms"]),
            }
            print(f"  tesseract-jpn on the same trimmed zones: {out['tesseract_jpn_fields']}")
    if "ppocrv5-paddle" in engines:
        os.environ["DEJIRU_PADDLE_MKLDNN"] = "0"
        from ocr.engines.paddle_ppocr import PaddleRecognizer
        from ocr.reader import read_aligned, read_page

        rec_off = PaddleRecognizer()
        os.environ.pop("DEJIRU_PADDLE_MKLDNN")
        secs = []
        for img, _tpl, _truth in progress.track(kept, "ppocrv5-paddle, oneDNN off"):
            try:
                reading, aligned = read_page(img, engine="ppocrv5-paddle")
            except Exception:
                continue
            t0 = time.perf_counter()
            read_aligned(aligned, recognizer=rec_off)
            secs.append(time.perf_counter() - t0 + reading.timings_ms["align"] / 1000)
        if secs:
            out["paddle_mkldnn_off_s_per_page_median"] = statistics.median(secs)
            print(f"  ppocrv5-paddle with oneDNN off: {statistics.median(secs):.2f} s/page")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200, help="pages per split")
    ap.add_argument("--splits", default="holdout,tune", help="holdout, tune and/or classic")
    ap.add_argument("--engines", default="ppocrv6-onnx")
    ap.add_argument("--seed", type=int, help="first seed (default: each split's own)")
    ap.add_argument("--subset", type=int, default=0, help="pages also read by the full-page baselines")
    ap.add_argument("--out", type=Path, default=Path("bench/out/results.json"))
    ap.add_argument(
        "--thresholds",
        help="thresholds file to route with (default: what the installation uses; "
        "'none' for the uncalibrated defaults)",
    )
    ap.add_argument("--rescore", type=Path, nargs="*", help="labels files of an earlier run: route again")
    args = ap.parse_args()
    if args.thresholds:
        os.environ["DEJIRU_THRESHOLDS"] = "/nonexistent" if args.thresholds == "none" else args.thresholds

    from synth.splits import HOLDOUT_ONLY_FORMS

    thresholds, source = thresholds_in_use()
    print(f"thresholds: {source}")
    report: dict[str, Any] = {"thresholds": source, "threshold_values": thresholds, "splits": {}}
    if args.rescore:
        for path in args.rescore:
            split, rows, pages = load_labels(path)
            report["splits"][split] = {
                e: report_split(split, e, rows[e], pages[e], thresholds, HOLDOUT_ONLY_FORMS) for e in rows
            }
    else:
        from ocr.engines import get_recognizer

        engines = args.engines.split(",")
        for e in engines:
            get_recognizer(e)  # load outside the timings
        splits = args.splits.split(",")
        print(f"{args.pages} pages per split ({', '.join(splits)}), engines {engines}", flush=True)
        first_kept: list[Any] = []
        for split in splits:
            rows, pages, kept = read_split(split, args.pages, engines, args.seed, args.out.parent)
            first_kept = first_kept or kept
            report["splits"][split] = {
                e: report_split(split, e, rows[e], pages[e], None, HOLDOUT_ONLY_FORMS) for e in engines
            }
        if args.subset:
            print(f"\nfull-page OCR without a template, on the first {args.subset} pages of {splits[0]}:")
            first = report["splits"][splits[0]][engines[0]]
            report["full_page"] = baselines(
                first_kept[: args.subset], engines, first["read_s_per_page_median"] or 0.0
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    with progress.shown():
        main()

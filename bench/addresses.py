"""Address fields on the redesigned forms: how often they are right, go straight through, or are
silently wrong (not a test; prints, and writes JSON with ``--out``).

    python -m bench.addresses [--count 40] [--seed 9000000] [--forms juminhyo_request,inkan_request]
                              [--population classic|wide]

The promise is that a wrong value is never keyed without a person seeing it while most fields still
go straight through, so for every address field with a written value (the applicant's and, when the
sample has an agent, the agent's) it counts: exact (the value equals the truth), straight through
(no review needed), silent error (straight through and wrong). Pages cycle through four hands
(Klee, Seto, Kiloji handwriting-style; IPA Gothic printed), the office and the harsh scan profiles,
300 and 200 dpi; seeds from 9,000,000 up, which no threshold was ever calibrated on. A page the
reader refuses counts as reviewed (a person sees it), not as straight through.

``--population classic`` (the default) draws applicants from the five cities around 東大和市 the
project has always used, so figures compare with earlier versions; ``wide`` from the held-out half of
every town in Japan Post's data, with buildings and rooms now and then.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from core import progress

FONTS = ["klee", "seto", "kiloji", "ipag"]
FORMS = ["juminhyo_request", "inkan_request"]


def pages(form_index: int, count: int, seed: int) -> list[tuple[int, str, str, int]]:
    """(seed, font, scan profile, dpi) for each page of one form: every font on every profile."""
    out = []
    for i in range(count):
        out.append(
            (
                seed + form_index * 100_000 + i,
                FONTS[i % len(FONTS)],
                "harsh" if (i // len(FONTS)) % 2 else "office",
                (300, 200)[(i // (2 * len(FONTS))) % 2],
            )
        )
    return out


def pct(xs: list[bool]) -> float:
    return 100.0 * sum(xs) / len(xs) if xs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=40, help="pages per form")
    ap.add_argument("--seed", type=int, default=9_000_000)
    ap.add_argument("--forms", default=",".join(FORMS))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--show", type=int, default=12, help="how many wrong values to list")
    ap.add_argument("--population", choices=["classic", "wide"], default="classic")
    args = ap.parse_args()
    extra: dict[str, Any] = {}
    if args.population == "wide":
        from synth.persons import Population

        extra["population"] = Population("wide", half=1)

    from formkit.registry import load_template
    from ocr.reader import read_page
    from synth.samples import make_sample
    from validation.routing import validate

    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for fi, form in enumerate(args.forms.split(",")):
        tpl = load_template(form)
        names = [f.name for f in tpl.fields if f.type == "address"]
        todo = pages(fi, args.count, args.seed)
        for seed, font, profile, dpi in progress.track(todo, f"{form}: 生成と読み取り / making and reading"):
            img, truth = make_sample(tpl, seed, font=font, profile=profile, dpi=dpi, **extra)
            try:
                reading, _ = read_page(img)
                validate(tpl, reading)
                got = {n: reading.fields[n] for n in names}
            except Exception as exc:  # a refused page goes to a person: counted as reviewed
                got = {}
                print(f"  refused {form} seed {seed}: {exc}")
            for n in names:
                want = truth["fields"].get(n)
                if want in (None, ""):
                    continue
                f = got.get(n)
                value = f.value if f is not None else None
                straight = f is not None and not f.needs_review
                rows.append(
                    {
                        "form": form,
                        "field": n,
                        "seed": seed,
                        "font": font,
                        "profile": profile,
                        "dpi": dpi,
                        "truth": want,
                        "value": value,
                        "raw": f.raw if f is not None else "",
                        "exact": value == want,
                        "straight": straight,
                        "silent": straight and value != want,
                        "reasons": [r.code for r in f.reasons] if f is not None else ["refused"],
                    }
                )
        print(f"  {form}: {args.count} pages ({time.perf_counter() - t0:.0f} s)", flush=True)

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["form"]].append(r)
        groups[f"font {r['font']}"].append(r)
        groups["with a building" if " " in str(r["truth"]) else "no building"].append(r)
        groups["all"].append(r)
    report: dict[str, Any] = {
        "count_per_form": args.count,
        "seed": args.seed,
        "population": args.population,
        "groups": {},
    }
    print(f"\n{'address fields':24} {'n':>5} {'exact%':>7} {'straight%':>9} {'silent%':>8}")
    for label, rs in groups.items():
        row = {
            "fields": len(rs),
            "exact_pct": pct([r["exact"] for r in rs]),
            "straight_through_pct": pct([r["straight"] for r in rs]),
            "silent_error_pct": pct([r["silent"] for r in rs]),
        }
        report["groups"][label] = row
        print(
            f"{label:24} {row['fields']:5} {row['exact_pct']:7.1f} {row['straight_through_pct']:9.1f} "
            f"{row['silent_error_pct']:8.2f}"
        )
    wrong = [r for r in rows if not r["exact"]]
    silent = [r for r in wrong if r["silent"]]
    print(f"\nsilent errors ({len(silent)}):")
    for r in silent[: args.show]:
        print(f"  {r['form']} {r['seed']} {r['font']}: {r['truth']} → {r['value']}")
    print(f"\nwrong but sent to review ({len(wrong) - len(silent)}), first {args.show}:")
    for r in [r for r in wrong if not r["silent"]][: args.show]:
        print(f"  {r['form']} {r['seed']} {r['font']}: {r['truth']} → {r['value']}  {r['reasons']}")
    if args.out:
        report["rows"] = rows
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    with progress.shown():
        main()

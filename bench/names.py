"""Names on generated scans: how often a correct name is sent to review for 異体字, and what slips by.

    python -m bench.names [--pages 120] [--seed 8000000] [--names stock|variants] [--out FILE]

Pages alternate between 住民票の写し等交付請求書 (juminhyo_request) and 印鑑登録証明書交付申請書
(inkan_request) and cycle through four hands (IPA Gothic printed; Klee, Seto, Kiloji handwriting).
Every NAME field with a value is scored, after routing (validate): exact %, straight-through % (no
reason to review at all), silent-error % (wrong and not sent to review), the share sent to review
for name_variant, and the same share among names read right (the false alarms this check costs).

``--names stock`` draws applicants from :mod:`synth.persons` as they are; ``--names variants`` adds
names written with old and variant forms and their common twins (靜香/静香, 聰/聡, 美穗/美穂, 渡邊,
髙木/高木, 大塚, 會田/会田, 團/団 …), so that variant confusions occur often enough to count. The
script runs unchanged on an older checkout, so a before/after pair is the same pages read by two
versions of the reader.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core import progress

os.environ.setdefault("DEJIRU_TODAY", "2026-11-24")

TEMPLATES = ["juminhyo_request", "inkan_request"]
FONTS = ["ipag", "klee", "seto", "kiloji"]

#: Surnames written with old or variant forms, each beside its common twin, with readings.
VARIANT_SURNAMES = [
    ("渡邊", "ワタナベ"),
    ("齊藤", "サイトウ"),
    ("斉藤", "サイトウ"),
    ("浜田", "ハマダ"),
    ("澤田", "サワダ"),
    ("沢田", "サワダ"),
    ("廣瀬", "ヒロセ"),
    ("広瀬", "ヒロセ"),
    ("櫻井", "サクライ"),
    ("桜井", "サクライ"),
    ("國分", "コクブ"),
    ("国分", "コクブ"),
    ("德永", "トクナガ"),
    ("徳永", "トクナガ"),
    ("曾根", "ソネ"),
    ("曽根", "ソネ"),
    ("眞鍋", "マナベ"),
    ("真鍋", "マナベ"),
    ("黑田", "クロダ"),
    ("黒田", "クロダ"),
    ("嶋田", "シマダ"),
    ("島田", "シマダ"),
    ("冨田", "トミタ"),
    ("富田", "トミタ"),
    ("髙木", "タカギ"),
    ("高木", "タカギ"),
    ("會田", "アイダ"),
    ("会田", "アイダ"),
    ("團", "ダン"),
    ("団", "ダン"),
    ("大塚", "オオツカ"),
    ("神田", "カンダ"),
    ("福田", "フクダ"),
    ("宮崎", "ミヤザキ"),
    ("豐田", "トヨダ"),
    ("豊田", "トヨダ"),
]
#: Given names likewise.
VARIANT_GIVEN = [
    ("静香", "シズカ"),
    ("靜香", "シズカ"),
    ("聡", "サトシ"),
    ("聰", "サトシ"),
    ("美穂", "ミホ"),
    ("美穗", "ミホ"),
    ("恵美", "エミ"),
    ("惠美", "エミ"),
    ("真理", "マリ"),
    ("眞理", "マリ"),
    ("竜也", "タツヤ"),
    ("龍也", "タツヤ"),
    ("礼子", "レイコ"),
    ("禮子", "レイコ"),
    ("実", "ミノル"),
    ("實", "ミノル"),
    ("栄一", "エイイチ"),
    ("榮一", "エイイチ"),
    ("壮太", "ソウタ"),
    ("壯太", "ソウタ"),
    ("恒夫", "ツネオ"),
    ("恆夫", "ツネオ"),
    ("学", "マナブ"),
    ("學", "マナブ"),
    ("晃", "アキラ"),
    ("経子", "ツネコ"),
]


@contextlib.contextmanager
def applicants(kind: str) -> Iterator[None]:
    """Draw applicants from the stock lists, or from them plus the variant names (restored after)."""
    from synth import persons

    saved = persons.SURNAMES, persons.GIVEN_NAMES
    if kind == "variants":
        persons.SURNAMES = saved[0] + VARIANT_SURNAMES
        persons.GIVEN_NAMES = saved[1] + VARIANT_GIVEN
    try:
        yield
    finally:
        persons.SURNAMES, persons.GIVEN_NAMES = saved


def pages(n: int, seed: int) -> list[tuple[int, str, str]]:
    """(seed, template, font) for each page: templates alternate, fonts change every second page."""
    return [(seed + i, TEMPLATES[i % len(TEMPLATES)], FONTS[(i // 2) % len(FONTS)]) for i in range(n)]


def written_in_a_rare_form(name: str) -> bool | None:
    """Whether a true name holds an old or rare form (by this checkout's table; None on one without)."""
    try:
        from validation.variants import is_rare
    except ImportError:
        return None
    return any(is_rare(c) for c in name)


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    right = [r for r in rows if r["exact"]]
    common = [r for r in right if written_in_a_rare_form(r["truth"]) is False]

    def pct(k: int, of: int) -> float:
        return round(100.0 * k / of, 1) if of else 0.0

    return {
        "names": n,
        "exact%": pct(len(right), n),
        "straight%": pct(sum(not r["review"] for r in rows), n),
        "silent%": pct(sum(r["review"] is False and not r["exact"] for r in rows), n),
        "variant%": pct(sum(r["variant"] for r in rows), n),
        "variant_on_right%": pct(sum(r["variant"] for r in right), len(right)),
        "variant_on_common_right%": pct(sum(r["variant"] for r in common), len(common)),
    }


HEADER = [
    "names",
    "exact%",
    "straight%",
    "silent%",
    "variant%",
    "variant_on_right%",
    "variant_on_common_right%",
]


def print_table(groups: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One line per group of names; the scores, by group."""
    print(f"{'':<8}" + "".join(f"{h:>{max(len(h) + 2, 9)}}" for h in HEADER))
    out = {}
    for name, group in groups.items():
        s = score(group)
        out[name] = s
        print(f"{name:<8}" + "".join(f"{s[h]:>{max(len(h) + 2, 9)}}" for h in HEADER))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=120)
    ap.add_argument("--seed", type=int, default=8_000_000)
    ap.add_argument("--names", choices=["stock", "variants"], default="stock")
    ap.add_argument("--out", type=Path, default=None, help="JSON with every name read (default: none)")
    ap.add_argument(
        "--compare", type=Path, default=None, help="--out JSON of an older checkout on the same pages"
    )
    ap.add_argument("--rows", type=Path, default=None, help="score this --out JSON instead of reading pages")
    args = ap.parse_args()

    import ocr.reader

    # Every rival the recogniser weighed, kept beside each name read (for tuning, in --out).
    captured: list[Any] = []
    measure = ocr.reader.with_rivals

    def keep(*a: Any, **kw: Any) -> Any:
        d = measure(*a, **kw)
        captured.append(d)
        return d

    ocr.reader.with_rivals = keep

    from formkit.registry import load_template
    from ocr.reader import read_page
    from synth.samples import make_sample
    from validation.routing import validate

    templates = {t: load_template(t) for t in TEMPLATES}
    rows: list[dict[str, Any]] = []
    if args.rows:
        rows = json.loads(args.rows.read_text(encoding="utf-8"))["rows"]
    with applicants(args.names):
        todo = pages(0 if args.rows else args.pages, args.seed)
        for seed, tid, font in progress.track(todo, "生成と読み取り / making and reading"):
            tpl = templates[tid]
            img, truth = make_sample(tpl, seed, font=font)
            captured.clear()
            reading, _ = read_page(img, form_id=tid)
            validate(tpl, reading)
            names = [s for s in tpl.fields if s.kind.person_name and reading.fields[s.name].raw]
            decoded = dict(zip([s.name for s in names], captured, strict=False))
            for spec in tpl.fields:
                want = truth["fields"].get(spec.name)
                if not spec.kind.person_name or not want:
                    continue
                f = reading.fields[spec.name]
                codes = [r.code for r in f.reasons]
                rows.append(
                    {
                        "seed": seed,
                        "form": tid,
                        "font": font,
                        "field": spec.name,
                        "truth": want,
                        "read": f.value,
                        "exact": f.value == want,
                        "review": f.needs_review,
                        "variant": "name_variant" in codes,
                        "reasons": [f"{r.code}: {r.ja}" for r in f.reasons],
                        "rivals": [
                            (ch, alt, round(p, 4))
                            for ch, alt, p in getattr(decoded.get(spec.name), "rivals", [])
                        ],
                    }
                )

    print(f"\n{args.pages} pages, seeds {args.seed}–{args.seed + args.pages - 1}, names: {args.names}\n")
    table = print_table({f: [r for r in rows if r["font"] == f] for f in FONTS} | {"all": rows})
    for r in rows:
        if not r["review"] and not r["exact"]:
            print(f"  silent: {r['truth']} read {r['read']} ({r['form']} {r['font']} seed {r['seed']})")
    if args.compare:
        before = json.loads(args.compare.read_text(encoding="utf-8"))["rows"]
        print(f"\nbefore ({args.compare.name}) and now, the same pages:")
        print_table({"before": before, "now": rows})
    if args.out:
        args.out.write_text(
            json.dumps({"table": table, "rows": rows}, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        print(f"written: {args.out}")


if __name__ == "__main__":
    with progress.shown():
        main()

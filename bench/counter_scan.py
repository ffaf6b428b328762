"""書かない窓口: counter slips scanned back through the real pipeline (``make bench``; not a test).

    python -m bench.counter_scan [--slips 24] [--splits holdout,tune] [--out FILE] [--rows]

Why: the counter's promise is that a slip staff printed, the visitor checked and signed, comes back
through the inbox and goes straight through with exactly the values typed, while anything the paper
does not vouch for (a hand's correction, a seal that is not ours, a seal on other paper, the same slip
twice, no signature) goes to a person. :mod:`bench.print_check` measures the ink comparison alone on
aligned pages; this bench measures what a city hall gets: files dropped in the inbox, taken by
:func:`pipeline.intake.intake_file` and read by :func:`pipeline.reading.read_document` (alignment, the
reader, the QR finder, the seal, the print check, the checks and the routing, with the shipped
thresholds and a fresh installation of its own).

Slips are drawn from the :mod:`synth.splits` splits (each split's seeds, hands, scan profiles and dpi,
and its half of the names and towns); the form of each is one of the procedures the counter prints
(:func:`pipeline.counter_entry.procedures`: 犬の登録申請書, HOLDOUT's own form, is not one of them, so
both splits print the same forms). Seeds are apart from every other bench's (TUNE 5,700,000+, HOLDOUT
8,300,000+): nothing was looked at on these pages before. For each slip a made-up visitor's values are
sealed and printed (:func:`formkit.seal.counter_values`, the QR drawn as :func:`synth.fill.prefilled_pdf`
draws it) and the paper is scanned with the page's profile in six ways:

* ``untouched``: signed by the visitor in the page's hand; must be approved, channel ``counter``, every
  sealed value exact and the signature found;
* ``twice``: that same paper scanned again (another pass through the scanner): must be quarantined
  as ``seal_slip_used``;
* ``corrected``: another slip of the same visit with one field corrected by that hand
  (:func:`synth.fill.write_correction`: a double line and the new value beside or above, one character
  struck, or a value written over the print), signed: that field must go to review, every other field
  keep its sealed value unflagged;
* ``forged``: the same values sealed with another installation's key on a slip this city hall did
  issue: must be quarantined (``seal_forged``);
* ``moved``: a genuine seal on a paper printed with another visitor's values (a QR cut out and pasted,
  or a slip reprinted elsewhere), signed: must be quarantined or every field that differs flagged;
* ``unsigned``: an untouched slip nobody signed (forms with a signature field only): must go to review;
* ``defect``: a fresh untouched, signed slip scanned with each of the issue's sample defects
  (``DEFECTS``: the ``fax``, ``copier`` and ``phone`` profiles of :mod:`synth.scan`, whatever the
  split's own profiles; the fax is TUNE's, the phone photo HOLDOUT's) at the page's dpi: must go
  straight through with every sealed value exact, as ``untouched``.

Every read is compared with what the paper truly says (the typed values, the hand's correction, the
other visitor's values, signed or not): a document approved with a value the paper does not say is a
wrong value approved unseen, which must never happen; a wrong value in a field nobody is asked to look
at in a document that does go to review is counted beside it. Seconds are the wall time of intake and
reading of one scan on this machine.

Printed per split (HOLDOUT first: the headline) and per scan profile, with every failure listed by
field and reason; written to ``bench/results/counter-scan-<today>.txt`` (``bench`` pins the day), and
every read as one JSON row to ``bench/out/counter_scan-<split>.jsonl``, which ``--rows`` reports again
without reading anything. A slip whose QR cannot be read is read as paper with every field before a
person (``pipeline.counter_scan.UNREADABLE``): counted as a miss in every case, and shown apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Where each split's slips start: apart from ``bench`` (5,500,000 / 8,000,000), ``bench.print_check``
#: (the same) and ``dejiru calibrate`` (5,000,000), so no page here was ever looked at before.
FIRST_SEED = {"tune": 5_700_000, "holdout": 8_300_000}
CASES = ("untouched", "twice", "corrected", "forged", "moved", "unsigned")
#: The sample defects every slip is also scanned with (the issue's "fax, photocopy, phone photo").
DEFECTS = ("fax", "copier", "phone")
#: The reason a slip whose QR cannot be read gives every field (``pipeline.counter_scan.UNREADABLE``).
UNREAD = "seal_unreadable"
#: Another city hall's secret: a seal made with it is a forgery here.
FOREIGN_SECRET = "another city hall's installation secret"
#: This bench's installation secret (pinned: a random one would draw other QR codes every run).
BENCH_SECRET = "dejiru bench counter-scan installation secret"


@dataclasses.dataclass
class Slip:
    """One visitor's slip and everything the cases need to print and judge it."""

    spec: Any  # synth.splits.PageSpec, its form replaced by a procedure the counter prints
    day: dt.date  # the day it was printed
    tpl: Any
    mine: dict[str, Any]  # the values typed and sealed
    theirs: dict[str, Any]  # another visitor's values (the ``moved`` case's paper)
    signer: str
    signature: str | None  # the signature field's name (None: the form has none)
    target: str  # the field the ``corrected`` case corrects
    new: Any  # and what the hand writes there
    style: str  # strike, char or over (as bench.print_check draws them)
    span: Any  # mm box struck through (None: written over)
    #: Another visitor's values for each sample defect's slip (the same values again would be a
    #: possible duplicate of the first, rightly sent to a person).
    fresh: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


def blank(v: Any) -> bool:
    return v is None or v == "" or v == []


def same(a: Any, b: Any) -> bool:
    """Equal values, an empty one in any of its shapes (None, "", []) equal to another."""
    return (blank(a) and blank(b)) or a == b


def make_slip(spec: Any, population: Any, day: dt.date) -> Slip:
    """A made-up visitor's slip for one page of a split, printed on ``day``, and the correction its
    hand would make."""
    from bench.print_check import other_value, value_span
    from formkit.kinds import Shape
    from formkit.layout import layout
    from formkit.registry import load_template
    from formkit.seal import counter_values
    from ocr.align import PX_PER_MM
    from synth.fill import expected_print
    from synth.samples import sample_values

    tpl = load_template(spec.form)
    values, person = sample_values(tpl, random.Random(f"{spec.seed}:values"), day, population)
    others, _ = sample_values(tpl, random.Random(f"{spec.seed}:other"), day, population)
    mine, theirs = counter_values(tpl, values), counter_values(tpl, others)
    lays = {lay.spec.name: lay for lay in layout(tpl)}
    sig = next((n for n, lay in lays.items() if lay.spec.kind.shape is Shape.SIGNATURE), None)
    r = random.Random(f"{spec.seed}:correction")
    candidates = [
        (n, v)
        for n, lay in lays.items()
        if n != sig and (v := other_value(lay.spec, mine.get(n), theirs.get(n), r)) is not None
    ]
    target, new = r.choice(candidates)
    style = r.choice(["strike", "strike", "char", "over"])
    span = None
    if style != "over":
        span = value_span(expected_print(tpl, mine, PX_PER_MM), tpl, lays[target].zone, PX_PER_MM)
    if span is None:
        style = "over"
    elif style == "char" and span.w > span.h * 1.5:
        span = span.model_copy(update={"x": span.x + r.uniform(0, span.w - span.h), "w": span.h})
    fresh = {
        p: counter_values(tpl, sample_values(tpl, random.Random(f"{spec.seed}:{p}"), day, population)[0])
        for p in DEFECTS
    }
    return Slip(spec, day, tpl, mine, theirs, person.name, sig, target, new, style, span, fresh)


def paper(slip: Slip, seal: str, *, printed: dict[str, Any], signed: bool, correct: bool) -> bytes:
    """The slip as the visitor hands it back: ``printed`` typed in with the QR ``seal`` (exactly
    :func:`synth.fill.prefilled_pdf`'s print), then the visitor's hand on it: the correction and the
    signature, in the page's font or KanjiVG writer (the same hand on every paper of the slip)."""
    from reportlab.pdfgen.canvas import Canvas

    from formkit.layout import layout
    from formkit.render import draw_seal
    from formkit.seal import counter_values
    from synth.fill import Writer, filled_pdf, make_hand, typed_hand, write_correction
    from synth.scan import PROFILES

    spec, tpl = slip.spec, slip.tpl
    lays = {lay.spec.name: lay for lay in layout(tpl)}
    strike = PROFILES[spec.profile].defect_prob("strikeout")
    hand = make_hand(random.Random(f"{spec.seed}:hand"), font=spec.font, writer=spec.writer, strikeout=strike)

    def ink(c: Canvas) -> None:
        draw_seal(c, tpl, seal)
        w = Writer(c, tpl, hand)
        if correct:
            write_correction(w, lays[slip.target], slip.new, slip.span)
        if signed and slip.signature is not None:
            w.signature(slip.signer, lays[slip.signature].zone)

    return filled_pdf(tpl, counter_values(tpl, printed), typed_hand(), decorate=ink)


def scan(pdf: bytes, slip: Slip, tag: str, profile: str | None = None) -> tuple[bytes, list[str]]:
    """The paper through the page's scan profile (or ``profile``), as the PNG file a scanner drops in
    the inbox, and the defects it got."""
    import cv2

    from formkit.layout import layout
    from formkit.render import rasterize_pdf
    from synth.scan import PROFILES, degrade

    spec, tpl = slip.spec, slip.tpl
    px = spec.dpi / 25.4
    clean = rasterize_pdf(pdf, px, tpl.page.width_mm)
    names = [lay.zone for lay in layout(tpl) if lay.spec.kind.person_name]
    boxes = [(round(z.x * px), round(z.y * px), round(z.x2 * px), round(z.y2 * px)) for z in names]
    img, info = degrade(
        clean,
        random.Random(f"{spec.seed}:scan:{tag}"),
        PROFILES[profile or spec.profile],
        px,
        seal_boxes=boxes,
    )
    ok, png = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("cannot encode the scan")
    legacy = [k for k in ("fax", "grayscale", "photocopy", "shadow", "perspective") if info.get(k)]
    if info.get("rotated_deg"):
        legacy.append(f"rotated {info['rotated_deg']}°")
    return png.tobytes(), list(dict.fromkeys([*info.get("defects", []), *legacy]))


def take(ctx: Any, name: str, data: bytes) -> tuple[dict[str, Any], float]:
    """One file through intake and reading, as the watcher would; what the store then says."""
    from pipeline.intake import intake_file
    from pipeline.reading import read_document

    path = ctx.settings.inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    t0 = time.perf_counter()
    result = intake_file(path, ctx)
    if result.document_id is None:
        return {
            "status": f"not taken ({result.detail})",
            "channel": None,
            "error": None,
        }, time.perf_counter() - t0
    read_document(result.document_id, ctx)
    seconds = time.perf_counter() - t0
    doc = ctx.store.document(result.document_id)
    fields = ctx.store.fields(doc.id)
    return {
        "doc": doc.id,
        "status": str(doc.status),
        "channel": str(doc.channel),
        "error": doc.error_code,
        "values": ctx.store.values(doc.id),
        "flagged": {
            f.name: [r.get("code", "?") for r in json.loads(f.reasons)] or ["below threshold"]
            for f in fields
            if f.needs_review
        },
    }, seconds


def truth(slip: Slip, case: str) -> dict[str, Any]:
    """What the paper of ``case`` says, field by field (the signature: whether there is one)."""
    base = dict(slip.theirs if case == "moved" else slip.mine)
    if case == "corrected":
        base[slip.target] = slip.new
    if slip.signature is not None:
        base[slip.signature] = case != "unsigned"
    return base


def judge(slip: Slip, case: str, got: dict[str, Any], first: dict[str, Any] | None) -> dict[str, Any]:
    """Whether ``case`` came out as it must, and if not, why (field and reason)."""
    status, channel, error = got["status"], got["channel"], got["error"]
    stored: dict[str, Any] = got.get("values", {})
    flagged: dict[str, list[str]] = got.get("flagged", {})
    paper_says = truth(slip, case)
    wrong = sorted(k for k, v in paper_says.items() if k in stored and not same(stored[k], v))
    quarantined = status == "quarantined"
    out: dict[str, Any] = {
        "wrong_fields": wrong,
        "wrong_values": {k: {"paper": paper_says[k], "stored": stored[k]} for k in wrong},
        # a value the paper does not say, keyed without anyone having seen the document
        "approved_wrong": status == "approved" and bool(wrong),
        # a value the paper does not say, in a field nobody is asked to look at
        "unflagged_wrong": not quarantined and any(k not in flagged for k in wrong),
    }
    if case == "untouched":
        sealed = [k for k in slip.mine if not same(stored.get(k), slip.mine[k])]
        out["ok"] = status == "approved" and channel == "counter" and not wrong
        out["exact"] = channel == "counter" and not sealed
    elif case == "twice":
        out["ok"] = quarantined and error == "seal_slip_used"
        out["first_bound"] = (
            first is not None and first["channel"] == "counter" and first["status"] != "quarantined"
        )
    elif case == "corrected":
        others_flagged = sorted(k for k in flagged if k != slip.target)
        others_changed = [k for k in slip.mine if k != slip.target and not same(stored.get(k), slip.mine[k])]
        out["target_flagged"] = slip.target in flagged
        out["others_untouched"] = not quarantined and not others_flagged and not others_changed
        out["ok"] = (
            not quarantined and out["target_flagged"] and out["others_untouched"] and channel == "counter"
        )
        out["others_flagged"] = others_flagged
    elif case == "forged":
        out["ok"] = quarantined and (error or "").startswith("seal_")
        out["trusted"] = channel == "counter" and not quarantined  # values taken from the forged seal
        out["approved_wrong"] = out["trusted"] and status == "approved"
    elif case == "moved":
        differ = [k for k in slip.theirs if not same(slip.theirs[k], slip.mine.get(k))]
        out["ok"] = quarantined or all(k in flagged for k in differ)
    elif case == "unsigned":
        out["ok"] = status != "approved"
        out["signature_flagged"] = slip.signature in flagged
    return out


def run_slip(ctx: Any, slip: Slip) -> list[dict[str, Any]]:
    """Every case of one slip through the pipeline: one row each."""
    from formkit.seal import Seal, seal_key, seal_text

    spec, tpl = slip.spec, slip.tpl
    ours, foreign = seal_key(ctx.settings.secret_key()), seal_key(FOREIGN_SECRET)
    visit = ctx.store.open_visit("bench", "driver_license", "****1234")

    nonces = random.Random(f"{spec.seed}:nonces")

    def sealed(key: bytes, values: dict[str, Any] | None = None) -> str:
        nonce = nonces.randbytes(8).hex()  # as formkit.seal.new_nonce, drawn from the slip's seed
        ctx.store.add_counter_slip(visit.id, nonce, tpl.id, tpl.version, "bench", staff_seconds=40.0)
        seal = Seal(nonce, tpl.id, tpl.version, values or slip.mine, slip.day.isoformat())
        return seal_text(seal, key, tpl=tpl)

    signed = paper(slip, sealed(ours), printed=slip.mine, signed=True, correct=False)
    papers: dict[str, Callable[[], bytes]] = {
        "untouched": lambda: signed,
        "twice": lambda: signed,
        "corrected": lambda: paper(slip, sealed(ours), printed=slip.mine, signed=True, correct=True),
        "forged": lambda: paper(slip, sealed(foreign), printed=slip.mine, signed=True, correct=False),
        "moved": lambda: paper(slip, sealed(ours), printed=slip.theirs, signed=True, correct=False),
        "unsigned": lambda: paper(slip, sealed(ours), printed=slip.mine, signed=False, correct=False),
    }
    rows: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    runs: list[tuple[str, str | None]] = [(case, None) for case in CASES] + [("defect", p) for p in DEFECTS]
    for case, profile in runs:
        if case == "unsigned" and slip.signature is None:
            continue  # nothing to sign on this form
        judged = slip
        if case == "defect" and profile is not None:  # another visitor's slip: not "twice", no duplicate
            judged = dataclasses.replace(slip, mine=slip.fresh[profile])
            pdf = paper(judged, sealed(ours, judged.mine), printed=judged.mine, signed=True, correct=False)
        else:
            pdf = papers[case]()
        data, defects = scan(pdf, slip, case + (profile or ""), profile)
        got, seconds = take(ctx, f"{spec.split}-{spec.seed}-{case}{profile or ''}.png", data)
        if case == "untouched":
            first = got
        row = {
            "split": spec.split,
            "seed": spec.seed,
            "form": spec.form,
            "hand": spec.hand,
            "profile": profile or spec.profile,
            "dpi": spec.dpi,
            "defects": defects,
            "case": case,
            "seconds": round(seconds, 2),
            "target": slip.target if case == "corrected" else None,
            "style": slip.style if case == "corrected" else None,
            "status": got["status"],
            "channel": got["channel"],
            "error": got["error"],
            "flagged": got.get("flagged", {}),
        }
        rows.append(row | judge(judged, "untouched" if case == "defect" else case, got, first))
    return rows


def pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "–"


def why(r: dict[str, Any]) -> str:
    """One failure in a line: the slip, what came out and, field by field, the reasons."""
    head = (
        f"{r['seed']} {r['form']} {r['profile']} {r['dpi']}dpi {r['hand']} [{', '.join(r['defects']) or '-'}]"
    )
    what = f"{r['status']}/{r['channel']}" + (f" {r['error']}" if r["error"] else "")
    if r["case"] == "corrected":
        what += f"; corrected {r['target']} ({r['style']})"
    if r["case"] == "twice" and not r["first_bound"]:
        what += " (its first scan was not taken as this slip)"
    if r["seal_unread"]:  # every field carries it: say it once, and the other reasons
        what += "; QR unreadable, every field to review"
    other = {k: [x for x in v if x != UNREAD] for k, v in r["flagged"].items()}
    flags = "; ".join(f"{k}: {','.join(v)}" for k, v in sorted(other.items()) if v)
    wrong = f"; wrong {', '.join(r['wrong_fields'])}" if r["wrong_fields"] else ""
    return f"      {head}: {what}{wrong}" + (f"; flagged {flags}" if flags else "")


def report(name: str, every: list[dict[str, Any]]) -> list[str]:
    """The figures of one split, as lines: the split's own scans, then the sample defects."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = [r for r in every if r["case"] != "defect"]
    for r in every:
        # the seal seen at all: its values taken (channel counter) or a seal_* refusal
        r["seal_read"] = r["channel"] == "counter" or (r["error"] or "").startswith("seal_")
        # a slip recognised (ink in the seal's square) whose QR could not be read: read as paper
        r["seal_unread"] = any(UNREAD in v for v in r["flagged"].values())
        r["untrusted"] = r["status"] == "quarantined" or r["channel"] != "counter"
        # the same paper a second time, not refused: one visit's request twice in the back office
        r["again"] = r["case"] == "twice" and r["status"] != "quarantined"
        r["again_approved"] = r["case"] == "twice" and r["status"] == "approved"
        by[r["case"]].append(r)
    slips = len(by["untouched"])
    out = [f"\n{name.upper()}: {slips} slips ({', '.join(sorted({r['form'] for r in rows}))})"]

    def line(label: str, sel: list[dict[str, Any]], key: str) -> None:
        out.append(f"  {label:64} {pct(sum(bool(r[key]) for r in sel), len(sel))}")

    u, c = by["untouched"], by["corrected"]
    line("1. untouched, signed: straight through (approved, counter)", u, "ok")
    line("   every sealed value exact", u, "exact")
    line("2. corrected by hand: corrected field sent to review", c, "target_flagged")
    line("   the other fields untouched (sealed value, not flagged)", c, "others_untouched")
    line("   both", c, "ok")
    line("3. forged seal (another key): quarantined", by["forged"], "ok")
    line("   seal on a paper printed with other values: caught", by["moved"], "ok")
    line("   the same slip scanned twice: refused (seal_slip_used)", by["twice"], "ok")
    line("   the second scan stands as another application", by["twice"], "again")
    line("     of which approved unseen (must be 0)", by["twice"], "again_approved")
    line(
        "   forged or moved: never trusted (quarantined or read as paper)",
        by["forged"] + by["moved"],
        "untrusted",
    )
    line("4. unsigned: sent to review", by["unsigned"], "ok")
    line("   its signature field flagged", by["unsigned"], "signature_flagged")
    line("QR found and read (all cases)", rows, "seal_read")
    for dpi in sorted({r["dpi"] for r in rows}, reverse=True):
        line(f"   scanned at {dpi} dpi", [r for r in rows if r["dpi"] == dpi], "seal_read")
    line("   else a slip with its QR unreadable: every field to review", rows, "seal_unread")
    out.append(
        f"  {'wrong value approved unseen (all cases; must be 0)':64} "
        f"{sum(r['approved_wrong'] for r in rows)} of {len(rows)} scans"
    )
    out.append(
        f"  {'wrong value in an unflagged field, not quarantined':64} "
        f"{sum(r['unflagged_wrong'] for r in rows)} of {len(rows)} scans"
    )
    secs = [r["seconds"] for r in rows]
    out.append(
        f"  {'5. seconds per scan, intake + reading (median, max)':64} "
        f"{statistics.median(secs):.1f} s, {max(secs):.1f} s"
        f" (untouched {statistics.median(r['seconds'] for r in u):.1f} s)"
    )
    out.append(
        "  per scan profile: QR read | untouched ok | corrected caught | forged | moved | twice | unsigned"
    )
    for p in sorted({r["profile"] for r in rows}):
        mine = [r for r in rows if r["profile"] == p]
        cells = [f"{sum(r['seal_read'] for r in mine)}/{len(mine)}"]
        for case, key in (
            ("untouched", "ok"),
            ("corrected", "target_flagged"),
            ("forged", "ok"),
            ("moved", "ok"),
            ("twice", "ok"),
            ("unsigned", "ok"),
        ):
            sel = [r for r in by[case] if r["profile"] == p]
            cells.append(f"{sum(bool(r[key]) for r in sel)}/{len(sel)}")
        out.append(f"    {p:12} " + " | ".join(f"{x:>5}" for x in cells))
    d = by["defect"]
    if d:
        out.append("  6. the sample defects: a fresh untouched, signed slip scanned as each")
        line("   straight through, every sealed value exact (all)", d, "ok")
        for p in DEFECTS:
            for dpi in sorted({r["dpi"] for r in d}, reverse=True):
                sel = [r for r in d if r["profile"] == p and r["dpi"] == dpi]
                line(f"   {p} at {dpi} dpi: QR read", sel, "seal_read")
                line(f"   {p} at {dpi} dpi: straight through, exact", sel, "ok")
        line("   wrong value approved unseen (must be 0)", d, "approved_wrong")
    failures = [
        ("untouched not straight through or not exact", [r for r in u if not (r["ok"] and r["exact"])]),
        ("sample defects not straight through or not exact", [r for r in d if not (r["ok"] and r["exact"])]),
        ("corrections missed or other fields touched", [r for r in c if not r["ok"]]),
        *[
            (f"{case} not caught", [r for r in by[case] if not r["ok"]])
            for case in ("forged", "moved", "twice", "unsigned")
        ],
        (
            "wrong values unflagged (any case)",
            [r for r in rows if r["unflagged_wrong"] or r["approved_wrong"]],
        ),
    ]
    for label, sel in failures:
        if sel:
            out.append(f"    {label}:")
            out += [why(r) for r in sel]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slips", type=int, default=24, help="slips per split (six scans each)")
    ap.add_argument("--splits", default="holdout,tune", help="the first is the headline")
    ap.add_argument("--out", type=Path, default=None, help="default: bench/results/counter-scan-<today>.txt")
    ap.add_argument(
        "--rows", action="store_true", help="report the rows of the last run again, reading nothing"
    )
    args = ap.parse_args()

    from core import clock

    # The day the slips are printed and read, and that names the results: pinned by ``bench`` as for
    # every bench (a slip's request date is its printing day, which the checks compare with today).
    day = clock.today()
    out = args.out or Path(f"bench/results/counter-scan-{day.isoformat()}.txt")
    home = Path(tempfile.mkdtemp(prefix="dejiru-bench-counter-scan-"))
    # A fresh installation: its own home, inbox, database and secret; the shipped thresholds (none of
    # a developer's calibration in ./var).
    os.environ |= {
        "DEJIRU_HOME": str(home / "var"),
        "DEJIRU_INBOX": str(home / "inbox"),
        # The same seals run after run (with the nonces drawn from the slip's seed): the same QR
        # modules, so the same figures.
        "DEJIRU_SECRET_KEY": BENCH_SECRET,
    }

    from core.settings import load_settings
    from pipeline.context import Context
    from pipeline.counter_entry import procedures
    from synth.splits import SPLITS
    from validation.routing import thresholds_path

    forms = sorted(t.id for t in procedures())
    lines = [
        f"counter slips through the pipeline: forms {', '.join(forms)}, thresholds {thresholds_path()}, "
        f"printed {day}; TUNE seeds {FIRST_SEED['tune']}+, HOLDOUT seeds {FIRST_SEED['holdout']}+"
    ]
    if not args.rows:
        print(lines[0], flush=True)
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    ctx = None if args.rows else Context.create(load_settings())
    for name in args.splits.split(","):
        split = SPLITS[name]
        rows_file = Path(f"bench/out/counter_scan-{name}.jsonl")
        rows: list[dict[str, Any]] = []
        if ctx is None:
            rows = [json.loads(x) for x in rows_file.read_text(encoding="utf-8").splitlines() if x.strip()]
            lines += report(name, rows)
            continue
        t0 = time.perf_counter()
        with rows_file.open("w", encoding="utf-8") as fh:
            for i, spec in enumerate(split.pages(args.slips, FIRST_SEED[name])):
                spec = dataclasses.replace(spec, form=forms[i % len(forms)])
                slip_rows = run_slip(ctx, make_slip(spec, split.population, day))
                for r in slip_rows:
                    fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
                rows += slip_rows
                print(
                    f"  {name} {i + 1}/{args.slips} ({time.perf_counter() - t0:.0f} s): "
                    + " ".join(
                        f"{r['profile'] if r['case'] == 'defect' else r['case']}={'ok' if r['ok'] else 'FAIL'}"
                        for r in slip_rows
                    ),
                    flush=True,
                )
        lines += report(name, rows)
        lines.append(f"  (the split read in {time.perf_counter() - t0:.0f} s)")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()

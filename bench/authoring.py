"""How well ``dejiru template new`` drafts a template from a real blank form (``make bench``; not a test).

    python -m bench.authoring [--forms ../shared/forms] [--only NAME] [--texts-cache DIR] [--iou 0.5]

Why: a city has about a hundred procedures; how many dejiru serves depends on how much of each draft a
DX leader keeps. The yardstick is the real government forms in ``../shared/forms``: each has its blank
PDF and the boxes people drew on it for the pdfme project (``template.json``: a name, a type, a box in
millimetres). None of the proposer's rules or thresholds is fitted on them; they stand for the forms we
will never see, so a rule that only helps one of them is not a rule.

What counts. The people drew one box per thing to fill in: a text box, or one box per option to mark
(pdfme's ``checkbox`` and ``circleMark``), or one box for a choice where the code is written in. So a
proposal is cut into the same units: a field to write in is one unit, a date with part boxes its
parts, a field of options one unit per option box; where the field's own box matches more of the
drawn boxes than its parts do (people drew one box for the whole date or choice), the field's box;
where people drew each cell of a comb or each line of a field on several lines, its cells or lines. A truth box is *found* when a unit of the same page overlaps it
with IoU ≥ 0.5 (one to one, best overlaps first). Printed per form and page, and in all:

* recall: truth boxes found ÷ truth boxes; precision: units that found one ÷ units proposed;
* inside: truth boxes lying (≥ 80 %) inside some unit without being found: cut at the wrong size;
* kind: of the found pairs, how many agree on write-in versus mark-an-option;
* named: units whose field got a name from its label (not ``field_NN``);
* titles: first pages whose proposed title the publisher's title (``metadata.json``) holds.

``--texts-cache`` keeps the OCR of each blank page in a folder, to try a change of the proposer in
seconds; the figures to report are from a run without it.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core import progress
from formkit.layout import split_across
from formkit.model import Box, FieldType

#: A box people drew is found by a proposed unit overlapping it at least this much (IoU).
IOU_FOUND = 0.5
#: A truth box this much inside a unit that did not find it was "cut at the wrong size".
INSIDE_SHARE = 0.8
MARK_TYPES = {"checkbox", "circleMark", "radioGroup"}
CHOICE_TYPES = {FieldType.CHOICE, FieldType.CHECKBOXES, FieldType.CHECKBOX}


@dataclass(frozen=True)
class Unit:
    """One box to compare: drawn by people (truth) or proposed; ``mark`` when it is an option to mark."""

    name: str
    box: Box
    mark: bool


@dataclass
class PageScore:
    form: str
    page: int
    truth: int
    units: int
    found: int
    inside: int
    kind_ok: int
    named: int
    seconds: float
    #: The proposed title, and whether the form's published title holds it (first pages only).
    title: str = ""
    title_ok: bool | None = None

    @property
    def recall(self) -> float:
        return self.found / self.truth if self.truth else 0.0

    @property
    def precision(self) -> float:
        return self.found / self.units if self.units else 0.0


def truth_units(template_json: Path) -> list[list[Unit]]:
    """The boxes people drew, page by page (pdfme: position and size in mm from the top left)."""
    data = json.loads(template_json.read_text(encoding="utf-8"))
    pages = []
    for schema in data["schemas"]:
        items = schema.values() if isinstance(schema, dict) else schema
        pages.append(
            [
                Unit(
                    str(s.get("name", "")),
                    Box(x=s["position"]["x"], y=s["position"]["y"], w=s["width"], h=s["height"]),
                    s.get("type") in MARK_TYPES,
                )
                for s in items
                if s.get("width", 0) > 0 and s.get("height", 0) > 0
            ]
        )
    return pages


def proposed_units(fields: list, truth: list[Unit]) -> list[Unit]:
    """A proposal cut into the units people draw: an option's box, a field's box, or a date's parts
    where the parts match the drawn boxes better than the whole."""
    out: list[Unit] = []
    for f in fields:
        ways = [[Unit(f.name, f.box, f.type in CHOICE_TYPES)]]
        if f.options and f.type in CHOICE_TYPES:
            ways.append([Unit(f.name, o.box, True) for o in f.options])
        elif f.part_boxes:  # a date: its parts, and its eras to circle
            eras = [Unit(f.name, o.box, True) for o in f.options]
            ways.append([Unit(f.name, b, False) for b in f.part_boxes.values()] + eras)
            if f.cells:
                ways.append(
                    [Unit(f.name, c, False) for b in f.part_boxes.values() for c in split_across(b, f.cells)]
                    + eras
                )
        elif f.pieces:  # written in pieces between printed separators
            ways.append([Unit(f.name, b, False) for b in f.pieces])
        elif f.lines:  # several writing lines: people may have drawn each line
            ways.append([Unit(f.name, b, False) for b in _bands(f.box, f.lines)])
        elif f.cells:  # a comb: people may have drawn each cell
            ways.append([Unit(f.name, c, False) for c in split_across(f.box, f.cells)])
        out += max(ways, key=lambda w: (_best(w, truth), -len(w)))
    return out


def _bands(box: Box, n: int) -> list[Box]:
    h = box.h / n
    return [Box(x=box.x, y=box.y + i * h, w=box.w, h=h) for i in range(n)]


def _best(units: list[Unit], truth: list[Unit]) -> int:
    return len(match(units, truth))


def match(units: list[Unit], truth: list[Unit]) -> list[tuple[Unit, Unit]]:
    """Pairs (proposed, truth) with IoU ≥ IOU_FOUND, one to one, the best overlaps first."""
    pairs = sorted(
        ((u.box.iou(t.box), i, j) for i, u in enumerate(units) for j, t in enumerate(truth)),
        reverse=True,
    )
    used_u: set[int] = set()
    used_t: set[int] = set()
    out = []
    for v, i, j in pairs:
        if v < IOU_FOUND:
            break
        if i in used_u or j in used_t:
            continue
        used_u.add(i)
        used_t.add(j)
        out.append((units[i], truth[j]))
    return out


def _inside(t: Box, u: Box) -> bool:
    ix = max(0.0, min(t.x2, u.x2) - max(t.x, u.x))
    iy = max(0.0, min(t.y2, u.y2) - max(t.y, u.y))
    return ix * iy >= INSIDE_SHARE * t.w * t.h


def score(form: str, page: int, units: list[Unit], truth: list[Unit], seconds: float) -> PageScore:
    pairs = match(units, truth)
    found_t = {id(t) for _, t in pairs}
    inside = sum(1 for t in truth if id(t) not in found_t and any(_inside(t.box, u.box) for u in units))
    return PageScore(
        form,
        page,
        len(truth),
        len(units),
        len(pairs),
        inside,
        sum(1 for u, t in pairs if u.mark == t.mark),
        sum(1 for u in units if not re.fullmatch(r"field_\d+", u.name)),
        seconds,
    )


def _texts(pdf: Path, page: int, image, cache: Path | None) -> list:
    from authoring import propose

    key = cache / f"{pdf.parent.name}-p{page}.pkl" if cache else None
    if key is not None and key.exists():
        return pickle.loads(key.read_bytes())
    texts = propose.read_texts(image, propose.BLANK_PX_PER_MM)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(pickle.dumps(texts))
    return texts


def score_form(folder: Path, cache: Path | None = None) -> list[PageScore]:
    """Propose every page of one form that people drew boxes on, and score it against them."""
    from authoring import propose

    out = []
    for n, truth in enumerate(truth_units(folder / "template.json"), start=1):
        if not truth:
            continue  # a page of instructions: nothing to fill in
        t0 = time.perf_counter()
        image, size = propose.load_blank(folder / "source.pdf", n)
        texts = _texts(folder / "source.pdf", n, image, cache)
        gray = propose.to_gray(image)
        fields = propose.propose(gray, propose.BLANK_PX_PER_MM, texts)
        seconds = time.perf_counter() - t0
        page = score(folder.name, n, proposed_units(fields, truth), truth, seconds)
        if n == 1:
            page.title = propose.guess_title(texts, size, propose.ruled_cells(gray, propose.BLANK_PX_PER_MM))
            page.title_ok = bool(page.title) and _norm(page.title) in _norm(published_title(folder))
        out.append(page)
    return out


def published_title(folder: Path) -> str:
    """The form's title as its publisher names it (``metadata.json``), where the folder has one."""
    meta = folder / "metadata.json"
    return str(json.loads(meta.read_text(encoding="utf-8")).get("title", "")) if meta.exists() else ""


def _norm(text: str) -> str:
    return re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", text))


def report(scores: list[PageScore]) -> str:
    head = f"{'form':44} {'p':>2} {'truth':>5} {'units':>5} {'found':>5} {'recall':>7} {'precis':>7} {'inside':>6} {'kind':>5} {'named':>6} {'s':>5}"
    lines = [head, "-" * len(head)]
    for s in scores:
        lines.append(
            f"{s.form[:44]:44} {s.page:>2} {s.truth:>5} {s.units:>5} {s.found:>5} {s.recall:>7.1%} "
            f"{s.precision:>7.1%} {s.inside:>6} {s.kind_ok:>5} {s.named / max(s.units, 1):>6.0%} {s.seconds:>5.1f}"
        )
    t = PageScore(
        "all",
        0,
        sum(s.truth for s in scores),
        sum(s.units for s in scores),
        sum(s.found for s in scores),
        sum(s.inside for s in scores),
        sum(s.kind_ok for s in scores),
        sum(s.named for s in scores),
        sum(s.seconds for s in scores),
    )
    lines.append("-" * len(head))
    lines.append(
        f"{'all (' + str(len(scores)) + ' pages)':44} {'':>2} {t.truth:>5} {t.units:>5} {t.found:>5} "
        f"{t.recall:>7.1%} {t.precision:>7.1%} {t.inside:>6} {t.kind_ok:>5} {t.named / max(t.units, 1):>6.0%} {t.seconds:>5.1f}"
    )
    macro_r = sum(s.recall for s in scores) / max(len(scores), 1)
    macro_p = sum(s.precision for s in scores) / max(len(scores), 1)
    lines.append(f"per page on average: recall {macro_r:.1%}, precision {macro_p:.1%}")
    firsts = [s for s in scores if s.title_ok is not None]
    lines.append(
        f"titles: {sum(bool(s.title_ok) for s in firsts)} of {len(firsts)} first pages within the published title "
        f"({'; '.join(f'{s.form[:20]}: {s.title or chr(8212)}' for s in firsts if not s.title_ok) or 'all'})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "forms")
    ap.add_argument("--only", default="", help="forms whose folder name contains this")
    ap.add_argument("--texts-cache", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = ap.parse_args(argv)
    folders = sorted(p.parent for p in args.forms.glob("*/template.json") if args.only in p.parent.name)
    if not folders:
        print(f"no forms under {args.forms} (each folder: source.pdf + template.json); nothing measured")
        return
    drafting = progress.track(folders, "様式の下書き / drafting forms")
    scores = [s for f in drafting for s in score_form(f, args.texts_cache)]
    text = report(scores)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    with progress.shown():
        main()

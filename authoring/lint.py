"""Checking a template before it is printed or read: what ``dejiru template check`` reports.

Pure functions from a template (and the files it names) to a list of :class:`Finding`. An *error*
means the form would be printed or read wrongly, a rule could never work, or approved records could
not be keyed; a *warning* is worth a look but stops nothing. Every finding names the field and says
what to change, in Japanese first and English second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import TemplateError
from core.messages import Message
from formkit.kinds import Shape
from formkit.layout import (
    ADDRESS_BLOCKS,
    FieldLayout,
    header_boxes,
    id_cells,
    id_text_box,
    layout,
    mark_boxes,
)
from formkit.model import Box, FieldSpec, Template, merge_pages, page_chain
from formkit.registry import installed_template, parse_template, template_dir, template_ids
from validation.checks import RULES, rule_error, rule_field, split_rule
from validation.wareki import ERAS

ERROR = "error"
WARNING = "warning"
#: Office printers leave about this much of each edge blank.
PRINT_MARGIN_MM = 5.0
#: Paper kept clear around the registration marks and the form-ID strip, so the reader finds them.
QUIET_MM = 1.0
#: A write-in box lower than this, or a comb cell narrower than MIN_CELL_MM, is hard to write in.
MIN_WRITE_MM = 6.0
MIN_CELL_MM = 4.0
#: Boxes that only touch (a comb's cells) do not overlap; rounding must not say they do.
EPS_MM = 0.05


@dataclass(frozen=True)
class Finding:
    """One thing the checker says about a template: a :class:`~core.messages.Message` (the same type
    as an error's and a review reason's), how serious it is, and the field it is about."""

    level: str  # ERROR or WARNING
    message: Message
    field: str | None = None
    detail: str | None = None

    @property
    def code(self) -> str:
        return self.message.code

    @property
    def ja(self) -> str:
        return self.message.ja

    @property
    def en(self) -> str:
        return self.message.en

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def as_dict(self) -> dict[str, str | None]:
        """The shape of ``dejiru template check --json``: the message's fields beside the others."""
        return {"level": self.level, **self.message.as_dict(), "field": self.field, "detail": self.detail}


def error(code: str, ja: str, en: str, field: str | None = None, detail: str | None = None) -> Finding:
    return Finding(ERROR, Message(code, ja, en), field, detail)


def warning(code: str, ja: str, en: str, field: str | None = None, detail: str | None = None) -> Finding:
    return Finding(WARNING, Message(code, ja, en), field, detail)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.is_error for f in findings)


def _overlap(a: Box, b: Box) -> bool:
    return a.x < b.x2 - EPS_MM and b.x < a.x2 - EPS_MM and a.y < b.y2 - EPS_MM and b.y < a.y2 - EPS_MM


def _inside(inner: Box, outer: Box) -> bool:
    return (
        inner.x >= outer.x - EPS_MM
        and inner.y >= outer.y - EPS_MM
        and inner.x2 <= outer.x2 + EPS_MM
        and inner.y2 <= outer.y2 + EPS_MM
    )


# --- sizes ----------------------------------------------------------------------------------------------


def _declared_boxes(f: FieldSpec) -> list[tuple[str, Box]]:
    out = [("box", f.box)]
    if f.label_box is not None:
        out.append(("label_box", f.label_box))
    out += [(f"options[{o.value}].box", o.box) for o in f.options if o.box is not None]
    out += [(f"part_boxes.{k}", b) for k, b in f.part_boxes.items()]
    return out


def check_sizes(tpl: Template) -> list[Finding]:
    """Every box written in the YAML has a width and a height."""
    out = []
    named: list[tuple[str | None, str, Box]] = [
        (f.name, what, b) for f in tpl.fields for what, b in _declared_boxes(f)
    ]
    named += [(None, f"static[{i}] 「{st.text}」", st.box) for i, st in enumerate(tpl.static)]
    for field, what, b in named:
        if b.w <= 0 or b.h <= 0:
            out.append(
                error(
                    "bad_size",
                    f"{field or ''} {what} の幅か高さが0以下です {b.as_list()}".strip(),
                    f"{field or ''} {what} has zero or negative size {b.as_list()}".strip(),
                    field,
                )
            )
    return out


# --- geometry ---------------------------------------------------------------------------------------------


def _parts(lay: FieldLayout) -> list[Box]:
    """The boxes inside one field that stand for one thing each: cells, tick boxes, circle areas."""
    return lay.cells + [m.box for m in lay.marks] + [c for cells in lay.parts.values() for c in cells]


def _field_inside(tpl: Template, lay: FieldLayout) -> list[Finding]:
    name = lay.spec.name
    out = []
    parts = _parts(lay)
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            if _overlap(a, b):
                out.append(
                    error(
                        "option_overlap",
                        f"項目 {name} の中の枠（選択肢・マス）どうしが重なっています {a.as_list()} / {b.as_list()}",
                        f"boxes inside field {name} (options, cells) overlap: {a.as_list()} / {b.as_list()}",
                        name,
                    )
                )
                return out
    if tpl.legacy:
        for m in lay.marks:
            if not _inside(m.box, lay.zone):
                out.append(
                    warning(
                        "option_outside",
                        f"項目 {name} の選択肢 {m.value} の枠が項目の枠 box の外にあります",
                        f"option {m.value} of field {name} lies outside the field's box",
                        name,
                    )
                )
        return out
    drawn = parts + [t.box for t in lay.texts] + [m.label.box for m in lay.marks if m.label is not None]
    if any(b.w <= 0 or b.h <= 0 or not _inside(b, lay.zone) for b in drawn):
        out.append(
            error(
                "too_small",
                f"項目 {name} の枠 box が小さすぎて、マス・選択肢・元号が入りません。box を広げてください",
                f"the box of field {name} is too small for its cells, options or eras: make it larger",
                name,
            )
        )
        return out
    writes = not lay.spec.kind.is_mark
    if writes and lay.zone.h < MIN_WRITE_MM:
        out.append(
            warning(
                "small_box",
                f"項目 {name} の枠の高さ {lay.zone.h:g} mm は手書きには低すぎます（{MIN_WRITE_MM:g} mm 以上に）",
                f"field {name} is {lay.zone.h:g} mm high: too low to write in (make it {MIN_WRITE_MM:g} mm or more)",
                name,
            )
        )
    elif (combs := lay.cells or _block_cells(lay)) and min(c.w for c in combs) < MIN_CELL_MM:
        out.append(
            warning(
                "small_cells",
                f"項目 {name} のマスの幅が {MIN_CELL_MM:g} mm 未満です。box を広げるか cells を減らしてください",
                f"the cells of field {name} are narrower than {MIN_CELL_MM:g} mm: widen the box or use fewer cells",
                name,
            )
        )
    return out


def _block_cells(lay: FieldLayout) -> list[Box]:
    """An address's 丁目・番地・号 comb cells (empty for any other field)."""
    return [c for part, _, _ in ADDRESS_BLOCKS for c in lay.parts.get(part, [])]


def check_geometry(tpl: Template) -> list[Finding]:
    """Zones on the (printable) page, clear of each other, of the marks and the ID strip, and big
    enough for what the layout puts in them."""
    out: list[Finding] = []
    w, h = tpl.page.width_mm, tpl.page.height_mm
    page = Box(x=0, y=0, w=w, h=h)
    printable = Box(
        x=PRINT_MARGIN_MM, y=PRINT_MARGIN_MM, w=w - 2 * PRINT_MARGIN_MM, h=h - 2 * PRINT_MARGIN_MM
    )
    lays = layout(tpl)
    redesigned = not tpl.legacy

    for lay in lays:
        name = lay.spec.name
        placed = [("box", lay.zone)] + [(f"[{m.value}]", m.box) for m in lay.marks]
        placed += [(f"part_boxes.{k}", c) for k, cells in lay.parts.items() for c in cells]
        if redesigned:
            placed.append(("label_box", lay.label_box))
        off = [what for what, b in placed if not _inside(b, page)]
        if off:
            out.append(
                error(
                    "off_page",
                    f"項目 {name} の {off[0]} が用紙（{w:g}×{h:g} mm）からはみ出しています",
                    f"{off[0]} of field {name} lies off the {w:g}×{h:g} mm page",
                    name,
                )
            )
        elif redesigned and any(not _inside(b, printable) for _, b in placed):
            out.append(
                warning(
                    "unprintable",
                    f"項目 {name} が用紙の端から {PRINT_MARGIN_MM:g} mm 以内にあり、印刷されないおそれがあります",
                    f"field {name} is within {PRINT_MARGIN_MM:g} mm of the paper's edge, where printers may not print",
                    name,
                )
            )
        out += _field_inside(tpl, lay)

    for i, a in enumerate(lays):
        for b in lays[i + 1 :]:
            if _overlap(a.zone, b.zone):
                out.append(
                    error(
                        "overlap",
                        f"項目 {a.spec.name} と {b.spec.name} の枠が重なっています",
                        f"the boxes of fields {a.spec.name} and {b.spec.name} overlap",
                        a.spec.name,
                        f"{a.zone.as_list()} / {b.zone.as_list()}",
                    )
                )
    if not redesigned:
        return out

    for a in lays:
        for b in lays:
            if a is b:
                hit = _overlap(a.label_box, a.zone)
            else:
                hit = _overlap(a.label_box, b.zone) or (id(a) < id(b) and _overlap(a.label_box, b.label_box))
            if hit:
                out.append(
                    error(
                        "label_overlap",
                        f"項目 {a.spec.name} の見出し（label_box）が項目 {b.spec.name} に重なっています",
                        f"the label of field {a.spec.name} (label_box) overlaps field {b.spec.name}",
                        a.spec.name,
                        f"{a.label_box.as_list()}",
                    )
                )

    reserved = [("位置合わせマーク■ / registration mark", m.grow(QUIET_MM)) for m in mark_boxes(tpl)]
    strip = Box.around([*id_cells(), id_text_box()])
    reserved.append(("様式IDの帯 / form-ID strip", strip.grow(QUIET_MM)))
    head = header_boxes(tpl)
    header = [("表題 / title", head["title"]), ("記入上の注意 / instruction line", head["instructions"])]
    if tpl.addressee:
        header.append(("あて先 / addressee", head["addressee"]))
    printed = [(lay.spec.name, lay.zone) for lay in lays] + [(lay.spec.name, lay.label_box) for lay in lays]
    printed += [(f"static 「{st.text}」", st.box) for st in tpl.static]
    for who, box in printed:
        is_field = not who.startswith("static")
        for what, area in reserved:
            if _overlap(box, area):
                out.append(
                    error(
                        "reserved",
                        f"{who} が{what.split(' / ')[0]}にかかっています（読み取りで様式を見分けられなくなります）",
                        f"{who} overlaps the {what.split(' / ')[1]} (the reader could not identify the form)",
                        who if is_field else None,
                    )
                )
        for what, area in header:
            if _overlap(box, area):
                out.append(
                    warning(
                        "header_overlap",
                        f"{who} が{what.split(' / ')[0]}に重なっています",
                        f"{who} overlaps the {what.split(' / ')[1]}",
                        who if is_field else None,
                    )
                )
    for st in tpl.static:
        if not _inside(st.box, page):
            out.append(
                error(
                    "off_page",
                    f"「{st.text}」が用紙からはみ出しています",
                    f"static {st.text!r} lies off the page",
                )
            )
        for lay in lays:
            if _overlap(st.box, lay.zone) or _overlap(st.box, lay.label_box):
                out.append(
                    warning(
                        "static_overlap",
                        f"印刷する文字「{st.text}」が項目 {lay.spec.name} に重なっています",
                        f"static text {st.text!r} overlaps field {lay.spec.name}",
                        lay.spec.name,
                    )
                )
    return out


# --- fields and rules -------------------------------------------------------------------------------------


def check_fields(tpl: Template) -> list[Finding]:
    out = []
    eras = {e.name for e in ERAS}
    for f in tpl.fields:
        values = [o.value for o in f.options]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            out.append(
                error(
                    "duplicate_option",
                    f"項目 {f.name} の選択肢の値 {', '.join(dupes)} が重複しています",
                    f"field {f.name} has duplicate option values {', '.join(dupes)}",
                    f.name,
                )
            )
        unknown = [e for e in f.eras if e not in eras]
        if unknown:
            out.append(
                error(
                    "unknown_era",
                    f"項目 {f.name} の元号 {', '.join(unknown)} はありません（{'・'.join(sorted(eras))}）",
                    f"field {f.name}: unknown era(s) {', '.join(unknown)}",
                    f.name,
                )
            )
        if f.review_threshold is not None and not 0 <= f.review_threshold <= 1:
            out.append(
                error(
                    "bad_threshold",
                    f"項目 {f.name} の review_threshold は0〜1で書いてください",
                    f"field {f.name}: review_threshold must be between 0 and 1",
                    f.name,
                )
            )
        if f.kind.address and f.part_boxes:
            out += _address_parts_findings(tpl, f)
        if f.exclusive and f.kind.shape is not Shape.TICKS:
            out.append(
                warning(
                    "exclusive_ignored",
                    f"項目 {f.name}: exclusive は checkboxes のときだけ使われます",
                    f"field {f.name}: exclusive only applies to type checkboxes",
                    f.name,
                )
            )
    return out


def _address_parts_findings(tpl: Template, f: FieldSpec) -> list[Finding]:
    """An address asked for in parts takes its prefecture and city from a postal code field, and is
    printed by dejiru (a legacy form keeps its own printed boxes: read its address as one line)."""
    out = []
    if tpl.legacy:
        out.append(
            error(
                "address_parts_legacy",
                f"項目 {f.name}: 住所の分割記入（part_boxes）は再設計した様式でだけ使えます。旧様式では1行で読みます",
                f"field {f.name}: an address in parts (part_boxes) needs a redesigned form; a legacy form's address is read as one line",
                f.name,
            )
        )
    if tpl.postal_field(f.name) is None:
        out.append(
            error(
                "address_parts_postal",
                f"項目 {f.name} は町名から書く欄です。都道府県・市区町村を決める郵便番号の項目に「matches_address:{f.name}」を付けてください",
                f"field {f.name} starts at the town: give the postal code field that says its prefecture and city the rule matches_address:{f.name}",
                f.name,
            )
        )
    return out


def _rule_findings(tpl: Template, f: FieldSpec, rule: str) -> list[Finding]:
    problem = rule_error(rule)
    if problem is not None:
        return [error(problem.code, f"項目 {f.name}: {problem.ja}", f"field {f.name}: {problem.en}", f.name)]
    name, arg = split_rule(rule)
    out = []
    found = RULES.get(name)
    if found is not None and not found.fits(f.kind):
        types = ", ".join(sorted(found.field_types or ()))
        out.append(
            error(
                "rule_type",
                f"項目 {f.name}（{f.type}）にルール「{rule}」は使えません（{types} の項目用）",
                f"rule {rule!r} does not work on field {f.name} of type {f.type} (use it on {types})",
                f.name,
            )
        )
    if name == "mynumber" and not f.sensitive:
        out.append(
            warning(
                "not_sensitive",
                f"項目 {f.name} は個人番号です。sensitive: true にして画面やログで隠してください",
                f"field {f.name} holds a My Number: set sensitive: true so it is masked",
                f.name,
            )
        )
    ref = rule_field(rule)
    if ref is None:
        return out
    known = {g.name: g for g in tpl.fields}
    target = known.get(ref)
    if ref == f.name:
        out.append(
            error(
                "self_reference",
                f"項目 {f.name} のルール「{rule}」が自分自身を指しています",
                f"rule {rule!r} of field {f.name} refers to the field itself",
                f.name,
            )
        )
    elif target is None:
        out.append(
            error(
                "unknown_field_ref",
                f"項目 {f.name} のルール「{rule}」の項目 {ref} はこの様式にありません",
                f"rule {rule!r} of field {f.name} names {ref}, which this form does not have",
                f.name,
            )
        )
    else:
        if found is not None and not found.fits_ref(target.kind):
            out.append(
                error(
                    "rule_ref_type",
                    f"項目 {f.name} のルール「{rule}」: 項目 {ref} は {target.type} なので働きません",
                    f"rule {rule!r} of field {f.name} cannot work with {ref} of type {target.type}",
                    f.name,
                )
            )
        elif name == "required_if" and target.options:
            wanted = arg.partition("=")[2]
            options = [o.value for o in target.options]
            if wanted not in options:
                out.append(
                    error(
                        "rule_ref_value",
                        f"項目 {f.name} のルール「{rule}」: 項目 {ref} に選択肢 {wanted} はありません（{', '.join(options)}）",
                        f"rule {rule!r} of field {f.name}: {ref} has no option {wanted} ({', '.join(options)})",
                        f.name,
                    )
                )
    return out


def check_rules(tpl: Template) -> list[Finding]:
    """Rule names known, arguments well formed, the fields they name present and of a fitting type."""
    out = []
    for f in tpl.fields:
        for i, rule in enumerate(f.rules):
            if rule in f.rules[:i]:
                out.append(
                    warning(
                        "duplicate_rule",
                        f"項目 {f.name} のルール「{rule}」が2回書かれています",
                        f"field {f.name} lists rule {rule!r} twice",
                        f.name,
                    )
                )
                continue
            out += _rule_findings(tpl, f, rule)
    return out


# --- files and other templates ----------------------------------------------------------------------------


def check_master(tpl: Template, folder: Path) -> list[Finding]:
    """A legacy form's blank master is in the template's folder and has the page the template reads."""
    if not tpl.legacy:
        return []
    path = folder / (tpl.master or "")
    if not tpl.master or not path.is_file():
        return [
            error(
                "master_missing",
                f"白紙の原本 {tpl.master} がテンプレートのフォルダにありません",
                f"the blank master {tpl.master} is missing from the template's folder",
                detail=str(path),
            )
        ]
    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        try:
            doc = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            return [
                error(
                    "master_unreadable",
                    f"白紙の原本 {tpl.master} が開けません",
                    f"the blank master {tpl.master} cannot be opened",
                    detail=str(exc),
                )
            ]
        try:
            pages = len(doc)
        finally:
            doc.close()
        if not 1 <= tpl.master_page <= pages:
            return [
                error(
                    "master_page",
                    f"原本 {tpl.master} は {pages} ページです（master_page: {tpl.master_page}）",
                    f"the master {tpl.master} has {pages} page(s) (master_page: {tpl.master_page})",
                )
            ]
    return []


def check_print(tpl: Template, folder: Path) -> list[Finding]:
    """A legacy form's zones lie on blank paper, not on its printed text: what is written over print
    is not seen, and a zone over a label reads as empty (the reader sends such a field to review every
    time). Measured on the master as the reader measures it (:func:`ocr.reader.print_covers`)."""
    if not tpl.legacy or not tpl.master:
        return []
    from formkit.render import master_file_image
    from ocr.align import PX_PER_MM
    from ocr.imaging import gray
    from ocr.reader import print_covers

    try:
        master = gray(master_file_image(folder / tpl.master, tpl, PX_PER_MM))
    except (OSError, ValueError, RuntimeError, IndexError):
        return []  # check_master says what is wrong with the file
    out = []
    for name, cover in print_covers(master, tpl).items():
        pct = f"{cover.share:.0%}"
        where = f"{cover.where} {cover.box.as_list()}"
        if cover.mark:
            out.append(
                warning(
                    "zone_on_print",
                    f"項目 {name} の {cover.where} の枠の{pct}が用紙の印刷で、○や✓を書く空白がありません。"
                    "印刷された語や□の周りの空白も含むように枠を広げてください",
                    f"{pct} of {cover.where} of field {name} is the form's print, with no blank left for a "
                    "circle or tick: widen the box to take in the blank around the printed word or □",
                    name,
                    where,
                )
            )
            continue
        out.append(
            warning(
                "zone_on_print",
                f"項目 {name} の枠（{cover.where}）の{pct}が用紙に印刷された文字です。印刷の上に書かれた字は"
                "読み取れず、この項目は毎回確認に回ります。枠を記入する空白の部分へ移すか、小さくしてください",
                f"{pct} of the box of field {name} ({cover.where}) is the form's printed text: writing over "
                "print cannot be read, and the field will go to review every time. Move or shrink the box "
                "onto the blank space people write in",
                name,
                where,
            )
        )
    return out


def installed_templates() -> list[Template]:
    """Every installed template that loads (a broken neighbour is reported by its own check)."""
    out = []
    for form_id in template_ids():
        try:
            out.append(parse_template(installed_template(form_id).read_text(encoding="utf-8")))
        except (TemplateError, OSError):
            continue
    return out


def check_code(tpl: Template, others: list[Template]) -> list[Finding]:
    """The form-ID code printed on a redesigned form belongs to this form only."""
    if tpl.legacy:
        return []
    clash = sorted(o.id for o in others if o.id != tpl.id and not o.legacy and o.code == tpl.code)
    if not clash:
        return []
    return [
        error(
            "duplicate_code",
            f"様式ID（code: {tpl.code}）が {', '.join(clash)} と同じです。別の番号にしてください",
            f"form code {tpl.code} is already used by {', '.join(clash)}: pick another",
        )
    ]


# --- applications of several pages ------------------------------------------------------------------------


def check_pages(tpl: Template, others: list[Template]) -> list[Finding]:
    """A further page (``continues``) names a form that is there and that no other form continues, and
    no field name of the application is used on two of its pages (one document holds them all)."""
    out: list[Finding] = []
    rest = [t for t in others if t.id != tpl.id]
    if tpl.continues:
        before = next((t for t in rest if t.id == tpl.continues), None)
        if before is None:
            return [
                error(
                    "continues_unknown",
                    f"continues: {tpl.continues} の様式がありません（前のページの様式IDを書いてください）",
                    f"continues: no form {tpl.continues} (name the form of the page before)",
                )
            ]
        twice = [t.id for t in rest if t.continues == tpl.continues]
        if twice:
            out.append(
                error(
                    "continued_twice",
                    f"様式 {tpl.continues} の次のページが2つあります（{tpl.id}、{', '.join(twice)}）",
                    f"form {tpl.continues} is continued by two forms ({tpl.id}, {', '.join(twice)})",
                )
            )
    first, seen, by_id = tpl, {tpl.id}, {t.id: t for t in rest}
    while first.continues in by_id and first.continues not in seen:  # back to the application's page 1
        first = by_id[first.continues]
        seen.add(first.id)
    pages = page_chain(first, [*rest, tpl])
    names: dict[str, str] = {}
    for page in pages:
        for f in page.fields:
            if f.name in names and tpl.id in (page.id, names[f.name]):
                out.append(
                    error(
                        "page_field_clash",
                        f"項目名 {f.name} は同じ申請書の様式 {names[f.name]} にもあります。別の名前にしてください",
                        f"field {f.name} is also on form {names[f.name]} of the same application: rename it",
                        f.name,
                    )
                )
            names.setdefault(f.name, page.id)
    if tpl.continues and tpl.target:
        out.append(
            warning(
                "page_target",
                f"続きのページの target は使われません（1ページ目の様式 {first.id} の target で入力します）",
                f"a further page's target is not used: the application is keyed by its first page's ({first.id})",
            )
        )
    return out


# --- the keying bot ---------------------------------------------------------------------------------------


def check_target(tpl: Template) -> list[Finding]:
    """Each target system has a mapping for this form, and the mappings and the template agree on names."""
    if not tpl.keyed_into:
        return [
            warning(
                "no_target",
                "target（承認後に入力する業務システム）が指定されていません。入力ロボットは動きません",
                "no target system: approved records will not be keyed by a bot",
            )
        ]
    return [f for target in tpl.keyed_into for f in _check_mapping(tpl, target)]


def _check_layout(tpl: Template, target: str) -> list[Finding]:
    """A system that takes import files: its layout has this form, and names only its fields."""
    from bots.files.layout import load_layout
    from bots.transforms import references

    try:
        layout = load_layout(target)
    except TemplateError as err:
        return [error("bad_mapping", err.ja, err.en, detail=err.detail)]
    form = layout.forms.get(tpl.id)
    if form is None:
        return [
            warning(
                "no_form_mapping",
                f"取込ファイル定義 {target} に様式 {tpl.id} の列（forms: {tpl.id}:）がまだありません",
                f"import file layout {target} has no columns for form {tpl.id} yet (forms: {tpl.id}:)",
            )
        ]
    known = {f.name for f in tpl.fields} | {"reference"}
    return [
        error(
            "mapping_unknown_field",
            f"取込ファイル定義 {target} の列 {col.name} が様式 {tpl.id} にない項目 {name} を使っています",
            f"import file layout {target} column {col.name} uses {name}, which form {tpl.id} does not have",
            detail=col.source,
        )
        for col in form.columns
        for name, _ in references(col.source)
        if name.split(".")[0] not in known
    ]


def _check_mapping(tpl: Template, target: str) -> list[Finding]:
    """One target system's mapping against the template."""
    from bots.files.layout import is_file_target
    from bots.mapping import load_mapping, mapping_path
    from bots.transforms import FILTERS, references

    if is_file_target(target):
        return _check_layout(tpl, target)

    path = mapping_path(target)
    if not path.exists():
        return [
            error(
                "no_mapping",
                f"対象システム {target} のボット定義 {path.name} がありません",
                f"target system {target} has no bot mapping {path.name}",
                detail=str(path),
            )
        ]
    try:
        mapping = load_mapping(target)
    except TemplateError as err:
        return [error("bad_mapping", err.ja, err.en, detail=err.detail)]
    form = mapping.forms.get(tpl.id)
    if form is None:
        return [
            warning(
                "no_form_mapping",
                f"ボット定義 {path.name} に様式 {tpl.id} の入力手順（forms: {tpl.id}:）がまだありません",
                f"bot mapping {path.name} has no entry for form {tpl.id} yet (forms: {tpl.id}:)",
            )
        ]
    texts = [form.search.goto or "", form.create.goto or ""]
    for step in form.search.steps + form.create.steps:
        texts += [step.selector, step.value, step.when or ""]
    known = {f.name for f in tpl.fields} | {"reference"}
    used: set[str] = set()
    out = []
    for text in texts:
        for name, filters in references(text):
            root = name.split(".")[0]
            if root not in known and root not in used:
                out.append(
                    error(
                        "mapping_unknown_field",
                        f"ボット定義 {path.name} が様式 {tpl.id} にない項目 {root} を使っています",
                        f"bot mapping {path.name} uses {root}, which form {tpl.id} does not have",
                        detail=text,
                    )
                )
            used.add(root)
            out += [
                error(
                    "mapping_unknown_filter",
                    f"ボット定義 {path.name} に未知の変換 {flt} があります",
                    f"bot mapping {path.name} uses an unknown filter {flt}",
                    detail=text,
                )
                for flt in filters
                if flt not in FILTERS
            ]
    out += check_option_values(tpl, texts, path.name)
    if form.each is not None and form.each not in {g.name for g in tpl.groups}:
        out.append(
            error(
                "mapping_unknown_group",
                f"ボット定義 {path.name} の each: {form.each} は様式 {tpl.id} の繰り返し欄（groups:）にありません",
                f"bot mapping {path.name} keys each block of {form.each}, which form {tpl.id} does not have",
                form.each,
            )
        )
    for g in tpl.groups:
        if g.name == form.each:  # each filled block is keyed as its own record by the same steps
            used |= {name for _, base, name in g.copies() if base in used}
            continue
        # The bot keys one record a document: a block it does not name would be read, reviewed and
        # then never keyed, with nobody told.
        lost = [name for _, base, name in g.copies() if base in used and name not in used]
        if lost:
            out.append(
                error(
                    "group_not_keyed",
                    f"{g.label}の {g.count} 組のうち、ボット定義 {path.name} が入力するのは1組目だけです"
                    f"（{', '.join(lost[:4])}… が入力されません）。組ごとに1件として入力するなら each: {g.name} を"
                    "書き、1件にまとめるなら各組の項目を定義に書いてください",
                    f"bot mapping {path.name} keys only the first of the {g.count} {g.name} blocks "
                    f"({', '.join(lost[:4])}… would never be keyed): add each: {g.name} to key every block "
                    "as its own record, or map each block's fields",
                    g.name,
                )
            )
    for f in tpl.fields:
        if f.required and f.kind.keyed and f.name not in used:
            out.append(
                warning(
                    "unmapped_required",
                    f"必須項目 {f.name}（{f.label}）をボット定義 {path.name} が入力していません",
                    f"required field {f.name} is never keyed by bot mapping {path.name}",
                    f.name,
                )
            )
    return out


def check_option_values(tpl: Template, texts: list[str], mapping_name: str) -> list[Finding]:
    """``{sex|map:male=1,female=2}``, ``eq:yes``, ``contains:car`` on an option field name its option
    values: a value the field does not have (a typo, options renamed in the template) or an option the
    ``map`` leaves out would be keyed as a blank, silently."""
    import re

    fields = {f.name: f for f in tpl.fields if f.kind.has_options}
    out = []
    for text in texts:
        for m in re.finditer(r"\{([^{}]+)\}", text):
            name, *filters = [p.strip() for p in m.group(1).split("|")]
            spec = fields.get(name)
            if spec is None or not filters:
                continue
            fname, _, arg = filters[0].partition(":")  # the first filter sees the option value
            values = [o.value for o in spec.options]
            if fname in ("map", "map_list"):
                keys = [pair.partition("=")[0].strip() for pair in arg.split(",") if pair.strip()]
                left_out = [v for v in values if v not in keys]
            elif fname in ("eq", "contains"):
                keys, left_out = [arg.strip()], []
            else:
                continue
            unknown = [k for k in keys if k not in values]
            if unknown or left_out:
                out.append(
                    warning(
                        "mapping_option_values",
                        f"ボット定義 {mapping_name} の {name} の変換が選択肢の値と合いません"
                        f"（様式の値: {', '.join(values)}）。合わない値は空欄で入力されます",
                        f"bot mapping {mapping_name}: the filter on {name} does not match its option values "
                        f"({', '.join(values)}); values that do not match are keyed as blanks",
                        name,
                        detail=text,
                    )
                )
    return out


# --- all of it --------------------------------------------------------------------------------------------


def lint_template(
    tpl: Template, *, folder: Path | None = None, others: list[Template] | None = None
) -> list[Finding]:
    """Every check on a loaded template, errors first. ``folder`` holds a legacy master (default: the
    installed template's folder); ``others`` are the templates whose form codes must differ."""
    sizes = check_sizes(tpl)
    found = sizes + check_fields(tpl) + check_rules(tpl)
    if not sizes:
        found += check_geometry(tpl)
    folder = folder or template_dir(tpl.id)
    master = check_master(tpl, folder)
    found += master
    if not sizes and not master:
        found += check_print(tpl, folder)
    others = installed_templates() if others is None else others
    found += check_code(tpl, others)
    pages = check_pages(tpl, others)
    found += pages
    if not tpl.continues:  # a further page is keyed with its application's first page
        found += check_target(merge_pages(page_chain(tpl, [t for t in others if t.id != tpl.id])))
    return sorted(found, key=lambda f: not f.is_error)


def template_file(id_or_path: str) -> Path:
    """A template by ID (installed) or by path (its ``template.yaml`` or the folder holding it)."""
    path = Path(id_or_path)
    if path.is_dir():
        path = path / "template.yaml"
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise TemplateError(
                f"テンプレート {id_or_path} がありません", f"no template file {id_or_path}", detail=str(path)
            )
        return path
    return installed_template(id_or_path)


def load_file(path: Path) -> Template:
    return parse_template(path.read_text(encoding="utf-8"), str(path))


def lint_file(path: Path, *, others: list[Template] | None = None) -> tuple[Template | None, list[Finding]]:
    """Check a ``template.yaml``; a file that does not load is one error saying why."""
    try:
        tpl = load_file(path)
    except TemplateError as err:
        return None, [error("invalid", err.ja, err.en, detail=err.detail)]
    return tpl, lint_template(tpl, folder=path.parent, others=others)

"""書かない窓口: what counter staff type for a visitor, read and checked exactly as a reviewer's typing.

At the counter the citizen only answers and signs. Staff type the answers into the procedure's form;
every entry goes through :func:`validation.entry.parse_input` (和暦 as people write it, kana, digits,
options, no invisible characters, bounded lengths) and the form's own checks
(:func:`validation.routing.check_values`), so a printed slip holds nothing a scan of the same paper
would be refused for. What this module decides on its own, and why:

* **Which fields staff type**: every field but the signature, which only the citizen can give.
* **In which order**: the paper's (top to bottom, then left to right), so the Tab order follows the
  sheet the citizen checks afterwards and nobody hunts for the next box.
* **What carries over** to the visit's next procedure: the person's own data (name, kana, address,
  postal code, phone, dates), matched by field name and kind, never what belongs to one procedure
  (copies, purposes, options, free notes), so nobody types a person twice and no answer leaks into
  a procedure it was not given for.
* **What a form starts with**: the day of the request (a field marked ``today``) is the day of
  the visit; nothing else is filled in before the visitor says it.
* **The identity check**: one per visit, of a document from a fixed list; its number is kept as
  its last four characters only, the rest never stored, shown or logged.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import FieldInvalid, ReviewError
from formkit.kinds import Shape, Value
from formkit.model import FieldSpec, Template
from formkit.readings import Reason
from formkit.registry import all_templates, application_pages, load_template
from validation import normalize
from validation.address import postal_places
from validation.display import for_input
from validation.entry import parse_input
from validation.routing import check_values, complete_addresses

#: The identity documents staff may record, in the order the counter's screen lists them
#: (screen words: ``iddoc_<code>`` in review/i18n.py).
ID_DOCUMENTS = (
    "mynumber_card",
    "driver_license",
    "passport",
    "residence_card",
    "health_insurance_plus",
    "other",
)
#: Longer than any identity document's number (a passport's is 9, a licence's 12, a card's 12).
MAX_ID_NUMBER_CHARS = 40
#: Below this many characters, even the last four would give most of the number away: none kept.
MIN_ID_CHARS_TO_SHOW = 8
_ID_NUMBER = re.compile(r"[0-9A-Z]*")
#: An address typed as a postal code alone (NFKC): 〒207-0015, 2070015.
_POSTAL_ALONE = re.compile(r"〒?\s*[0-9]{3}-?[0-9]{4}")
#: Rows of the paper closer than this (mm) are one row: read left to right.
_ROW_MM = 2.0


class CounterInputError(FieldInvalid):
    """Something typed at the counter cannot be taken (an identity document not on the list, a
    procedure that cannot be printed): said to the clerk in Japanese and English."""

    code = "counter_input"


def mask_id_number(text: str) -> str:
    """An identity document's number as it is stored and shown: its last four characters only.

    Spaces and hyphens are dropped, full-width characters folded and letters upper-cased first, so
    the four kept are the ones printed on the card. A number that is not letters and digits, or too
    long to be one, is refused (it would be something else pasted in)."""
    t = unicodedata.normalize("NFKC", text or "").upper()
    t = "".join(c for c in t if not c.isspace() and c not in normalize.DASHES and c != "-")
    if len(t) > MAX_ID_NUMBER_CHARS or not _ID_NUMBER.fullmatch(t):
        raise CounterInputError(
            f"本人確認書類の番号は英数字で入力してください（{MAX_ID_NUMBER_CHARS}文字まで）",
            f"type the identity document's number in letters and digits ({MAX_ID_NUMBER_CHARS} at most)",
        )
    if not t:
        return ""
    return "****" + t[-4:] if len(t) >= MIN_ID_CHARS_TO_SHOW else "****"


def id_document(code: str) -> str:
    if code not in ID_DOCUMENTS:
        raise CounterInputError(
            "本人確認書類を一覧から選んでください", "choose the identity document from the list"
        )
    return code


# --- the procedures and their fields ------------------------------------------------------------------


def printable(tpl: Template) -> bool:
    """A procedure the counter can print with a seal: a form dejiru designed (its ID strip and code),
    of one page (the slip's QR stands for one page's values)."""
    return (
        tpl.code is not None
        and not tpl.legacy
        and tpl.continues is None
        and len(application_pages(tpl.id)) == 1
    )


def procedures() -> list[Template]:
    """Every procedure the counter can print, as the start screen lists them."""
    return [t for t in all_templates() if printable(t)]


def procedure(form_id: str) -> Template:
    """A printable procedure by its form ID; anything else (an unknown ID, a legacy form, ``../``)
    is :class:`CounterInputError`."""
    if form_id in {t.id for t in procedures()}:
        return load_template(form_id)
    raise CounterInputError(
        "この様式は窓口で印刷できません（読取用に設計した様式だけです）",
        "this form cannot be printed at the counter (redesigned forms only)",
    )


def staff_fields(tpl: Template) -> list[FieldSpec]:
    """The fields staff type, in the paper's order: top to bottom, a row left to right. The
    signature is the citizen's, on the printed sheet."""
    fields = [f for f in tpl.fields if f.kind.shape is not Shape.SIGNATURE]
    return sorted(fields, key=lambda f: (round(f.box.y / _ROW_MM), f.box.x))


def starting_values(tpl: Template, today: dt.date) -> dict[str, str]:
    """What a procedure's entry form starts with, as staff would type it: the day of the request
    (fields marked ``today``: 請求日, 申請日) is the day of the visit. Nothing else is guessed."""
    return {f.name: str(for_input(f, today.isoformat())) for f in staff_fields(tpl) if f.today}


def carried(spec: FieldSpec) -> bool:
    """Whether a value of this field belongs to the person (and so carries over to the visit's next
    procedure): names, kana, addresses, postal codes, phone numbers and dates do; options, counts,
    amounts, digits and free notes belong to one procedure."""
    kind = spec.kind
    if kind.value in (Value.POSTAL, Value.DATE):
        return True
    return kind.value is Value.TEXT and (
        kind.person_name or kind.address or kind.spaced or kind.digits_compare
    )


def carry_key(spec: FieldSpec) -> str | None:
    """The key two procedures' fields share when one's value carries to the other: same name, same kind."""
    return f"{spec.name}:{spec.type}" if carried(spec) else None


# --- checking what was typed -----------------------------------------------------------------------------


@dataclass
class _Held:
    """A value in the shape :func:`complete_addresses` completes in place (anything with ``.value``)."""

    value: Any


@dataclass
class Checked:
    """A procedure's entries read and checked: the values, and the reasons per field (the entry could
    not be read, or the value breaks a check). ``fill``: an address the postal code says, for an
    address not typed yet."""

    values: dict[str, Any]
    reasons: dict[str, list[Reason]]
    fill: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.reasons.values())


def _input_reason(exc: ReviewError) -> Reason:
    return Reason("input_invalid", exc.ja, exc.en)


def check_entries(tpl: Template, entries: Mapping[str, Any]) -> Checked:
    """Read and check what staff typed for one procedure (``entries``: field name → what the
    browser sent: a string, or a list for tick boxes). Never raises for what was typed: an entry that
    cannot be read is that field's reason; the others are checked as the form's rules say (a date
    before another, a postal code that matches the address, a field required when an option is
    chosen)."""
    specs = staff_fields(tpl)
    values: dict[str, Any] = {}
    reasons: dict[str, list[Reason]] = {s.name: [] for s in specs}
    for spec in specs:
        try:
            values[spec.name] = parse_input(spec, entries.get(spec.name))
        except ReviewError as exc:
            values[spec.name] = None
            reasons[spec.name].append(_input_reason(exc))
    held = {k: _Held(v) for k, v in values.items()}
    complete_addresses(tpl, held)
    values = {k: h.value for k, h in held.items()}
    found = check_values(tpl, values)
    for spec in specs:
        if not reasons[spec.name]:  # an unreadable entry's own reason says it all ("required" would not)
            reasons[spec.name] = list(found.get(spec.name, []))
    return Checked(values, reasons, postal_fill(tpl, values, entries))


def place_of(code: str) -> str | None:
    """The prefecture, city and (when the code names one) town a postal code stands for; None for a
    code that is none, or one shared by towns of several cities."""
    places = postal_places(code)
    cities = {(p.prefecture, p.city) for p in places}
    if len(cities) != 1:
        return None
    pref, city = next(iter(cities))
    towns = {p.town for p in places}
    return pref + city + (next(iter(towns)) if len(towns) == 1 else "")


def postal_fill(tpl: Template, values: Mapping[str, Any], entries: Mapping[str, Any]) -> dict[str, str]:
    """Address field → the place its postal code stands for, for the clerk to type only the block
    numbers after it: an address not typed yet takes the place of the postal code the form links to
    it, and an address typed as a postal code alone (an agent's, which the form asks no code for)
    takes that code's place instead of the digits."""
    out: dict[str, str] = {}
    for spec in staff_fields(tpl):
        if not spec.kind.address:
            continue
        raw = entries.get(spec.name)
        typed = unicodedata.normalize("NFKC", raw).strip() if isinstance(raw, str) else ""
        linked = tpl.postal_field(spec.name)
        code = values.get(linked.name) if linked is not None and not typed else None
        if _POSTAL_ALONE.fullmatch(typed):
            code = typed
        place = place_of(code) if isinstance(code, str) else None
        if place:
            out[spec.name] = place
    return out

"""書かない窓口: staff seconds for a 住民票 request at the counter (``make bench``; not a test).

    python -m bench.counter [--visitors 20] [--key-seconds 0.3] [--convert-seconds 1.0] [--out FILE]

The issue's target: at most 60 s of staff time for a 住民票 request. This bench drives the real
counter screen in Chromium for made-up visitors (the sample forms' applicants: their own names,
addresses, phones, purposes, agents), from the start screen (pick the procedure, the identity
document, its number) to the printed PDF, with the keyboard only, as a clerk does: the digits of an
option, Enter from field to field, the postal code filling in the address so only the block numbers
are typed. Every printed QR is read back and compared with what was typed.

Why a model and not a stopwatch: a script types in microseconds, a person does not. So the keys the
page took are counted, then turned into a clerk's keystrokes and seconds:

* a key pressed (Tab, Enter, Space, a digit, an arrow) is one keystroke;
* ASCII typed (dates as ``R8.11.24``, postal codes, phones, block numbers) is one a character;
* Japanese is typed through the IME in romaji: kana as ``jaconv.kana2alphabet`` spells it, a kanji as
  ``KANJI_KEYS`` keystrokes (a kanji's reading is about two kana of two romaji each: 4), a word's
  conversion as two more (Space to convert, Enter to take it), plus ``--convert-seconds`` to look at
  the candidate (a name's kanji must be the visitor's own);
* switching the IME on or off between a Japanese and an ASCII field is one keystroke (半角/全角).

``--key-seconds`` 0.3 s a keystroke is 200 keystrokes a minute, an ordinary office typist's pace
(the 日本情報処理検定 ワープロ 3級 asks for about 300 characters in 10 minutes of Japanese text, which
with romaji and conversions is of the same order); 0.2 s is a fast one. Listening to the visitor is not
counted: staff type while the visitor answers, and the question is the same with or without dejiru.

Printed: keystrokes (median, p90, max), modelled staff seconds (median, p90, max, and how many
visitors stay within 60 s), the page's own measurement of the script's entry (the time from the first
keystroke to the print, as stored with the slip), and the server's answer times for a field check and
for the print.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import clock, progress

TARGET_SECONDS = 60.0
PASSWORD = "bench-madoguchi-2026"
FORM = "juminhyo_request"
#: Keystrokes for one kanji through the IME: its reading, about two kana of two romaji each.
KANJI_KEYS = 4
#: Keystrokes to convert and take a word (Space, Enter).
CONVERT_KEYS = 2


@dataclass
class Tally:
    """What one visitor's entry took."""

    page_keys: int = 0  # what the page received: keys pressed and characters inserted
    fingers: int = 0  # a clerk's keystrokes for the same (romaji, conversions, IME switches)
    conversions: int = 0
    ime_on: bool = False
    per_field: dict[str, int] = field(default_factory=dict)

    def press(self, n: int = 1) -> None:
        self.page_keys += n
        self.fingers += n

    def text(self, text: str) -> None:
        self.page_keys += len(text)
        japanese = any(not c.isascii() for c in text)
        if japanese != self.ime_on and text:
            self.fingers += 1  # 半角/全角
            self.ime_on = japanese
        self.fingers += clerk_keys(text)
        if japanese:
            words = [w for w in text.replace("\u3000", " ").split(" ") if w]
            self.conversions += len(words)
            self.fingers += CONVERT_KEYS * len(words)


def clerk_keys(text: str) -> int:
    """Keystrokes to type ``text`` (conversions aside): ASCII one each, kana in romaji, kanji
    ``KANJI_KEYS``, a full-width space one."""
    import jaconv

    keys = 0
    kana = ""
    for c in unicodedata.normalize("NFKC", text) + "\0":
        if "\u3041" <= c <= "\u30ff" and c != "・":
            kana += c
            continue
        if kana:
            keys += len(jaconv.kana2alphabet(jaconv.kata2hira(kana)))
            kana = ""
        if c == "\0":
            break
        keys += 1 if c.isascii() or c.isspace() else KANJI_KEYS
    return keys


def postal_of(address: str) -> str | None:
    """The postal code of an address's town, when Japan Post gives it one code (what a clerk looks up
    on the visitor's card, or asks)."""
    from validation.address import parse

    codes = {p.postal for p in parse(address).places}
    return next(iter(codes)) if len(codes) == 1 else None


def typed_date(iso: str) -> str:
    """A date as a clerk types it: era letter, year, month, day (R8.11.24)."""
    import datetime as dt

    from validation.wareki import ERA_BY_NAME, to_wareki

    d = dt.date.fromisoformat(iso)
    era, year = to_wareki(d)
    return f"{ERA_BY_NAME[era].letter}{year}.{d.month}.{d.day}"


def enter_visit(page: Any, url: str, tally: Tally, values: dict[str, Any], number: str) -> bytes:
    """One visitor, from the start screen to the PDF, with the keyboard only."""
    from playwright.sync_api import expect

    from formkit.registry import load_template
    from pipeline.counter_entry import procedures, staff_fields

    page.goto(f"{url}/counter")
    expect(page.locator("input[name=procedure]").first).to_be_focused()
    offered = [t.id for t in procedures()]
    k = offered.index(FORM)
    for _ in range(k):
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    for _ in range(len(offered) - k):
        page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")  # 運転免許証
    page.keyboard.press("Tab")
    tally.press(k + 1 + len(offered) - k + 2)
    page.keyboard.type(number)
    tally.text(number)
    page.keyboard.press("Enter")
    tally.press()
    page.wait_for_url("**/counter/visits/**")
    expect(page.locator("tr.field input:focus")).to_have_count(1)  # the first field still empty

    tpl = load_template(FORM)
    served: list[Any] = []

    def keep(route: Any) -> None:
        served.append(route.fetch())
        route.fulfill(response=served[-1])

    page.route("**/print", keep)
    starts = str(page.evaluate("document.activeElement.name")).removeprefix(f"{FORM}:")
    names = [s.name for s in staff_fields(tpl)]
    for spec in staff_fields(tpl)[names.index(starts) if starts in names else 0 :]:
        before = tally.fingers
        v = values.get(spec.name)
        if spec.today and v == clock.today().isoformat():  # the form started at today's date: pass over
            page.keyboard.press("Enter")
            tally.press()
            continue
        mode = spec.kind.entry(spec)
        if mode in ("one", "many"):
            picked = v if isinstance(v, list) else [v] if v else []
            for o in picked:
                digit = str([x.value for x in spec.options].index(o) + 1)
                page.keyboard.type(digit)
                tally.press()
        elif mode == "flag":
            if v:
                page.keyboard.press("Space")
                tally.press()
        elif v not in (None, ""):
            text = typed_date(v) if spec.kind.value.value == "date" else str(v)
            box = page.locator(f"input[name='{FORM}:{spec.name}']")
            if spec.kind.address and tpl.postal_field(spec.name) is not None:
                with contextlib.suppress(AssertionError):  # the postal code's address, when it names one
                    expect(box).not_to_have_value("", timeout=3000)
                filled = box.input_value()
                if filled and text.startswith(filled):
                    text = text[len(filled) :]
                else:
                    page.keyboard.press("Control+a")
                    tally.press(2)
            elif spec.kind.address and (code := postal_of(text)):
                # An agent's address (no postal code on the form): the code typed into it becomes its place.
                page.keyboard.type(code)
                tally.text(code)
                with contextlib.suppress(AssertionError):
                    expect(box).not_to_have_value(code, timeout=3000)
                filled = box.input_value()
                if filled != code and text.startswith(filled):
                    text = text[len(filled) :]
                else:
                    page.keyboard.press("Control+a")
                    tally.press(2)
            page.keyboard.type(text)
            tally.text(text)
        page.keyboard.press("Enter")  # the last one prints
        tally.press()
        tally.per_field[spec.name] = tally.fingers - before
    page.wait_for_selector("#open-pdf:not([hidden])", timeout=60_000)
    page.unroute("**/print")
    (response,) = served
    body: bytes = response.body()
    return body


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visitors", type=int, default=20)
    ap.add_argument("--key-seconds", type=float, default=0.3)
    ap.add_argument("--convert-seconds", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=Path("bench/out/counter.json"))
    args = ap.parse_args()

    import numpy as np
    import pypdfium2 as pdfium
    from playwright.sync_api import sync_playwright

    from bots.browser import launch_kwargs
    from formkit.registry import load_template
    from formkit.seal import read_seal, seal_key
    from ocr.qr import find_seal_texts
    from pipeline.context import Context
    from pipeline.counter_entry import check_entries, staff_fields
    from review.app import create_app
    from review.auth import hash_password
    from synth.samples import sample_values
    from tests.conftest import ServerThread, free_port, make_settings
    from validation.display import for_input

    home = Path(tempfile.mkdtemp(prefix="dejiru-bench-counter-")) / "home"
    ctx = Context.create(make_settings(home))
    ctx.store.add_user("madoka", hash_password(PASSWORD), "counter")
    tpl = load_template(FORM)
    key = seal_key(ctx.settings.secret_key())
    rows: list[dict[str, Any]] = []
    with ServerThread(create_app(ctx), free_port()) as srv, sync_playwright() as pw:
        launch: Any = launch_kwargs()  # its own types are loose (a dict of options)
        browser = pw.chromium.launch(**launch)
        page = browser.new_page()
        page.goto(f"{srv.url}/login")
        page.fill("input[name=username]", "madoka")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login")
        page.wait_for_url("**/counter")
        checks: list[float] = []
        page.on(
            "requestfinished",
            lambda r: (
                checks.append(r.timing["responseEnd"] - r.timing["requestStart"])
                if r.url.endswith("/counter/check")
                else None
            ),
        )
        for i in progress.track(range(args.visitors), "窓口 / counter visits"):
            values, _ = sample_values(tpl, random.Random(9_100_000 + i), clock.today())
            values["request_date"] = clock.today().isoformat()  # at the counter, the request is today's
            tally = Tally()
            t0 = time.perf_counter()
            pdf = enter_visit(page, srv.url, tally, values, f"{random.Random(i).randrange(10**11, 10**12)}")
            wall = time.perf_counter() - t0
            image = np.asarray(pdfium.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil().convert("RGB"))
            texts = [t for t in find_seal_texts(image) if t.startswith("DJ1:")]
            sealed = read_seal(texts[0], key, tpl=tpl) if texts else None
            typed = {s.name: values.get(s.name) for s in staff_fields(tpl)}
            want = check_entries(
                tpl, {k: for_input(tpl.field(k), v) if v else v for k, v in typed.items()}
            ).values
            slip = ctx.store.counter_slip(sealed.nonce) if sealed else None
            seconds = tally.fingers * args.key_seconds + tally.conversions * args.convert_seconds
            rows.append(
                {
                    "visitor": i,
                    "page_keys": tally.page_keys,
                    "keystrokes": tally.fingers,
                    "conversions": tally.conversions,
                    "staff_seconds_modelled": round(seconds, 1),
                    "page_measured_seconds": slip.staff_seconds if slip else None,
                    "script_wall_seconds": round(wall, 2),
                    "qr_matches": sealed is not None and sealed.values == want,
                    "agent": values.get("visitor") == "agent",
                    "per_field": tally.per_field,
                }
            )
            print(
                f"  visitor {i:2}: {tally.fingers:3} keystrokes ({tally.page_keys} at the page, "
                f"{tally.conversions} conversions) → {seconds:5.1f} s"
                f"{' (agent)' if rows[-1]['agent'] else ''}"
                f"{'' if rows[-1]['qr_matches'] else '  QR NOT FOUND' if sealed is None else '  QR MISMATCH'}",
                flush=True,
            )
        browser.close()
    secs = [r["staff_seconds_modelled"] for r in rows]
    keys = [float(r["keystrokes"]) for r in rows]
    within = sum(s <= TARGET_SECONDS for s in secs)
    report = {
        "form": FORM,
        "visitors": len(rows),
        "key_seconds": args.key_seconds,
        "convert_seconds": args.convert_seconds,
        "keystrokes": {"median": statistics.median(keys), "p90": percentile(keys, 0.9), "max": max(keys)},
        "staff_seconds": {"median": statistics.median(secs), "p90": percentile(secs, 0.9), "max": max(secs)},
        "within_target": within,
        "target_seconds": TARGET_SECONDS,
        "qr_matches": sum(r["qr_matches"] for r in rows),
        "check_ms_median": round(statistics.median(checks), 1) if checks else None,
        "check_ms_p95": round(percentile(checks, 0.95), 1) if checks else None,
        "rows": rows,
    }
    print(
        f"\n住民票 request at the counter, {len(rows)} made-up visitors, {args.key_seconds} s a keystroke, "
        f"{args.convert_seconds} s a conversion:\n"
        f"  keystrokes  median {report['keystrokes']['median']:.0f}, p90 {report['keystrokes']['p90']:.0f}, "
        f"max {report['keystrokes']['max']:.0f}\n"
        f"  staff time  median {report['staff_seconds']['median']:.1f} s, p90 {report['staff_seconds']['p90']:.1f} s, "
        f"max {report['staff_seconds']['max']:.1f} s; within {TARGET_SECONDS:.0f} s: {within}/{len(rows)}\n"
        f"  QR read back exactly as typed: {report['qr_matches']}/{len(rows)}\n"
        f"  server: a field check {report['check_ms_median']} ms median ({report['check_ms_p95']} ms p95)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written: {args.out}")


if __name__ == "__main__":
    with progress.shown():
        main()

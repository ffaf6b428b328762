"""The 試し読み report of ``dejiru template try``: one self-contained HTML file a DX leader opens in a
browser after each change to a template.

Plain data in, HTML out: the pictures come as PNG bytes and are embedded (base64), so the file can be
mailed or put on a share without the scans next to it. Reading and validating happen elsewhere
(``authoring.trial``); this module knows nothing of the reader.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from html import escape

from core import clock


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    #: The value as a person reads it (options by their printed word, dates with their 和暦).
    value: str
    confidence: float
    #: Why the value is doubtful, as (Japanese, English); empty when every check passed.
    reasons: list[tuple[str, str]] = field(default_factory=list)
    needs_review: bool = False


@dataclass(frozen=True)
class PageResult:
    source: str
    page: int  # 1-based
    form: str = ""
    image_png: bytes | None = None
    rows: list[FieldRow] = field(default_factory=list)
    #: Why the page could not be read, as (Japanese, English, detail).
    error: tuple[str, str, str | None] | None = None
    note: str = ""

    @property
    def review_count(self) -> int:
        return sum(1 for r in self.rows if r.needs_review)

    @property
    def status(self) -> tuple[str, str]:
        """(css class, words) for the page's outcome."""
        if self.error is not None:
            return "failed", "読み取れません / not read"
        if self.review_count:
            return "review", f"要確認 {self.review_count} 項目 / {self.review_count} field(s) to review"
        return "ok", "そのまま通過 / straight through"


CSS = """
body { font-family: "IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "Hiragino Sans", "Meiryo", sans-serif;
       margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; border-bottom: 2px solid #ccc; }
small, .en { color: #666; font-size: 0.85em; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.5rem; vertical-align: top; text-align: left; }
th { background: #f0f0f0; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.review td { background: #fff4e0; }
.badge { display: inline-block; padding: 0.1rem 0.6rem; border-radius: 0.8rem; font-size: 0.9rem; }
.badge.ok { background: #dff3e3; color: #17632a; } .badge.review { background: #ffe8c2; color: #8a4b00; }
.badge.failed { background: #fbdada; color: #9b1c1c; }
.error { background: #fbdada; border: 1px solid #e0a0a0; padding: 0.75rem 1rem; max-width: 60rem; }
.page { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.page img { width: 520px; max-width: 100%; border: 1px solid #bbb; cursor: zoom-in; }
.page img.big { width: 1240px; cursor: zoom-out; }
.page table { flex: 1 1 36rem; }
ul.reasons { margin: 0; padding-left: 1.1rem; }
"""


def _png(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _field_table(rows: list[FieldRow]) -> str:
    head = (
        "<tr><th>項目<br><small>Field</small></th><th>読み取り値<br><small>Value read</small></th>"
        "<th>確からしさ<br><small>Confidence</small></th><th>検証結果<br><small>Checks</small></th>"
        "<th>要確認<br><small>Review</small></th></tr>"
    )
    body = []
    for r in rows:
        if r.reasons:
            checks = "<ul class=reasons>" + "".join(
                f"<li>{escape(ja)}<br><span class=en>{escape(en)}</span></li>" for ja, en in r.reasons
            )
            checks += "</ul>"
        else:
            checks = "OK"
        body.append(
            f"<tr class={'review' if r.needs_review else 'ok'}>"
            f"<td>{escape(r.label)}<br><small>{escape(r.name)}</small></td>"
            f"<td>{escape(r.value)}</td><td class=num>{r.confidence:.2f}</td><td>{checks}</td>"
            f"<td>{'要確認' if r.needs_review else '—'}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _page(i: int, p: PageResult) -> str:
    cls, words = p.status
    title = f"{escape(p.source)} — {p.page}ページ目 <small>page {p.page}</small>"
    out = [f"<section id=p{i}><h2>{title} <span class='badge {cls}'>{escape(words)}</span></h2>"]
    if p.error is not None:
        ja, en, detail = p.error
        out.append(
            f"<div class=error><strong>{escape(ja)}</strong><br><span class=en>{escape(en)}</span>"
            + (f"<br><small>{escape(detail)}</small>" if detail else "")
            + "</div>"
        )
    else:
        if p.form or p.note:
            out.append(f"<p>{escape(p.form)} <small>{escape(p.note)}</small></p>")
        out.append("<div class=page>")
        if p.image_png is not None:
            out.append(
                "<img alt='読み取り結果の図 / overlay' title='クリックで拡大 / click to enlarge'"
                f" onclick=\"this.classList.toggle('big')\" src='{_png(p.image_png)}'>"
            )
        out.append(_field_table(p.rows) + "</div>")
    out.append("</section>")
    return "".join(out)


def tryout_html(title: str, pages: list[PageResult], *, generated: dt.datetime | None = None) -> str:
    """The whole report: a summary of every page, then each page's picture and field table."""
    when = (generated or clock.local_now()).strftime("%Y-%m-%d %H:%M")
    counts = {"ok": 0, "review": 0, "failed": 0}
    for p in pages:
        counts[p.status[0]] += 1
    summary_rows = "".join(
        f"<tr><td><a href='#p{i}'>{escape(p.source)}</a></td><td class=num>{p.page}</td>"
        f"<td><span class='badge {p.status[0]}'>{escape(p.status[1])}</span></td></tr>"
        for i, p in enumerate(pages)
    )
    summary = (
        f"<p>{len(pages)} ページ：そのまま通過 {counts['ok']}、要確認 {counts['review']}、"
        f"読み取れず {counts['failed']}<br><small>{len(pages)} page(s): {counts['ok']} straight through, "
        f"{counts['review']} to review, {counts['failed']} not read</small></p>"
        "<table><tr><th>ファイル<br><small>File</small></th><th>ページ<br><small>Page</small></th>"
        f"<th>結果<br><small>Result</small></th></tr>{summary_rows}</table>"
    )
    legend = (
        "<p><small>図の色: 緑=確認不要、橙=要確認、赤=確からしさが低い要確認 / "
        "colours: green = fine, orange = to review, red = to review, low confidence</small></p>"
    )
    body = "".join(_page(i, p) for i, p in enumerate(pages))
    return (
        "<!doctype html><html lang=ja><head><meta charset=utf-8>"
        f"<title>試し読み: {escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>試し読みの結果 <small>Template try-out</small><br>{escape(title)}</h1>"
        f"<p><small>{when} 作成 / generated</small></p>{summary}{legend}{body}</body></html>"
    )

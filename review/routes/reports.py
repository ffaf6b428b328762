"""Finding and measuring: the search (reviewers) and the KPI page (supervisors only: the figures,
the measured silent-error rate among them, are not a reviewer's business)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from formkit.registry import all_templates
from records.models import now
from review.kpi_channels import channel_context, channel_report, csv_bytes, csv_name
from review.web import Reviewer, State, Supervisor, lang, page
from validation.calibration import wilson_interval

router = APIRouter()

#: Below this many documents audited, a silent-error figure is shown with a note that it says nothing yet.
TOO_FEW_AUDITED_DOCUMENTS = 10
#: ... or when its 95 % interval still reaches this high.
TOO_WIDE_UPPER = 0.05


def bar_chart(per_day: dict[str, int], width: int = 640, height: int = 160) -> dict[str, Any]:
    """Bars for a server-rendered SVG chart (no JavaScript): x, y, w, h and a label per day."""
    if not per_day:
        return {"bars": [], "width": width, "height": height}
    top = max(per_day.values()) or 1
    bw = width / max(len(per_day), 14)  # a fortnight wide even when few days have data
    bars = []
    for i, (day, n) in enumerate(per_day.items()):
        h = (height - 30) * n / top
        bars.append(
            {"x": i * bw + 2, "y": height - 20 - h, "w": max(bw - 4, 1), "h": h, "n": n, "day": day[5:]}
        )
    return {"bars": bars, "width": width, "height": height}


def silent_figures(counts: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The measured silent-error rate with its 95 % Wilson interval, per form, per field type and
    overall, from the 抜き取り検査 counts; ``too_few`` marks a figure that says nothing yet."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key, rows in counts.items():
        out[key] = []
        for r in rows:
            low, high = wilson_interval(r["errors"], r["fields"])
            too_few = r["documents"] < TOO_FEW_AUDITED_DOCUMENTS or high > TOO_WIDE_UPPER
            out[key].append(
                r | {"rate": r["errors"] / r["fields"], "low": low, "high": high, "too_few": too_few}
            )
    return out


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, me: Reviewer, state: State, q: str = "") -> Response:
    docs = state.store.find(q) if q.strip() else []
    receipts = state.store.receipts()
    return page(request, "search.html", q=q, docs=docs, receipts=receipts)


@router.get("/kpi", response_class=HTMLResponse)
def kpi(request: Request, me: Supervisor, state: State, days: int = 14) -> Response:
    k = state.store.kpis(max(1, min(days, 365)))
    since = now() - dt.timedelta(days=k["days"])
    en = lang(request) == "en"
    return page(
        request,
        "kpi.html",
        k=k,
        chart=bar_chart(k["per_day"]),
        silent=silent_figures(state.store.silent_errors(since)),
        forms={t.id: (t.title_en or t.title) if en else t.title for t in all_templates()},
        **channel_context(state.store, k["days"], en),
    )


@router.get("/kpi.csv")
def kpi_csv(request: Request, me: Supervisor, state: State, days: int = 14) -> Response:
    """The channel figures per week for the council's report, as a CSV Excel opens (supervisors)."""
    report = channel_report(state.store, days)
    return Response(
        csv_bytes(report, en=lang(request) == "en"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{csv_name(report.period)}"'},
    )

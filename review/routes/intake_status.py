"""受付状況: every file's fate for the staff who drop scans (role ``staff`` and everyone above it).

Searchable by part of a file name and by day (today and yesterday by default, up to 31 days back). Staff see states,
the form a file was read as and the reason a file was not accepted; a link into the document only for
those who may review. No field value is on this page, whoever looks.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core import clock
from formkit.registry import all_templates
from pipeline.intake_status import FATES, counts, fates
from review.auth import REVIEWERS, allowed
from review.web import Staff, State, lang, page

router = APIRouter()
#: How far back the page looks at most (a longer history is the search's and the KPI page's).
MAX_DAYS = 31


def _period(day: str, days: int) -> tuple[dt.date, int]:
    """The days shown, up to ``day``. By default today and yesterday on the clock files are stamped
    with (a pinned ``DEJIRU_TODAY`` is the day values are checked against, not when files arrived),
    so a file dropped just before midnight is still on the morning's page."""
    stamped_today = clock.local_now().date()
    try:
        last = dt.date.fromisoformat(day) if day else stamped_today
    except ValueError:
        last = stamped_today
    return last, max(1, min(days, MAX_DAYS))


@router.get("/intake", response_class=HTMLResponse)
def intake_status(
    request: Request, me: Staff, state: State, q: str = "", day: str = "", days: int = 2
) -> Response:
    last, n = _period(day, days)
    start = dt.datetime.combine(last - dt.timedelta(days=n - 1), dt.time(), clock.JST)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), clock.JST)
    docs, refusals = state.store.intake_log(start.astimezone(dt.UTC), end.astimezone(dt.UTC), q.strip()[:100])
    en = lang(request) == "en"
    titles = {t.id: (t.title_en or t.title) if en else t.title for t in all_templates()}
    rows = fates(docs, refusals, titles.get)
    return page(
        request,
        "intake_status.html",
        rows=rows,
        counts=counts(rows),
        fates=FATES,
        q=q[:100],
        day=last.isoformat(),
        days=n,
        may_review=allowed(me.role, *REVIEWERS),
    )

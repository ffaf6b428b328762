"""For machines that watch the review server: ``/healthz``, ``/readyz`` and ``/metrics``, without a login.

- ``/healthz``: the process answers HTTP (liveness). Touches nothing, the database least of all: a
  service manager that restarts the server when the database is down would only add restarts.
- ``/readyz``: the database answers a read of a real table (readiness); 503 when it does not, or when
  it takes longer than :data:`TIMEOUT_S`. One check at a time: while one hangs on a database that
  does not answer, the next request is told 503 at once instead of starting another.
- ``/metrics``: the pipeline's health in Prometheus' format (``review.metrics``).

**Who may read /metrics: anyone who reaches the server, like /health.** A city's monitoring (Zabbix,
Prometheus) has no login, and the machine tokens (``review.api_tokens``) are not the answer: they carry
no scope, so a token written into a monitoring system's configuration, which many people read, could
also post online applications into the back office (``POST /api/online/exports``) — a worse leak
than the figures it guards. So the page holds nothing that needs guarding: counts per state, queue
ages, keying results per target system, exception and problem codes, inbox and disk figures; never a
document id, a name, a path, a user or a value (``review.metrics`` says how). What it does tell (how
busy the office is, that a target system is down) is what the review UI's own queue shows every
reviewer. Its cost is bounded whatever the request rate: one computation at a time, which every
request arriving meanwhile shares (aggregate queries, a bounded inbox count), and an answer younger
than :data:`FRESH_S` is served again.

The work runs in a daemon thread of its own, awaited with a time limit, and at most one of each kind
is alive: a database that hangs holds one thread, not one per request, and never the server's thread
pool nor its exit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from core.errors import DatabaseUnavailable
from pipeline.health import gather
from review.metrics import CONTENT_TYPE, exposition
from review.web import State

router = APIRouter()
T = TypeVar("T")

#: (method, path) of the machine routes here: public, listed in ``routes.account.PUBLIC``.
HEALTH_ROUTES = frozenset({("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")})
#: How long a request waits for the database check or the metrics before answering 503.
TIMEOUT_S = 5.0
#: A /metrics answer this young is served again rather than computed again (scrapers ask every 15 s
#: or more; a flood of requests costs one computation per this many seconds).
FRESH_S = 5.0


@dataclass
class _Jobs:
    """Per app: the readiness check and the metrics computation in flight (or last done), and the
    last metrics text with when it was made."""

    ready: Future[None] | None = None
    metrics: Future[str] | None = None
    text: str | None = None
    made: float = 0.0


def _jobs(request: Request) -> _Jobs:
    jobs: _Jobs | None = getattr(request.app.state, "health_jobs", None)
    if jobs is None:
        jobs = request.app.state.health_jobs = _Jobs()
    return jobs


def _in_thread(work: Callable[[], T]) -> Future[T]:
    """``work`` in a daemon thread of its own; its result (or error) in the future."""
    done: Future[T] = Future()

    def run() -> None:
        done.set_running_or_notify_cancel()
        try:
            done.set_result(work())
        except BaseException as exc:  # handed to the request that waits for it
            done.set_exception(exc)

    threading.Thread(target=run, name="health", daemon=True).start()
    return done


async def _wait(job: Future[T]) -> T:
    """The job's result within :data:`TIMEOUT_S` (``TimeoutError`` otherwise; the job runs on)."""
    return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), TIMEOUT_S)


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"ok": True})


@router.get("/readyz")
async def readyz(request: Request, state: State) -> JSONResponse:
    jobs = _jobs(request)
    if jobs.ready is not None and not jobs.ready.done():
        return _not_ready(
            "ready_check_busy", "前回の確認がまだ終わっていません", "the previous check has not ended"
        )
    jobs.ready = job = _in_thread(state.store.ping)
    try:
        await _wait(job)
    except TimeoutError:
        return _not_ready(
            "database_timeout",
            f"データベースが {TIMEOUT_S:g} 秒以内に応答しません",
            f"the database did not answer within {TIMEOUT_S:g} s",
        )
    except DatabaseUnavailable as err:
        return _not_ready(err.code, err.ja, err.en)
    return JSONResponse({"ok": True})


def _not_ready(code: str, ja: str, en: str) -> JSONResponse:
    return JSONResponse({"ok": False, "code": code, "error_ja": ja, "error_en": en}, status_code=503)


@router.get("/metrics")
async def metrics(request: Request, state: State) -> Response:
    jobs = _jobs(request)
    if jobs.text is None or time.monotonic() - jobs.made >= FRESH_S:
        if jobs.metrics is None or jobs.metrics.done():
            jobs.metrics = _in_thread(lambda: exposition(gather(state.ctx)))
        job = jobs.metrics
        try:
            text = await _wait(job)
        except TimeoutError:
            return Response(
                "# the metrics took too long (database slow?); try again\n",
                status_code=503,
                media_type=CONTENT_TYPE,
            )
        if job is jobs.metrics:
            jobs.text, jobs.made = text, time.monotonic()
    else:
        text = jobs.text
    return Response(text, media_type=CONTENT_TYPE)

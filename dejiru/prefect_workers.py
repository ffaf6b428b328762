"""The workers of the many-PC setup, as the Prefect server knows them: work pools, each worker's last
heartbeat, and whether it still beats.

Asked of Prefect's REST API with plain HTTP (the auth string as HTTP basic auth, as Prefect's own
client sends it) and a short timeout, not through Prefect's client: ``dejiru status`` must answer in
a second or two on a PC where the server is down, and Prefect's client would retry a refused
connection for tens of seconds (and importing it takes seconds more). Where the API is
(``PREFECT_API_URL``) and its secret (``PREFECT_API_AUTH_STRING``) come from the environment file every
worker and watcher loads (README, many PCs). Without ``PREFECT_API_URL`` there is no server to ask: on
one PC ``dejiru run`` runs the flows in its own process, with no workers.

A worker *beats* while its last heartbeat is younger than 3 of its heartbeat intervals (Prefect's own
rule for marking a worker offline: ``PREFECT_SERVER_SERVICES_FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE``,
30 s when the worker gave none); judged here at an instant the caller gives, so the rule is tested
without waiting. Answers are hostile input: anything not shaped as expected is skipped, lists are
capped, names are cut.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from core.messages import Message
from pipeline.health import local

#: Heartbeats a worker may miss before it counts as stopped (Prefect's foreman uses 3).
MISSED_BEATS = 3
#: Prefect's interval when a worker gave none (``fallback_heartbeat_interval_seconds``).
DEFAULT_INTERVAL_S = 30
TIMEOUT_S = 3.0
MOST_POOLS = 50
MOST_WORKERS = 200

Reach = Literal["not_configured", "unreachable", "refused", "ok"]
Beat = Literal["online", "stale", "never"]


@dataclass(frozen=True)
class Worker:
    pool: str
    name: str
    last_heartbeat: dt.datetime | None
    interval_s: int
    beat: Beat


@dataclass(frozen=True)
class Pool:
    name: str
    type: str
    paused: bool
    workers: list[Worker] = field(default_factory=list)


@dataclass(frozen=True)
class Workers:
    reach: Reach
    api_url: str | None
    pools: list[Pool] = field(default_factory=list)
    problems: list[Message] = field(default_factory=list)


def judge(last: dt.datetime | None, interval_s: int | None, at: dt.datetime) -> Beat:
    """Whether a worker whose last heartbeat was ``last`` still beats at ``at``."""
    if last is None:
        return "never"
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    horizon = dt.timedelta(seconds=MISSED_BEATS * (interval_s or DEFAULT_INTERVAL_S))
    return "online" if at - last <= horizon else "stale"


def _headers() -> dict[str, str]:
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if not auth:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _text(value: Any, most: int = 100) -> str:
    return str(value)[:most] if isinstance(value, str) else "?"


def workers(at: dt.datetime, timeout: float = TIMEOUT_S) -> Workers:
    """The work pools and workers the Prefect server at ``PREFECT_API_URL`` knows, judged at ``at``;
    never raises for a server that is down, locked or strange: ``reach`` and ``problems`` say so."""
    api = os.environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    if not api:
        return Workers("not_configured", None)
    shown = _without_userinfo(api)
    try:
        with httpx.Client(base_url=api, headers=_headers(), timeout=timeout) as client:
            found = client.post("/work_pools/filter", json={"limit": MOST_POOLS})
            if found.status_code in (401, 403):
                return Workers("refused", shown, problems=[_refused(shown)])
            found.raise_for_status()
            pools = [_pool(client, p, at) for p in _list(found.json())[:MOST_POOLS]]
    except (httpx.HTTPError, ValueError) as exc:
        return Workers("unreachable", shown, problems=[_unreachable(shown, exc)])
    found_pools = [p for p in pools if p is not None]
    return Workers("ok", shown, found_pools, _problems(found_pools))


def _without_userinfo(url: str) -> str:
    """The URL as shown and printed: a ``user:password@`` in it stays out of screens and logs."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def _list(data: Any) -> list[dict[str, Any]]:
    return [x for x in data if isinstance(x, dict)] if isinstance(data, list) else []


def _pool(client: httpx.Client, p: dict[str, Any], at: dt.datetime) -> Pool | None:
    name = p.get("name")
    if not isinstance(name, str) or not name:
        return None
    r = client.post(f"/work_pools/{quote(name, safe='')}/workers/filter", json={"limit": MOST_WORKERS})
    r.raise_for_status()
    found = []
    for w in _list(r.json())[:MOST_WORKERS]:
        last = _time(w.get("last_heartbeat_time"))
        interval = w.get("heartbeat_interval_seconds")
        interval = interval if isinstance(interval, int) and interval > 0 else DEFAULT_INTERVAL_S
        found.append(Worker(name[:100], _text(w.get("name")), last, interval, judge(last, interval, at)))
    found.sort(key=lambda w: w.name)
    return Pool(name[:100], _text(p.get("type"), 40), p.get("is_paused") is True, found)


def _problems(pools: list[Pool]) -> list[Message]:
    out = []
    if not any(w.beat == "online" for p in pools for w in p.workers):
        out.append(
            Message(
                "no_workers",
                "動いているワーカーがありません。書類の読み取りも入力も進みません"
                "（各ワーカーPCで prefect worker start --pool …）",
                "no worker is running: nothing is read or keyed (prefect worker start --pool … on each"
                " worker PC)",
            )
        )
    for p in pools:
        if p.paused:
            out.append(
                Message(
                    "pool_paused",
                    f"ワークプール {p.name} が一時停止されています",
                    f"work pool {p.name} is paused",
                )
            )
        for w in p.workers:
            if w.beat == "stale" and w.last_heartbeat is not None:
                out.append(
                    Message(
                        "worker_stale",
                        f"ワーカー {w.name}（{p.name}）の応答が {local(w.last_heartbeat)} から途絶えています",
                        f"worker {w.name} ({p.name}) has not reported since {local(w.last_heartbeat)}",
                    )
                )
    return out


def _refused(api: str) -> Message:
    return Message(
        "prefect_refused",
        f"Prefect サーバー（{api}）が認証文字列を受け付けません。PREFECT_API_AUTH_STRING を確かめてください",
        f"the Prefect server ({api}) refuses the auth string: check PREFECT_API_AUTH_STRING",
    )


def _unreachable(api: str, exc: Exception) -> Message:
    return Message(
        "prefect_unreachable",
        f"Prefect サーバー（{api}）に接続できません。ワーカーの状態は分かりません（{type(exc).__name__}）",
        f"cannot reach the Prefect server ({api}): the workers' state is unknown ({type(exc).__name__})",
    )


def as_json(w: Workers) -> dict[str, Any]:
    return {
        "prefect": w.reach,
        "api_url": w.api_url,
        "pools": [
            {
                "name": p.name,
                "type": p.type,
                "paused": p.paused,
                "workers": [
                    {
                        "name": x.name,
                        "last_heartbeat": x.last_heartbeat.isoformat(timespec="seconds")
                        if x.last_heartbeat
                        else None,
                        "heartbeat_interval_s": x.interval_s,
                        "state": x.beat,
                    }
                    for x in p.workers
                ],
            }
            for p in w.pools
        ],
    }

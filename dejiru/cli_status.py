"""``dejiru status``: is the pipeline healthy, at a glance (状態). Registered by ``dejiru/cli.py``.

For operators, a page of text, Japanese first with English; for monitoring, ``--json`` (the same facts,
times in ISO 8601 with ages in seconds). Exits 1 when it finds a problem someone must fix (a target
system down, a worker that stopped beating, files nobody takes, a nearly full disk, the database not
answering), like the other checks (``template check``, ``bot check``), so a monitoring system can
use the exit status alone; 0 when all is well. The store is only read: no migration, no write.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from core.messages import Message

if TYPE_CHECKING:  # imported when the command runs: every other command starts without them
    from dejiru.prefect_workers import Workers
    from pipeline.health import Health


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for monitoring (監視用)")] = False,
) -> None:
    """The pipeline at a glance: queues and their oldest, target systems, workers, inbox, disk,
    exceptions; exits 1 when something needs fixing (状態)."""
    from dejiru import prefect_workers
    from pipeline import health
    from pipeline.context import Context

    ctx = Context.create(migrate=False)
    h = health.gather(ctx)
    w = prefect_workers.workers(h.at)
    problems = [*h.problems, *w.problems]
    if as_json:
        out = health.as_json(h) | {"workers": prefect_workers.as_json(w)}
        out["ok"], out["problems"] = not problems, [p.as_dict() for p in problems]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        typer.echo("\n".join(_text(h, w, problems)))
    if problems:
        raise typer.Exit(1)


def _text(h: Health, w: Workers, problems: list[Message]) -> list[str]:
    from pipeline.health import STATE_NAMES, age, local, size
    from records.health_queries import QUEUES

    lines = [f"dejiru の状態 / pipeline status   {local(h.at)}", ""]
    if problems:
        lines.append(f"要対応 / needs attention ({len(problems)})")
        for p in problems:
            lines += [f"  ! {p.ja}", f"    {p.en}"]
    else:
        lines.append("正常 / healthy")
    lines += ["", "書類 / documents"]
    f = h.facts
    if f is None:
        lines.append("  データベースが応答しないため分かりません / unknown: the database does not answer")
    else:
        for q in f.queues:
            ja, en = STATE_NAMES[q.state]
            row = f"  {_pad(f'{ja} / {en}', 58)} {q.count:>5}"
            if q.oldest_since is not None:
                row += f"   最長 / longest {age(h.at - q.oldest_since)} (#{q.oldest_id}, {local(q.oldest_since)})"
            lines.append(row)
        others = [
            f"{STATE_NAMES.get(s, (s, s))[0]} / {STATE_NAMES.get(s, (s, s))[1]} {n}"
            for s, n in sorted(f.by_state.items())
            if s not in QUEUES
        ]
        if others:
            lines.append("  その他 / others: " + ", ".join(others))
        r = f.reads
        lines.append(
            f"  読み取り / read: ストレート / straight through {r['straight_through']}, 確認へ / to review {r['review']}"
        )
    lines += ["", "業務システムへの入力 / keying"]
    if not h.targets:
        lines.append("  入力先なし / no target system")
    for t in h.targets:
        k = t.keying
        last = (
            f"{local(k.last_done_at)}（{age(h.at - k.last_done_at)} 前 / ago）"
            if k.last_done_at
            else "なし / none"
        )
        lines.append(
            f"  {t.target}: 最終成功 / last success {last}; 入力待ち / to key {t.to_key};"
            f" 例外へ / failed {k.records.get('failed', 0)}; 登録済み / keyed {k.records.get('done', 0)}"
        )
        if t.down_since is not None:
            until = f"、{local(t.until)} に例外へ / to exceptions at {local(t.until)}" if t.until else ""
            lines.append(
                f"    停止中 / down since {local(t.down_since)}（{t.to_key} 件待機 / waiting{until}）"
                f" [{k.last_error or '?'}]"
            )
    lines += ["", "ワーカー / workers"]
    lines += _workers(w)
    lines += ["", "受付フォルダ / inbox"]
    inbox = h.inbox
    if not inbox.present:
        lines.append(f"  {h.inbox_path}: 見つかりません / not found")
    else:
        more = "+" if inbox.truncated else ""
        row = f"  {h.inbox_path}: {inbox.files}{more} 件 / files"
        if inbox.oldest is not None:
            row += f"、最古 / oldest {age(h.at - inbox.oldest)}"
        if inbox.strays:
            row += f"、ファイル以外 / not files {inbox.strays}"
        lines.append(row)
    lines += ["", "ディスク / disk"]
    if h.disk is None:
        lines.append("  分かりません / unknown")
    else:
        lines.append(f"  {h.disk.path}: 空き / free {size(h.disk.free)} ({h.disk.share:.0%})")
    if f is not None:
        lines += ["", "未対応の例外 / open exceptions"]
        if not f.open_exceptions:
            lines.append("  なし / none")
        for e in f.open_exceptions:
            oldest = f"、最古 / oldest {age(h.at - e.oldest_at)}" if e.oldest_at else ""
            lines.append(f"  {e.code}: {e.count}{oldest}")
        if f.recent_exceptions:
            recent = ", ".join(f"{c} {n}" for c, n in f.recent_exceptions.items())
            lines.append(f"  24時間以内 / last 24 h: {recent}")
    return lines


def _workers(w: Workers) -> list[str]:
    from pipeline.health import local

    if w.reach == "not_configured":
        return [
            "  Prefect サーバーの設定なし（1台構成では dejiru run が処理を実行します）",
            "  no Prefect server configured (PREFECT_API_URL): on one PC dejiru run runs the flows itself",
        ]
    if w.reach != "ok":
        return [f"  Prefect {w.api_url}: 接続できません / unreachable"]
    lines = [f"  Prefect {w.api_url}"]
    if not w.pools:
        lines.append("  ワークプールなし / no work pool")
    beats = {"online": "動作中 / running", "stale": "応答なし / stopped?", "never": "未応答 / never reported"}
    for p in w.pools:
        lines.append(f"  {p.name} ({p.type}){'  一時停止 / paused' if p.paused else ''}")
        if not p.workers:
            lines.append("    ワーカーなし / no worker")
        for x in p.workers:
            last = local(x.last_heartbeat) if x.last_heartbeat else "—"
            lines.append(f"    {x.name}: {beats[x.beat]}、最終応答 / last heartbeat {last}")
    return lines


def _pad(text: str, width: int) -> str:
    """Pad to ``width`` terminal columns: a Japanese character takes two."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)

"""``dejiru kpi`` (the plan's figures per channel, and the council's CSV) and ``dejiru demo-history``
(weeks of made-up applications for a demo's KPI page, and their removal). Registered as top-level
commands by ``dejiru/cli.py``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer


def kpi(
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Write the weekly figures per channel to this CSV (Excel)")
    ] = None,
    days: Annotated[int, typer.Option(help="The period: this many days ending today (1–366)")] = 28,
    lang: Annotated[str, typer.Option(help="Language of the CSV's headers: ja or en")] = "ja",
) -> None:
    """The plan's figures per channel (紙・書かない窓口・オンライン): applications, straight-through
    rate, staff time saved, receipt to keyed; --csv writes the council's table (実績・議会報告用)."""
    from pipeline.context import Context
    from records.kpis import channel_name
    from review.kpi_channels import channel_report, csv_bytes

    if lang not in ("ja", "en"):
        raise typer.BadParameter("ja or en", param_hint="--lang")
    ctx = Context.create()
    report = channel_report(ctx.store, days)
    en = lang == "en"
    p = report.period
    typer.echo(f"{p.first} 〜 {p.last} ({p.days}日 / days)")
    for key, f in [*report.by_channel.items(), ("", report.total)]:
        rate = "—" if f.straight_rate is None else f"{100 * f.straight_rate:.0f}%"
        median = "—" if f.to_keyed_median_s is None else f"{f.to_keyed_median_s / 3600:.1f}"
        p90 = "—" if f.to_keyed_p90_s is None else f"{f.to_keyed_p90_s / 3600:.1f}"
        typer.echo(
            f"  {channel_name(key, en)}: {f.applications} 件 / applications, ストレート / straight {rate},"
            f" 削減 / saved {f.saved_s / 60:.0f} 分 / min, 受付→登録 / to keyed {median} h (90%: {p90} h)"
        )
    demo = ctx.store.demo_documents()
    if demo:
        typer.echo(f"デモデータを含みます（{demo} 件） / includes {demo} demo applications")
    if csv is not None:
        tmp = csv.with_name(f".{csv.name}.tmp")
        tmp.write_bytes(csv_bytes(report, en=en))
        os.replace(tmp, csv)
        typer.echo(f"written: {csv}")


def demo_history(
    weeks: Annotated[int, typer.Option(help="How many weeks, ending yesterday (1–26)")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed (same seed and day, same history)")] = 17,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the demo history, and nothing else")
    ] = False,
) -> None:
    """Weeks of made-up applications (all three channels, marked 「デモ履歴」) so the KPI page has a
    story to show; --remove deletes exactly them (デモ履歴)."""
    from core import clock
    from pipeline.context import Context
    from pipeline.demo_history import remove_history, seed_history

    ctx = Context.create()
    if remove:
        counts = remove_history(ctx.store)
        ctx.store.audit("cli", "demo_history.remove", detail=f"{counts.get('document', 0)} documents")
    else:
        from core import progress

        with progress.shown():
            counts = seed_history(ctx.store, weeks, seed, clock.today())
        ctx.store.audit("cli", "demo_history.seed", detail=f"{sum(counts.values())} documents")
    typer.echo(json.dumps(counts, ensure_ascii=False))

"""``dejiru bot``: authoring help for the keying bots (record selectors, dry-run a mapping)."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Annotated, Any

import typer

from core import clock
from core.errors import ConfigurationError, KeyingError
from dejiru.cli_errors import DejiruGroup

bot_app = typer.Typer(
    cls=DejiruGroup,
    help="Keying bots: check a mapping, record selectors (入力ロボット)",
    no_args_is_help=True,
)


@bot_app.command("check")
def bot_check(
    system: Annotated[str, typer.Argument(help="Target system (bots/mappings/SYSTEM.yaml)")],
    form: Annotated[
        str | None, typer.Option(help="Only this form (default: every form in the mapping)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the made-up applicant typed in")] = 1,
    out: Annotated[Path, typer.Option(help="Folder for screenshots")] = Path("var/bot-check"),
    headed: Annotated[bool, typer.Option(help="Show the browser window")] = False,
) -> None:
    """Dry-run a mapping against the live target: log in, search, fill every input, stop before saving.

    A made-up applicant (the same kind as the sample scans) is typed in, so a changed screen or a wrong
    selector shows up here and not on a real application. Nothing is saved in the target system.
    """
    from bots.mapping import load_mapping
    from bots.runner import BotSession
    from formkit.registry import load_template
    from synth.samples import sample_values

    mapping = load_mapping(system)
    forms = [form] if form else list(mapping.forms)
    failed = 0
    with BotSession(mapping, out, headless=not headed) as bot:
        typer.echo(f"{mapping.title} ({mapping.url})")
        for i, form_id in enumerate(forms):
            values, _ = sample_values(load_template(form_id), random.Random(seed + i), clock.today())
            probe = f"CHECK{os.getpid() % 10000:04d}{i:02d}"
            try:
                run = bot.dry_run(form_id, values, probe)
            except KeyingError as err:  # this form's mapping fails: say so, go on with the next
                failed += 1
                typer.echo(
                    f"  NG {form_id}: {err.ja}\n     {err.en}" + (f" ({err.detail})" if err.detail else "")
                )
                for kind, path in err.evidence.items():
                    typer.echo(f"     {kind}: {path}")
                bot.restart()
                continue
            note = f"、既存の受付番号 {run.existing}" if run.existing else ""
            typer.echo(
                f"  OK {form_id}: ログイン・照会・{run.filled} 項目の入力まで確認（登録はしていません{note}）"
                f" / login, search and {run.filled} inputs work (nothing saved); screenshot {run.screenshot}"
            )
    if failed:
        raise typer.Exit(1)


@bot_app.command("record")
def bot_record(
    system: Annotated[str, typer.Argument(help="Target system (bots/mappings/SYSTEM.yaml)")],
    path: Annotated[str, typer.Option(help="Screen to open first")] = "/",
) -> None:
    """Open the target in Chromium with Playwright's inspector to record clicks and pick selectors.

    Press Record in the inspector, use the screen as a clerk would, and copy the selectors it shows
    into the mapping's steps (fill / select / check / click). Needs a desktop (an X or Wayland display).
    """
    from bots.browser import launch_kwargs
    from bots.mapping import load_mapping

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ConfigurationError(
            "画面（デスクトップ）のある端末で実行してください。記録にはブラウザの窓が必要です",
            "run this on a machine with a desktop: recording needs a browser window (no DISPLAY)",
        )
    mapping = load_mapping(system)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        kwargs: Any = launch_kwargs(headless=False)
        browser = pw.chromium.launch(**kwargs)
        page = browser.new_context(locale="ja-JP").new_page()
        page.goto(mapping.url.rstrip("/") + "/" + path.lstrip("/"))
        typer.echo(
            "インスペクターの「Record」を押して操作してください。閉じると終了します / press Record in the inspector"
        )
        page.pause()  # Playwright's inspector: recorder, locator picker, generated code
        browser.close()

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
    full: Annotated[
        bool,
        typer.Option(
            help="Also save once with values the target refuses, and search a known record (check:)"
        ),
    ] = False,
) -> None:
    """Dry-run a mapping against the live target: log in, search, fill every input, stop before saving.

    A made-up applicant (the same kind as the sample scans) is typed in, so a changed screen or a wrong
    selector shows up here and not on a real application. Nothing is saved in the target system.
    ``--full`` goes on where the form's mapping declares a safe way (``check:``): a save with values
    the target refuses proves ``rejected``; the search for a known record proves ``found``.
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
            if full:
                failed += _probe(bot, mapping.forms[form_id].check, form_id, values, probe + "R")
    if failed:
        raise typer.Exit(1)


def _probe(bot: Any, check: Any, form_id: str, values: dict[str, Any], reference: str) -> int:
    """``bot check --full`` for one form: 1 if a probe failed (or saved what it must not), else 0."""
    from core.errors import BusinessRuleRejected

    if check is None:
        typer.echo(
            f"  -- {form_id}: check: がないため、登録・却下・既存の照会は試していません"
            " / no check: block: save, rejection and found-search not exercised"
        )
        return 0
    bad = 0
    if check.existing_reference:
        try:
            receipt = bot.find(form_id, check.existing_reference)
        except KeyingError as err:
            receipt, bad = None, 1
            typer.echo(f"  NG {form_id} found: {err.ja} / {err.en}")
        if receipt:
            typer.echo(
                f"  OK {form_id}: 既存の {check.existing_reference} を照会で確認（受付番号 {receipt}） / found"
            )
        elif not bad:
            bad = 1
            typer.echo(
                f"  NG {form_id}: 既存のはずの {check.existing_reference} が照会で見つかりません"
                f" / {check.existing_reference} not found by the search (found: selector?)"
            )
    if check.rejected_with:
        try:
            saved = bot.key(form_id, values | check.rejected_with, reference)
        except BusinessRuleRejected as err:
            typer.echo(f"  OK {form_id}: 却下の表示を確認（{err.detail}） / rejected: shown and read")
        except KeyingError as err:
            bad = 1
            typer.echo(f"  NG {form_id} rejected: {err.ja} / {err.en}")
        else:
            bad = 1
            typer.echo(
                f"  NG {form_id}: 却下されるはずの値が登録されました（受付番号 {saved.receipt}、整理番号 {reference}）。"
                f"業務システムで取り消してください / the target SAVED the probe ({saved.receipt}): remove it there"
            )
    return bad


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


def field_name_for(label: str) -> str:
    """A template field name guessed from a screen's label (authoring's label words: 氏名 → name,
    氏名カナ → kana), for a skeleton's ``{placeholder}``; ``TODO`` when no word is known. 整理番号 is
    where dejiru's own ``{reference}`` usually goes."""
    from authoring.propose.labels import guess_name, guess_type
    from formkit.model import FieldType

    if not label:
        return "TODO"
    if guess_type(label) is FieldType.KANA:
        return "kana"
    name = guess_name(label, set())
    return {"reference_number": "reference", "field_01": "TODO"}.get(name, name)


@bot_app.command("inspect")
def bot_inspect(
    url: Annotated[
        str, typer.Argument(help="Screen to read: http(s)://… or, with --system, a path like /new")
    ],
    system: Annotated[
        str | None, typer.Option(help="Target system (bots/mappings/SYSTEM.yaml): base address, login")
    ] = None,
    login: Annotated[bool, typer.Option(help="Log in first with the mapping's login steps")] = False,
    out: Annotated[Path | None, typer.Option(help="Write a mapping skeleton (YAML) for --form here")] = None,
    form: Annotated[str | None, typer.Option(help="Template id the skeleton is for")] = None,
    links: Annotated[bool, typer.Option(help="List links too (a frameset's menu)")] = False,
) -> None:
    """List a screen's inputs, selects, checkboxes, radios and buttons, in every frame, headless.

    For writing a mapping without a desktop: each input with a suggested selector, the label the screen
    shows beside it, its maxlength and options. With --out, a mapping skeleton for --form to fill in.
    """
    import tempfile

    from bots.inspect import checked_url, opened, read_page, skeleton, table

    if login and not system:
        raise typer.BadParameter(
            "--login には --system が必要です / --login needs --system", param_hint="--login"
        )
    if out is not None and not form:
        raise typer.BadParameter("--out には --form が必要です / --out needs --form", param_hint="--out")
    if out is not None and out.exists():
        raise typer.BadParameter(
            f"{out} は既にあります（上書きしません）/ already exists", param_hint="--out"
        )
    mapping = None
    if system:
        from bots.mapping import load_mapping

        mapping = load_mapping(system)
    target = checked_url(url, mapping.url if mapping else None)
    with (
        tempfile.TemporaryDirectory(prefix="dejiru-inspect-") as work,
        opened(target, mapping=mapping, login=login, work_dir=Path(work)) as page,
    ):
        result = read_page(page, links=links)
    for line in table(result):
        typer.echo(line)
    if out is not None and form:
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        goto = parts.path + (f"?{parts.query}" if parts.query else "")
        out.write_text(skeleton(result, form, goto or "/", field_name_for), encoding="utf-8")
        typer.echo(f"下書きを書きました / skeleton written: {out}")

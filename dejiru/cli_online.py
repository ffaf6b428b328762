"""``dejiru online``: online application services (オンライン申請) — the tokens they post exports with,
and a check of an export against the forms' mappings before a service is connected."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dejiru.cli_errors import DejiruGroup

online_app = typer.Typer(
    cls=DejiruGroup,
    help="Online applications: API tokens, export checks (オンライン申請)",
    no_args_is_help=True,
)
token_app = typer.Typer(
    cls=DejiruGroup, help="API tokens for online services (APIトークン)", no_args_is_help=True
)
online_app.add_typer(token_app, name="token")


@token_app.command("add")
def token_add(name: Annotated[str, typer.Argument(help="Who holds it, e.g. denshi-shinsei")]) -> None:
    """Make a token for a service to post exports with (replaces its old one). Shown once."""
    from pipeline.context import Context
    from review import api_tokens

    ctx = Context.create()
    token = api_tokens.add(ctx.settings, name)
    ctx.store.audit("cli", "api_token.add", detail=name)
    typer.echo(f"{name}: {token}")
    typer.echo("この値は二度と表示されません。安全に渡してください / shown once: hand it over safely")


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name")]) -> None:
    """Revoke a service's token: its next post is refused."""
    from pipeline.context import Context
    from review import api_tokens

    ctx = Context.create()
    if not api_tokens.revoke(ctx.settings, name):
        typer.echo(f"エラー: トークン {name} はありません\nerror: no token {name}", err=True)
        raise typer.Exit(1)
    ctx.store.audit("cli", "api_token.revoke", detail=name)
    typer.echo(f"{name}: 無効にしました / revoked")


@token_app.command("list")
def token_list() -> None:
    """The tokens' names and when each was made (never the tokens)."""
    from core.settings import load_settings
    from review import api_tokens

    for name, created in api_tokens.names(load_settings()):
        typer.echo(f"{name:30} {created}")


@online_app.command("check")
def check(export: Annotated[Path, typer.Argument(help="An export file (.csv or .json)")]) -> None:
    """Read an export as the inbox would, without taking anything: which form, and each row's problems."""
    from intake.online import applications, records
    from pipeline.online import mapping_for

    data = export.read_bytes()
    tpl, mapping = mapping_for(records(data, export.name), export.name)
    rows = applications(data, export.name, tpl, mapping)
    bad = [r for r in rows if not r.ok]
    typer.echo(f"{tpl.id} ({mapping.service}): {len(rows) - len(bad)} 件可 / ok, {len(bad)} 件不可 / refused")
    for r in bad:
        reasons = "; ".join(f"{k or '*'}: {v[0]} / {v[1]}" for k, v in r.problems.items())
        typer.echo(f"  {r.line}: {r.application_id or '-'}: {reasons}")
    if bad:
        raise typer.Exit(3)

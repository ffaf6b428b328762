"""How a ``dejiru`` command ends on a domain error: the message in Japanese and English, and the
error group's exit code (``core.errors``: input 3, recognition 4, template 5, validation 6, keying 7,
configuration 8).

One place, so that no command forgets: each command lets a :class:`~core.errors.DejiruError` rise,
and the group every ``dejiru`` command runs under turns it into the message and the code. Click keeps
its own codes: 2 for a command line it cannot parse, 1 for an unexpected failure (a traceback).
Kept apart from ``cli.py`` so the sub-command modules (``cli_bot``, ``cli_flow``) can use the same
group without importing the main CLI module that imports them.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from core.errors import DejiruError


def report(err: DejiruError) -> None:
    """The error as the clerk reads it on the terminal (standard error): Japanese, English, detail."""
    typer.echo(f"エラー: {err.ja}\nerror: {err.en}" + (f"\n({err.detail})" if err.detail else ""), err=True)


class DejiruGroup(TyperGroup):
    """The Click group under every ``dejiru`` command: a domain error that reaches it is reported
    and ends the command with the error's ``exit_code``; any other exception is left alone (a bug
    shows its traceback and exits 1)."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) Click context
        try:
            return super().invoke(ctx)
        except DejiruError as err:
            report(err)
            raise typer.Exit(err.exit_code) from err

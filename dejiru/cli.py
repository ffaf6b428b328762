"""The ``dejiru`` command: thin verbs over the packages. People and tests drive everything from here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dejiru.cli_errors import DejiruGroup

# Every group is a DejiruGroup: a domain error (core.errors) a command lets rise ends it with the
# message in Japanese and English and the error group's exit code (dejiru/cli_errors.py).
app = typer.Typer(
    cls=DejiruGroup,
    help="dejiru: AI-OCR + RPA for city hall paper forms (紙の申請書を読み取り、業務システムへ入力)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
template_app = typer.Typer(
    cls=DejiruGroup,
    help="Form templates: list, show, check, render, fill, try (様式テンプレート)",
    no_args_is_help=True,
)
user_app = typer.Typer(cls=DejiruGroup, help="Review UI accounts (確認画面のユーザー)", no_args_is_help=True)
db_app = typer.Typer(cls=DejiruGroup, help="Database (データベース)", no_args_is_help=True)
app.add_typer(template_app, name="template")
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")


def _register_subapps() -> None:
    from dejiru.cli_bot import bot_app

    app.add_typer(bot_app, name="bot")

    from dejiru.cli_flow import flow_app

    app.add_typer(flow_app, name="flow")

    from dejiru.cli_kpi import demo_history, kpi

    app.command("kpi")(kpi)
    app.command("demo-history")(demo_history)

    from dejiru.cli_online import online_app

    app.add_typer(online_app, name="online")

    from dejiru.cli_status import status

    app.command("status")(status)


_register_subapps()


def package_version() -> str:
    """The installed distribution's version (pyproject.toml), what a bug report should quote."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dejiru")
    except PackageNotFoundError:  # a checkout run without installing it
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"dejiru {package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log output")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit (バージョン)",
        ),
    ] = False,
) -> None:
    from core import logs

    logs.setup("DEBUG" if verbose else "INFO")


@app.command()
def run(
    seed: Annotated[int, typer.Option(help="Drop this many fresh sample scans into the inbox at start")] = 0,
    prefect_server: Annotated[bool, typer.Option(help="Start a local Prefect server with its UI")] = True,
    prefect_port: Annotated[int, typer.Option(help="Port of the local Prefect server")] = 4200,
    until_keyed: Annotated[
        int | None, typer.Option(help="Stop once this many records are keyed (demos, tests)")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    keying: Annotated[bool, typer.Option(help="Key approved records (off: read and route only)")] = True,
    demo_history: Annotated[
        bool | None,
        typer.Option(
            "--demo-history/--no-demo-history",
            help="On the demo, seed weeks of made-up applications into an empty store, once"
            " (default: DEJIRU_DEMO_HISTORY, on)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run everything: Prefect, the demo legacy system, the review UI and the inbox watcher."""
    from core.settings import settings
    from dejiru.runner import Runner

    code = Runner(
        settings(),
        prefect_server=prefect_server,
        prefect_port=prefect_port,
        seed=seed,
        until_keyed=until_keyed,
        timeout=timeout,
        keying=keying,
        demo_history=demo_history,
    ).run()
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default DEJIRU_REVIEW_HOST)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default DEJIRU_REVIEW_PORT)")] = None,
    cert: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM): serve HTTPS with Secure cookies and HSTS")
    ] = None,
    key: Annotated[Path | None, typer.Option(help="TLS private key (PEM) for --cert")] = None,
) -> None:
    """Serve the review UI alone (the many-PC setup: one review server for all reviewers).

    On a network, give it a certificate (--cert/--key): without TLS, passwords and scans cross the
    wire readable by anyone on it."""
    import uvicorn

    from core.settings import settings
    from flows.events import announce_approved
    from pipeline.context import Context
    from review.app import create_app

    if (cert is None) != (key is None):
        raise typer.BadParameter("--cert と --key は両方指定してください / give both --cert and --key")
    for path in (cert, key):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"ファイルがありません / no such file: {path}")
    cfg = settings()
    bind = host or cfg.review_host
    if cert is None and bind not in ("127.0.0.1", "::1", "localhost"):
        typer.echo(
            f"警告: {bind} で暗号化なし（HTTP）で公開しています。--cert/--key で HTTPS にしてください\n"
            f"warning: serving plain HTTP on {bind}: use --cert/--key for HTTPS",
            err=True,
        )
    uvicorn.run(
        create_app(Context.create(cfg), https=cert is not None, on_approved=announce_approved),
        host=bind,
        port=port or cfg.review_port,
        log_level="warning",
        access_log=False,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )


@app.command()
def watch(
    deployment: Annotated[
        str, typer.Option(help="Prefect deployment to submit each file to")
    ] = "process-file/process-file",
) -> None:
    """Watch the inbox and submit each complete file to a Prefect server (the many-PC setup)."""
    from core.settings import settings
    from dejiru import prefect_env

    cfg = settings()
    prefect_env.configure(cfg.home)
    from flows.watch import watch as run_watch

    typer.echo(f"watching {cfg.inbox} → {deployment} (Ctrl-C to stop)")
    run_watch(
        cfg.inbox,
        deployment,
        mode=cfg.watch_mode,
        settle=cfg.watch_settle,
        resubmit_after=cfg.read_lease_minutes * 60,  # a file still there: its worker died before intake
    )


@app.command("prefect-server")
def prefect_server(
    host: Annotated[
        str, typer.Option(help="Address to listen on; beyond loopback needs PREFECT_API_AUTH_STRING")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 4200,
    public_url: Annotated[
        str | None,
        typer.Option(help="Address others open it at, e.g. http://prefect:4200 (default: PREFECT_API_URL)"),
    ] = None,
) -> None:
    """Start the Prefect server for many PCs, locked with an auth string (認証付き Prefect サーバー).

    Refuses to listen beyond loopback without PREFECT_API_AUTH_STRING (or PREFECT_SERVER_API_AUTH_STRING)
    in the environment; allows cross-origin calls from its own address only. Workers and watchers set
    the same PREFECT_API_AUTH_STRING."""
    import os

    from dejiru import prefect_env

    prefect_env.offline_defaults()
    argv, env = prefect_env.server_command(host, port, public_url)
    if not prefect_env.is_loopback(host):
        typer.echo(
            "注意: 認証文字列は HTTP で平文のまま流れます。信頼できる庁内ネットワークか TLS の内側で使ってください\n"
            "note: the auth string crosses the network in clear HTTP: use a trusted network or a TLS proxy",
            err=True,
        )
    sys.stderr.flush()
    os.execve(argv[0], argv, env)  # the server is this process: signals and exit code are its own


def _one_page(path: Path, number: int) -> Any:
    """Page ``number`` (1-based) of a scan, decoded alone after the whole file passed its limits."""
    from ocr.pages import load_page

    found = load_page(path, number - 1)
    if found is None:
        from ocr.pages import check_file

        raise typer.BadParameter(f"ページ {number} はありません / the file has {check_file(path)} page(s)")
    return found.image


@app.command()
def read(
    scan: Annotated[Path, typer.Argument(help="A scan: PDF, TIFF, JPEG or PNG", exists=True, dir_okay=False)],
    form: Annotated[
        str | None, typer.Option(help="Template ID, if known (else identified from the page)")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="ppocrv6-onnx (default) or ppocrv5-paddle")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reading as JSON")] = False,
    overlay: Annotated[
        Path | None, typer.Option(help="Write a picture of the read (zones coloured by confidence)")
    ] = None,
    page: Annotated[int, typer.Option(help="Page number in a multi-page file (1-based)")] = 1,
    show_sensitive: Annotated[
        bool, typer.Option(help="Print 個人番号 and other sensitive fields unmasked")
    ] = False,
) -> None:
    """Read one scan against its template (読み取り). Sensitive fields (個人番号) are masked."""
    from formkit.registry import load_template
    from ocr.reader import read_page
    from validation.routing import validate

    reading, aligned = read_page(_one_page(scan, page), form_id=form, engine=engine)
    tpl = load_template(reading.form)
    decision = validate(tpl, reading)
    if not show_sensitive:
        from validation.checks import masked_reading

        reading = masked_reading(tpl, reading)
    if overlay is not None:
        from ocr.overlay import draw_overlay

        draw_overlay(aligned, reading, overlay)
    if as_json:
        out = reading.as_dict() | {"decision": decision.as_dict()}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{reading.form} v{reading.version}  ({reading.engine}, rotation {reading.rotation}°)")
    for name, f in reading.fields.items():
        flag = "要確認" if f.needs_review else "OK"
        typer.echo(f"  {name:16} {flag:4} {f.confidence:5.2f}  {f.value!r}")


@app.command()
def ocr(
    image: Annotated[
        Path, typer.Argument(help="A scan or photo of any document", exists=True, dir_okay=False)
    ],
    engine: Annotated[str | None, typer.Option(help="ppocrv6-onnx (default) or ppocrv5-paddle")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print lines as JSON")] = False,
    page: Annotated[int, typer.Option(help="Page number (1-based)")] = 1,
) -> None:
    """Full-page OCR without a template: detected lines, boxes and confidences."""
    from ocr.fullpage import read_full_page

    lines = read_full_page(_one_page(image, page), engine=engine)
    if as_json:
        typer.echo(json.dumps({"lines": [ln.as_dict() for ln in lines]}, ensure_ascii=False, indent=2))
    else:
        for ln in lines:
            typer.echo(f"{ln.confidence:5.2f}  {ln.text}")


@template_app.command("list")
def template_list() -> None:
    """List installed templates."""
    from formkit.registry import all_templates

    for t in all_templates():
        code = f"code {t.code:5}" if t.code is not None else f"{t.kind:10}"
        typer.echo(f"{t.id:24} v{t.version}  {code}  {t.title}")


@template_app.command("show")
def template_show(
    form_id: Annotated[str, typer.Argument(help="Template ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Page size and every field with its type, label and box (mm)."""
    from formkit.registry import load_template

    t = load_template(form_id)
    data: dict[str, Any] = {
        "id": t.id,
        "version": t.version,
        "code": t.code,
        "title": t.title,
        "page": {"width_mm": t.page.width_mm, "height_mm": t.page.height_mm},
        "fields": [
            {
                "name": f.name,
                "type": f.type,
                "label": f.label,
                "label_en": f.label_en,
                "box": f.box.as_list(),
                "required": f.required,
                **({"options": [o.value for o in f.options]} if f.options else {}),
                **({"cells": f.cells} if f.cells else {}),
            }
            for f in t.fields
        ],
    }
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"{t.title} ({t.id} v{t.version}), {t.page.width_mm}×{t.page.height_mm} mm")
        for f in data["fields"]:
            typer.echo(f"  {f['name']:16} {f['type']:10} {f['label']:14} {f['box']}")


@template_app.command("render")
def template_render(
    form_id: Annotated[str, typer.Argument(help="Template ID")],
    out: Annotated[Path, typer.Option(help="Output PDF")] = Path("form.pdf"),
    example: Annotated[
        bool,
        typer.Option(
            "--example", help="The 記入例 sheet instead: filled in by a made-up applicant, stamped 記入例"
        ),
    ] = False,
) -> None:
    """Print the blank form as a PDF (registration marks, form-ID code, drop-out colour boxes)."""
    from formkit.registry import load_template
    from formkit.render import render_pdf
    from synth.samples import example_pdf

    tpl = load_template(form_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(example_pdf(tpl) if example else render_pdf(tpl))
    typer.echo(str(out))


_LEVEL_JA = {"error": "エラー", "warning": "警告"}


@template_app.command("check")
def template_check(
    forms: Annotated[
        list[str] | None,
        typer.Argument(help="Template IDs or template.yaml paths (default: every installed template)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON")] = False,
) -> None:
    """Check templates before printing: boxes, rules, bot mapping (点検). Exits 1 if any error."""
    from authoring.lint import has_errors, lint_file, template_file
    from formkit.registry import template_ids

    results: dict[str, list[dict[str, str | None]]] = {}
    failed = False
    for ref in forms or template_ids():
        path = template_file(ref)
        _, findings = lint_file(path)
        failed = failed or has_errors(findings)
        results[ref] = [f.as_dict() for f in findings]
        if as_json:
            continue
        n_err = sum(f.is_error for f in findings)
        n_warn = len(findings) - n_err
        verdict = "NG" if n_err else "OK"
        typer.echo(
            f"{ref}: {verdict}（エラー {n_err}、警告 {n_warn}） / {n_err} error(s), {n_warn} warning(s)"
        )
        for f in findings:
            typer.echo(f"  {_LEVEL_JA[f.level]} [{f.code}] {f.ja}\n      {f.level}: {f.en}")
            if f.detail:
                typer.echo(f"      ({f.detail})")
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
    if failed:
        raise typer.Exit(1)


@template_app.command("fill")
def template_fill(
    form_id: Annotated[str, typer.Argument(help="Template ID")],
    data: Annotated[
        Path,
        typer.Option(
            help="JSON of field values, as in a sample's ground truth (dates YYYY-MM-DD, options by value)",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output PDF")] = Path("filled.pdf"),
) -> None:
    """Print a pre-filled form: the values typed onto the blank form, as a PDF (記入済み様式)."""
    from core.errors import FieldInvalid
    from formkit.kinds import Shape
    from formkit.registry import load_template
    from synth.fill import filled_pdf, parse_values

    tpl = load_template(form_id)
    try:
        raw = json.loads(data.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FieldInvalid(
            f"{data.name} はJSONとして読めません", f"{data.name} is not valid JSON", detail=str(exc)
        ) from exc
    values = parse_values(tpl, raw)
    # Only the applicant signs: a printed name in the signature box would pass for a signature.
    unsigned = [f.name for f in tpl.fields if f.kind.shape is Shape.SIGNATURE and values.pop(f.name, None)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(filled_pdf(tpl, values))
    if unsigned:
        typer.echo(f"署名欄は空けてあります（{', '.join(unsigned)}） / signature fields left blank to sign")
    typer.echo(str(out))


@template_app.command("try")
def template_try(
    form_id: Annotated[str, typer.Argument(help="Template ID, or the path of a template.yaml being written")],
    scans: Annotated[
        list[Path],
        typer.Argument(help="Scans: PDF (every page), TIFF, JPEG or PNG", exists=True, dir_okay=False),
    ],
    out: Annotated[Path, typer.Option(help="HTML report to write")] = Path("try.html"),
    engine: Annotated[str | None, typer.Option(help="ppocrv6-onnx (default) or ppocrv5-paddle")] = None,
) -> None:
    """Read scans with a template and write one HTML report: picture, values and checks per page (試し読み)."""
    from authoring.lint import load_file, template_file
    from authoring.trial import write_tryout
    from core import progress

    tpl = load_file(template_file(form_id))
    with progress.shown():
        pages = write_tryout(tpl, scans, out, engine=engine)
    for p in pages:
        typer.echo(f"  {p.source} p.{p.page}: {p.status[1]}")
    typer.echo(str(out))


@template_app.command("new")
def template_new(
    form_id: Annotated[str, typer.Argument(help="ID of the new template (lower-case letters, digits, _)")],
    source: Annotated[
        Path,
        typer.Option(
            "--from", help="The blank form: PDF or image (PNG, JPEG, TIFF)", exists=True, dir_okay=False
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="template.yaml to write (default: form_templates/ID/template.yaml)")
    ] = None,
    page: Annotated[int, typer.Option(help="Page of a multi-page file (1-based)")] = 1,
    continues: Annotated[
        str | None,
        typer.Option(help="A further page: the template of the page before (one document for all pages)"),
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Form title (default: the largest text at the top)")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="ppocrv6-onnx (default) or ppocrv5-paddle")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing template.yaml")] = False,
) -> None:
    """Propose a legacy template from a blank form: its ruled cells, their labels, a guessed type (下書き)."""
    import re

    from authoring import propose
    from formkit.registry import parse_template, template_path

    if not re.fullmatch(r"[a-z][a-z0-9_]*", form_id):
        raise typer.BadParameter("the ID is lower-case letters, digits and _ (例: juminhyo_request)")
    path = out or template_path(form_id)
    if path.exists() and not force:
        typer.echo(
            f"エラー: {path} はもうあります（--force で上書き）\nerror: {path} exists (--force to overwrite)",
            err=True,
        )
        raise typer.Exit(2)
    taken: set[str] = set()
    if continues:  # names the application's other pages use (TemplateError: no such form, exit 5)
        from formkit.model import page_chain
        from formkit.registry import all_templates, load_template

        first = load_template(continues)
        taken = {f.name for t in page_chain(first, all_templates()) for f in t.fields}
    from core import progress

    # Steps, not items: reading the printed text is most of the time, the bar shows which step runs.
    with progress.shown(), progress.task("様式の下書き / drafting the template", total=3) as step:
        image, page_mm = propose.load_blank(source, page)
        step.advance()
        texts = propose.read_texts(image, propose.BLANK_PX_PER_MM, engine)
        step.advance()
        gray = propose.to_gray(image)
        fields = propose.renamed(propose.propose(gray, propose.BLANK_PX_PER_MM, texts), taken, f"_p{page}")
        master = propose.save_master(source, path.parent, page)
        cells = propose.ruled_cells(gray, propose.BLANK_PX_PER_MM)
        step.advance()
    text = propose.to_yaml(
        form_id,
        title or propose.guess_title(texts, page_mm, cells),
        master,
        fields,
        source=source.name,
        page_mm=(round(page_mm[0], 1), round(page_mm[1], 1)),
        continues=continues,
    )
    parse_template(text, str(path))  # the draft must load as it is
    path.write_text(text, encoding="utf-8")
    typer.echo(f"{len(fields)} 項目を提案しました / {len(fields)} field(s) proposed: {path}")
    for f in fields:
        extra = f" cells={f.cells}" if f.cells else ""
        extra += f" options={len(f.options)}" if f.options else ""
        typer.echo(f"  {f.name:22} {f.type:10} {f.label[:18]:18} {f.box.as_list()}{extra}")
    typer.echo(
        "次に: 項目名・種類・枠を原本と見比べて直し、`dejiru template check` と `dejiru samples` で確かめる\n"
        "next: fix names, types and boxes against the master, then `dejiru template check` and `dejiru samples`"
    )


@template_app.command("redesign")
def template_redesign(
    form_id: Annotated[str, typer.Argument(help="ID of the legacy template to redesign")],
    new_id: Annotated[
        str | None, typer.Option("--new-id", help="ID of the new template (default: ID_ocr)")
    ] = None,
    code: Annotated[
        int | None, typer.Option(help="Form-ID code to print (default: the lowest one not in use)")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing template.yaml")] = False,
) -> None:
    """様式の見直し: an OCR-friendly form with the same fields, rules and target as a legacy one."""
    from authoring.redesign import next_code, redesign, to_yaml
    from formkit.registry import all_templates, load_template, parse_template, template_path
    from formkit.render import render_pdf

    new = new_id or f"{form_id}_ocr"
    path = template_path(new)
    if path.exists() and not force:
        typer.echo(
            f"エラー: {path} はもうあります（--force で上書き）\nerror: {path} exists (--force to overwrite)",
            err=True,
        )
        raise typer.Exit(2)
    others = [t for t in all_templates() if t.id != new]
    if code is not None and any(t.code == code for t in others):
        typer.echo(f"エラー: 様式ID {code} は使われています\nerror: form-ID code {code} is taken", err=True)
        raise typer.Exit(2)
    tpl, notes = redesign(load_template(form_id), new, code or next_code(others))
    text = to_yaml(tpl)
    parse_template(text, str(path))  # what is written loads as it is
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    pdf = path.parent / "form.pdf"
    pdf.write_bytes(render_pdf(tpl))
    typer.echo(
        f"{form_id} を見直しました（様式ID {tpl.code}、{len(tpl.fields)} 項目）: {path}\n"
        f"redesigned {form_id} (form-ID code {tpl.code}, {len(tpl.fields)} fields): {path}\n"
        f"印刷用 / to print: {pdf}"
    )
    for note in notes:
        typer.echo(f"  {note}")


@app.command()
def samples(
    form: Annotated[str, typer.Option(help="Template ID")],
    count: Annotated[int, typer.Option(help="How many")] = 5,
    out: Annotated[Path, typer.Option(help="Output folder")] = Path("samples"),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same samples)")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="pdf, png, jpg or mixed")] = "mixed",
    font: Annotated[
        str | None, typer.Option(help="ipag, ipam, klee, seto or kiloji (default: random)")
    ] = None,
    profile: Annotated[str, typer.Option(help="Scan defects: clean, office or harsh")] = "office",
) -> None:
    """Filled, scan-degraded sample scans, each with a ground-truth JSON."""
    from core import progress
    from formkit.registry import load_template
    from synth.samples import write_samples

    tpl = load_template(form)
    with progress.shown():
        made = write_samples(tpl, out, count, seed=seed, fmt=fmt, font=font, profile=profile)
    for s in made:
        typer.echo(f"{s.path}  {s.truth_path.name}")


@app.command()
def key(target: Annotated[str, typer.Option(help="Target system")] = "demo_legacy") -> None:
    """Key every approved document into its target system once, then stop."""
    from core.settings import settings
    from dejiru import prefect_env

    prefect_env.configure(settings().home)
    from flows.keying import ACQUIRE_TIMEOUT_SECONDS, key_approved, reset_limit
    from flows.runtime import close_bots

    if not os.environ.get("PREFECT_API_URL"):
        # Prefect's embedded API starts and ends with this command and never expires a lease: a slot
        # left by a `dejiru key` killed mid-batch would block every later one. Alone on its API, this
        # command frees it; jobs the killed one left RUNNING are keyed again (the bot looks for the
        # record's reference in the target first, so nothing is keyed twice).
        reset_limit(target)
    try:
        from core import progress

        # Run by a person: wait for the slot as long as a killed holder's lease takes to run out.
        with progress.shown():
            counts = key_approved(target, slot_wait_seconds=ACQUIRE_TIMEOUT_SECONDS)
        typer.echo(json.dumps(counts, ensure_ascii=False))
    finally:
        close_bots()


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[
        str, typer.Option(help="staff, counter, reviewer, supervisor, author or admin")
    ] = "reviewer",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input")] = False,
    one_time: Annotated[
        bool,
        typer.Option(help="Make a one-time password, print it once; it must be changed at first login"),
    ] = False,
) -> None:
    """Add (or reset) a review UI account; the password is asked for, never given on the command line.

    Resetting an existing account ends its sessions and enables it again."""
    from pipeline.context import Context
    from review.auth import ROLES, check_password, hash_password, one_time_password

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    if one_time:
        password = one_time_password()
    else:
        password = (
            sys.stdin.readline().rstrip("\n")
            if password_stdin
            else typer.prompt("パスワード / password", hide_input=True, confirmation_prompt=True)
        )
        check_password(password, username)  # WeakPassword: a validation error, exit 6
    ctx = Context.create()
    existed = ctx.store.user(username, include_disabled=True) is not None
    with ctx.store.unit() as uow:  # the account and its audit line, or neither
        uow.add_user(username, hash_password(password), role, must_change_password=one_time)
        uow.audit("cli", "user.reset" if existed else "user.add", detail=f"{username} ({role})")
    typer.echo(f"{username} ({role})")
    if one_time:
        typer.echo(
            f"仮パスワード / one-time password: {password}  (初回ログインで変更 / change at first login)"
        )


def _set_active(username: str, active: bool) -> None:
    from pipeline.context import Context

    ctx = Context.create()
    with ctx.store.unit() as uow:
        found = uow.set_active(username, active)
        if found:
            uow.audit("cli", "user.enable" if active else "user.disable", detail=username)
    if not found:
        typer.echo(f"エラー: ユーザー {username} はいません\nerror: no user {username}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"{username}: {'有効 / enabled' if active else '無効（ログイン中の画面も終了） / disabled, sessions ended'}"
    )


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Disable an account: it cannot log in, and its open sessions end at once."""
    _set_active(username, False)


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Enable a disabled account again (its old password stays; reset it with `user add --one-time`)."""
    _set_active(username, True)


@user_app.command("list")
def user_list() -> None:
    """Accounts, roles, and whether each is enabled."""
    from pipeline.context import Context

    for u in Context.create().store.users():
        state = "有効 / enabled" if u.active else "無効 / disabled"
        extra = "  仮パスワード / one-time password" if u.must_change_password else ""
        typer.echo(f"{u.username:20} {u.role:10} {state}{extra}")


def _refuse_holdout(found: list[str]) -> None:
    """Thresholds fitted on HOLDOUT material would make the bench's never-tuned figures a lie."""
    if found:
        typer.echo(
            "!!! 較正に評価専用（HOLDOUT）の素材は使えません / refusing to calibrate on HOLDOUT material: "
            + "; ".join(found)
            + "\n    HOLDOUT is only ever measured (make bench); see synth/splits.py",
            err=True,
        )
        raise typer.Exit(2)


def _tune_templates(forms: str | None, samples: int, seed: int, from_labels: Path | None) -> list[Any]:
    """The forms calibration may read (never a held-out one), after refusing any HOLDOUT material:
    held-out forms, seeds outside TUNE's range, a bench label file written on HOLDOUT pages."""
    from formkit.registry import all_templates, load_template
    from synth.splits import HOLDOUT_ONLY_FORMS, TUNE, holdout_material

    found: list[str] = []
    wanted = [f.strip() for f in forms.split(",") if f.strip()] if forms else []
    found += holdout_material(forms=wanted, seeds=range(seed, seed + samples) if samples else None)
    if samples and not (seed in TUNE.seeds and seed + samples - 1 in TUNE.seeds):
        found.append(
            f"seeds {seed}-{seed + samples - 1} are not all in TUNE's {TUNE.seeds.start}-{TUNE.seeds.stop - 1}"
        )
    if from_labels is not None and from_labels.exists():
        with from_labels.open(encoding="utf-8") as fh:
            first = fh.readline()
        if '"split"' in first and '"tune"' not in first:
            found.append(f"{from_labels} was labelled on {first.strip()[:80]}")
    _refuse_holdout(found)
    if wanted:
        return [load_template(f) for f in wanted]
    return [t for t in all_templates() if t.id not in HOLDOUT_ONLY_FORMS]


@app.command()
def calibrate(
    samples: Annotated[int, typer.Option(help="Generate and read this many labelled sample pages")] = 0,
    from_store: Annotated[
        bool,
        typer.Option(
            help="Learn from production: fields keyed blind in audit checks (抜き取り検査), weighted for "
            "all confident fields, and the doubtful fields reviewers decided"
        ),
    ] = False,
    target: Annotated[float, typer.Option(help="Silent-error rate to stay within, per field type")] = 0.001,
    seed: Annotated[
        int,
        typer.Option(
            help="First sample seed; the pages must lie in the TUNE split's seeds (5,000,000-5,999,999)"
        ),
    ] = 5_000_000,
    forms: Annotated[
        str | None,
        typer.Option(help="Comma-separated forms to generate (default: every form but the held-out ones)"),
    ] = None,
    engine: Annotated[str | None, typer.Option(help="OCR engine to calibrate")] = None,
    per_type: Annotated[
        bool, typer.Option(help="Hold every field type to the target (default: all fields)")
    ] = False,
    labels: Annotated[
        Path | None, typer.Option(help="Also save the labelled readings here (JSON lines)")
    ] = None,
    from_labels: Annotated[Path | None, typer.Option(help="Use labelled readings saved earlier")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write (default: DEJIRU_HOME/thresholds.json)")
    ] = None,
) -> None:
    """Set review thresholds per field type to meet a silent-error target; prints the curve."""
    from core import progress
    from core.settings import settings
    from pipeline.calibrate import from_samples
    from pipeline.calibrate import from_store as store_labels
    from pipeline.context import Context
    from validation import calibration

    if not samples and not from_store and not from_labels:
        raise typer.BadParameter("give --samples N, --from-store or --from-labels FILE")
    items: list[calibration.Labelled] = []
    sources: list[str] = []
    if samples:
        templates = _tune_templates(forms, samples, seed, from_labels)
        with progress.shown():
            items += list(from_samples(templates, samples, seed, engine))
        sources.append(
            f"{samples} generated pages of the TUNE split from seed {seed} "
            f"({', '.join(t.id for t in templates)})"
        )
    elif from_labels:
        _tune_templates(None, 0, seed, from_labels)
    if from_store:
        ctx = Context.create()
        found = list(store_labels(ctx))
        if not found:
            typer.echo(
                "抜き取り検査の結果がまだないため、業務データからは学習できません（DEJIRU_AUDIT_SHARE）\n"
                "no audit checks yet: nothing to learn from production (DEJIRU_AUDIT_SHARE)",
                err=True,
            )
            raise typer.Exit(1)
        audited = len(ctx.store.audit_labels())
        items += found
        sources.append(
            f"production: {audited} audited fields (weighted), {len(found) - audited} decided doubtful fields"
        )
    if from_labels:
        items += calibration.load_labels(from_labels)
        sources.append(str(from_labels))
    if labels:
        calibration.save_labels(items, labels)
    result = calibration.calibrate(items, target, per_type=per_type)
    path = out or settings().home / "thresholds.json"
    calibration.write(result, path, target, "; ".join(sources))
    typer.echo(calibration.table(result))
    typer.echo("\nstraight-through / silent-error curve (threshold: ST%, silent%):")
    for ftype, pts in result["curves"].items():
        shown = ", ".join(
            f"{t:.2f}: {100 * st:.0f}%/{100 * si:.2f}%" for t, st, si in pts[:: max(1, len(pts) // 6)]
        )
        typer.echo(f"  {ftype:12} {shown}")
    typer.echo(f"\nwritten: {path}")


@app.command()
def doctor() -> None:
    """Check this PC can work offline (models, fonts, Chromium) and show every setting in effect (点検)."""
    from dejiru.doctor import main as check

    raise typer.Exit(check())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema (safe to repeat)."""
    from core.settings import settings
    from records.db import migrate

    migrate(settings().database_url)
    typer.echo("ok")


if __name__ == "__main__":
    app()

"""``dejiru flow new NAME``: a DX leader's own Prefect flow, scaffolded from dejiru's tasks.

Writes ``flows/<name>.py`` (a short flow with a docstring that says what to edit) and appends a
deployment for it to ``prefect.yaml`` in the same style as the entries already there. Refuses a name
that is not a plain Python module name, that would shadow a package, or that is already taken.
"""

from __future__ import annotations

import keyword
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from core.errors import FlowNameError
from dejiru.cli_errors import DejiruGroup

flow_app = typer.Typer(
    cls=DejiruGroup, help="Prefect flows: scaffold your own (フロー)", no_args_is_help=True
)

REPO = Path(__file__).resolve().parent.parent
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
KINDS = ("inbox", "summary")
#: Module names a flow file must not take: Prefect workers put flows/ on sys.path, and a flow module
#: named like a package (``intake.py``) shadows that package for every flow in the worker.
RESERVED = {
    "bench",
    "bots",
    "dejiru",
    "demo",
    "flows",
    "form_templates",
    "formkit",
    "intake",
    "ocr",
    "pipeline",
    "records",
    "review",
    "scripts",
    "tests",
    "validation",
    "prefect",
    "runtime",
    "test",
}


_INBOX = '''"""{title}

Made by ``dejiru flow new {name}``. Takes every complete file in the inbox, reads it, and keys the
approved documents of one form into its target system. Documents that need a person wait in the review
UI as usual; the next run keys them once they are approved.

What to edit; then run it once on this PC (``python -m flows.{name}``) or deploy it
(``prefect deploy -n {deploy}``):

* ``FORM_ID``: the form whose approved documents this flow keys (a folder in ``form_templates/``).
  Files of other forms in the inbox are still read and routed; they are keyed by their own flows.
* ``TARGET``: the system the keying bot types into (``bots/mappings/<TARGET>.yaml``).
* ``INBOX``: a folder of its own for this form (e.g. a scanner profile that saves there), or None for
  the inbox in dejiru's settings.
* How often it runs: ``schedules`` of the deployment ``{deploy}`` in ``prefect.yaml``, not here.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows.keying import key_documents
from flows.process import intake_task, read_task
from flows.runtime import context
from intake.files import is_partial_name
from pipeline.keying import approved_documents

FORM_ID = "{form}"
TARGET = "{target}"
INBOX: str | None = None


@flow(name="{deploy}", log_prints=False)
def {name}(
    form_id: str = FORM_ID,
    target: str = TARGET,
    inbox: str | None = INBOX,
) -> dict[str, int]:
    """Read what is in the inbox, then key the approved ``form_id`` documents into ``target``."""
    ctx = context()
    folder = Path(inbox) if inbox else ctx.settings.inbox
    counts: dict[str, int] = {{}}
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    for path in files:
        if not path.is_file() or is_partial_name(path):
            continue  # still being copied in
        outcome, doc_id = intake_task(str(path))
        if outcome == "accepted" and doc_id is not None:
            outcome = read_task(doc_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    mine = [d for d in approved_documents(ctx, target) if ctx.store.document(d).form_id == form_id]
    for status, n in key_documents(mine, target).items():  # one browser slot; failures to a person
        counts[f"keying_{{status}}"] = n
    get_run_logger().info("{deploy}: %s", counts)
    return counts


if __name__ == "__main__":
    print({name}())
'''

_SUMMARY = '''"""{title}

Made by ``dejiru flow new {name} --kind summary``. Counts one form's documents of the last days by
status (received, waiting for review, approved, keyed, rejected…) and the open exceptions, and writes
them to the flow's log, where the Prefect UI shows them.

What to edit; then run it once on this PC (``python -m flows.{name}``) or deploy it
(``prefect deploy -n {deploy}``):

* ``FORM_ID``: the form to count (a folder in ``form_templates/``), or None for every form.
* ``DAYS``: how far back to count.
* To send the figures somewhere (a mail, a shared folder), add it at the end of the flow, as your IT
  department's rules allow: the machine has no internet.
* When it runs: ``schedules`` of the deployment ``{deploy}`` in ``prefect.yaml`` (cron, Asia/Tokyo).
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger

from flows.runtime import context

FORM_ID: str | None = "{form}"
DAYS = 1


@flow(name="{deploy}", log_prints=False)
def {name}(
    form_id: str | None = FORM_ID,
    days: int = DAYS,
) -> dict[str, int]:
    """Documents of ``form_id`` received in the last ``days`` days, by status, and the open exceptions."""
    ctx = context()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    counts: dict[str, int] = {{}}
    for doc in ctx.store.documents(form_id=form_id, since=since, limit=100_000):
        counts[str(doc.status)] = counts.get(str(doc.status), 0) + 1
    counts["open_exceptions"] = len(ctx.store.exceptions())
    get_run_logger().info("{deploy} (%s, last %s days): %s", form_id or "all forms", days, counts)
    return counts


if __name__ == "__main__":
    print({name}())
'''

#: The schedule of each kind of flow, as prefect.yaml writes it.
_SCHEDULE: dict[str, dict[str, Any]] = {
    "inbox": {"interval": 300, "active": True},
    "summary": {"cron": "0 8 * * *", "timezone": "Asia/Tokyo"},
}

_DESCRIPTION = {
    "inbox": "Read the inbox and key approved {form} documents into {target} (made by dejiru flow new).",
    "summary": "Daily counts for {form} (made by dejiru flow new).",
}


def check_name(name: str, project: Path) -> None:
    """Refuse a name that is not a plain module name, would shadow a package, or is already used."""
    if not NAME_RE.match(name) or keyword.iskeyword(name):
        raise FlowNameError(
            f"フロー名 {name!r} は使えません。半角英小文字で始め、英小文字・数字・_ だけで2〜40文字にしてください（例 juminhyo_daily）",
            f"flow name {name!r} is invalid: lower-case letters, digits and _, starting with a letter, 2-40 long",
        )
    if name in RESERVED or name in sys.stdlib_module_names or name.startswith("test"):
        raise FlowNameError(
            f"フロー名 {name} は、同じ名前のパッケージやモジュールと紛らわしいため使えません。別の名前にしてください",
            f"flow name {name} would shadow a package or module of the same name: choose another",
        )
    if (project / "flows" / f"{name}.py").exists():
        raise FlowNameError(
            f"flows/{name}.py はもうあります。別の名前にするか、そのファイルを直接編集してください",
            f"flows/{name}.py already exists: choose another name or edit that file",
        )
    deploy = name.replace("_", "-")
    for entry in _deployments(project):
        if entry.get("name") in (name, deploy) or str(entry.get("entrypoint", "")).startswith(
            f"flows/{name}.py:"
        ):
            raise FlowNameError(
                f"prefect.yaml にデプロイ {entry.get('name')} がもうあります。別の名前にしてください",
                f"prefect.yaml already has a deployment {entry.get('name')}: choose another name",
            )


def check_form(form: str, target: str) -> None:
    from formkit.registry import template_ids

    forms = template_ids()
    if form not in forms:
        raise FlowNameError(
            f"様式 {form} はありません（あるもの: {', '.join(forms)}）",
            f"no form template {form} (installed: {', '.join(forms)})",
        )
    if not re.match(r"^[a-z][a-z0-9_]*$", target):
        raise FlowNameError(
            f"入力先 {target!r} は英小文字・数字・_ の名前です（bots/mappings/<名前>.yaml）",
            f"target {target!r} must be a name of lower-case letters, digits and _",
        )


def _deployments(project: Path) -> list[dict]:
    path = project / "prefect.yaml"
    if not path.is_file():
        raise FlowNameError(
            f"{path} がありません（--project にリポジトリのフォルダーを指定してください）",
            f"{path} not found (give the repository folder with --project)",
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [d for d in data.get("deployments") or [] if isinstance(d, dict)]


def deployment_entry(kind: str, name: str, description: str) -> str:
    """The deployment of flow ``name`` as one item of prefect.yaml's ``deployments:`` list, written by
    the one YAML writer (formkit.yamlio), so a description with ``: `` or ``#`` stays one string."""
    from formkit import yamlio

    schedule = yamlio.block_map(_SCHEDULE[kind])
    if "cron" in schedule:
        schedule["cron"] = yamlio.quoted(schedule["cron"])  # like the entries already there
    entry = yamlio.block_map(
        {
            "name": name.replace("_", "-"),
            "entrypoint": f"flows/{name}.py:{name}",
            "description": description,
            "work_pool": yamlio.block_map({"name": "dejiru-pool"}),
            "schedules": [schedule],
        }
    )
    return yamlio.dump([entry])


def add_deployment(text: str, entry: str) -> str:
    """``prefect.yaml`` with ``entry`` appended to its ``deployments:`` list, the rest untouched."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "deployments:"), None)
    if start is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}\ndeployments:\n{entry}"
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()),
        len(lines),
    )
    while end > start + 1 and not lines[end - 1].strip():  # blank lines stay after the new entry
        end -= 1
    if end > 0 and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    return "".join(lines[:end]) + entry + "".join(lines[end:])


def scaffold(name: str, project: Path, kind: str, form: str, target: str) -> tuple[Path, Path]:
    """Write ``flows/<name>.py`` and its deployment; returns both paths. Nothing is written on error."""
    if kind not in KINDS:
        raise FlowNameError(f"--kind は {' / '.join(KINDS)} のどれかです", f"--kind must be one of {KINDS}")
    check_name(name, project)
    check_form(form, target)
    deploy = name.replace("_", "-")
    fmt = {"name": name, "deploy": deploy, "form": form, "target": target}
    title = {
        "inbox": f"{form}: inbox → read → key approved into {target}.",
        "summary": f"{form}: a daily summary for the DX office.",
    }[kind]
    source = (_INBOX if kind == "inbox" else _SUMMARY).format(title=title, **fmt)
    compile(source, f"flows/{name}.py", "exec")
    entry = deployment_entry(kind, name, _DESCRIPTION[kind].format(**fmt))
    yaml_path = project / "prefect.yaml"
    new_yaml = add_deployment(yaml_path.read_text(encoding="utf-8"), entry)
    parsed = yaml.safe_load(new_yaml)
    if not any(d.get("name") == deploy for d in parsed.get("deployments") or []):
        raise FlowNameError(
            "prefect.yaml に追記できませんでした", "could not add the deployment to prefect.yaml"
        )
    flow_path = project / "flows" / f"{name}.py"
    flow_path.parent.mkdir(parents=True, exist_ok=True)
    flow_path.write_text(source, encoding="utf-8")
    try:
        tmp = yaml_path.with_name(f".{yaml_path.name}.new")
        tmp.write_text(new_yaml, encoding="utf-8")
        tmp.replace(yaml_path)
    except OSError:
        flow_path.unlink(missing_ok=True)
        raise
    return flow_path, yaml_path


@flow_app.command("new")
def flow_new(
    name: Annotated[
        str, typer.Argument(help="Module and flow name, e.g. juminhyo_daily (英小文字・数字・_)")
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="inbox: read the inbox and key one form's approved documents; summary: daily counts"
        ),
    ] = "inbox",
    form: Annotated[
        str, typer.Option(help="The form the flow is about (form_templates/FORM)")
    ] = "juminhyo_request",
    target: Annotated[
        str, typer.Option(help="Target system for keying (bots/mappings/TARGET.yaml)")
    ] = "demo_legacy",
    project: Annotated[Path, typer.Option(help="The repository folder (flows/ and prefect.yaml)")] = REPO,
) -> None:
    """Scaffold flows/NAME.py from dejiru's tasks and add its deployment to prefect.yaml."""
    flow_path, yaml_path = scaffold(name, project, kind, form, target)  # FlowNameError: exit 6
    deploy = name.replace("_", "-")
    typer.echo(f"作成しました / created: {flow_path}")
    typer.echo(f"デプロイを追加しました / deployment added: {deploy} ({yaml_path})")
    typer.echo(
        f"次に / next: edit {flow_path.name} (its docstring says what), then `prefect deploy -n {deploy}`"
    )

"""A record that goes into two systems: each keyed exactly once with its own ledger, and the document
KEYED only once both have it.

住民票 requests are made to go into the demo legacy system and into a second one (another instance of
it, as a city's second system would be), through the real `dejiru key` for each target.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.mapping import MAPPINGS_DIR
from demo.legacy.app import Faults, make_app
from form_templates import TEMPLATES_DIR
from formkit.registry import load_template
from records.models import DocStatus, KeyStatus
from records.store import Store
from tests.conftest import ServerThread, free_port, run_key
from tests.legacy_rows import rows
from tests.test_keying_faults import approved, approved_document

FORM = "juminhyo_request"


@pytest.fixture
def two_systems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Templates and mappings where the 住民票 request is keyed into demo_legacy and demo_legacy_b."""
    templates, mappings = tmp_path / "form_templates", tmp_path / "mappings"
    shutil.copytree(TEMPLATES_DIR, templates, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    shutil.copytree(MAPPINGS_DIR, mappings)
    path = templates / FORM / "template.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("target", None)
    data["targets"] = ["demo_legacy", "demo_legacy_b"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    second = yaml.safe_load((mappings / "demo_legacy.yaml").read_text(encoding="utf-8"))
    second |= {
        "system": "demo_legacy_b",
        "title": "第二システム（デモ）",
        "base_url_env": "SECOND_SYSTEM_URL",
    }
    (mappings / "demo_legacy_b.yaml").write_text(yaml.safe_dump(second, allow_unicode=True), encoding="utf-8")
    for name, folder in (("DEJIRU_TEMPLATES_DIR", templates), ("DEJIRU_MAPPINGS_DIR", mappings)):
        monkeypatch.setenv(name, str(folder))
    return tmp_path


def test_a_template_names_its_targets_once_each(two_systems: Path) -> None:
    from authoring.lint import lint_template
    from formkit.model import Template

    tpl = load_template(FORM)
    assert tpl.keyed_into == ["demo_legacy", "demo_legacy_b"] and tpl.target == "demo_legacy"
    assert not [f for f in lint_template(tpl) if f.is_error]
    with pytest.raises(ValueError, match="each system once"):
        Template.model_validate(tpl.model_dump() | {"targets": ["demo_legacy", "demo_legacy"]})


@pytest.mark.slow
def test_each_target_gets_the_record_once_and_the_document_is_keyed_after_both(
    two_systems: Path, legacy: Any
) -> None:
    tmp_path = two_systems
    home = tmp_path / "var"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'dejiru.db'}").init()
    docs = [approved(store, i)[0] for i in (0, 2)]
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    env |= {
        "DEJIRU_HOME": str(home),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DEJIRU_LEGACY_URL": legacy.url,
    }
    with ServerThread(make_app(tmp_path / "b.db", Faults()), free_port()) as second:
        env["SECOND_SYSTEM_URL"] = second.url
        assert run_key(env, "--target", "demo_legacy") == {"done": 2}
        # In the first system, not yet in the second: still approved, waiting for it.
        assert all(store.document(d).status == DocStatus.APPROVED for d in docs)
        assert len(rows(legacy.db)) == 2 and rows(tmp_path / "b.db") == []
        assert run_key(env, "--target", "demo_legacy") == {}  # nothing left for the first

        assert run_key(env, "--target", "demo_legacy_b") == {"done": 2}
        assert all(store.document(d).status == DocStatus.KEYED for d in docs)
        assert run_key(env, "--target", "demo_legacy_b") == {}
        first, second_rows = rows(legacy.db), rows(tmp_path / "b.db")
    assert (
        sorted(r["ref"] for r in first)
        == sorted(r["ref"] for r in second_rows)
        == [f"DJ{d:08d}" for d in sorted(docs)]
    )
    for d in docs:
        jobs = {j.target: j for j in store.keying_jobs(d)}
        assert set(jobs) == {"demo_legacy", "demo_legacy_b"}
        assert all(j.status == KeyStatus.DONE and j.receipt for j in jobs.values())
        events = [e.action for e in store.audit_events(d)]
        assert events.count("keying.done") == 2


def test_two_targets_finishing_at_once_are_marked_keyed_later(two_systems: Path, ctx: Any) -> None:
    """On PostgreSQL two keyers can each see the other's record still running and leave the document
    approved with both done: the next keying run of either marks it, without keying again."""
    from pipeline.keying import approved_documents, key_document

    doc_id, _ = approved(ctx.store, 0)
    for target in ("demo_legacy", "demo_legacy_b"):
        job = ctx.store.keying_job(doc_id, target)
        assert job.id is not None
        ctx.store.update_job(job.id, status=KeyStatus.DONE, receipt=f"R-{target}")
    assert approved_documents(ctx, "demo_legacy_b") == [doc_id]

    class NeverCalled:
        def key(self, *a: Any) -> Any:
            raise AssertionError("keyed twice")

        def restart(self) -> None:
            pass

    assert key_document(ctx, doc_id, NeverCalled(), "demo_legacy_b") == KeyStatus.DONE
    assert ctx.store.document(doc_id).status == DocStatus.KEYED
    assert approved_documents(ctx, "demo_legacy") == []


@pytest.mark.slow
def test_a_record_goes_to_a_screen_and_to_an_import_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy: Any
) -> None:
    """The dog registration keyed into the demo system's screens and, as a fixed-width Shift_JIS file,
    into its batch importer: `dejiru key` for each, the importer's receipt in the ledger, once each."""
    import random

    from demo.legacy.importer import Importer
    from synth.samples import sample_values

    templates = tmp_path / "form_templates"
    shutil.copytree(TEMPLATES_DIR, templates, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    path = templates / "inu_touroku" / "template.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("target", None)
    data["targets"] = ["demo_legacy", "demo_import"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(templates))
    tpl = load_template("inu_touroku")
    from authoring.lint import lint_template

    assert not [(f.code, f.en) for f in lint_template(tpl) if f.is_error]

    home = tmp_path / "var"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'dejiru.db'}").init()
    import datetime as dt

    values, _ = sample_values(tpl, random.Random(5), dt.date(2026, 11, 20))
    doc_id = approved_document(store, tpl.id, values, "d0" * 32)
    exchange = tmp_path / "exchange"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    env |= {
        "DEJIRU_HOME": str(home),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DEJIRU_LEGACY_URL": legacy.url,
        "DEJIRU_EXCHANGE_DIR": str(exchange),
        "DEJIRU_TEMPLATES_DIR": str(templates),
    }
    importer = Importer(
        exchange / "demo_import" / "import", exchange / "demo_import" / "results", tmp_path / "imp.db"
    ).start()
    try:
        assert run_key(env, "--target", "demo_import") == {"done": 1}
        assert store.document(doc_id).status == DocStatus.APPROVED  # the screens have not got it yet
        assert run_key(env, "--target", "demo_legacy") == {"done": 1}
        assert run_key(env, "--target", "demo_import") == {}
    finally:
        importer.stop()
    assert store.document(doc_id).status == DocStatus.KEYED
    jobs = {j.target: j for j in store.keying_jobs(doc_id)}
    imported = rows(tmp_path / "imp.db", "inu")
    assert [(r["ref"], r["receipt"]) for r in imported] == [(f"DJ{doc_id:08d}", jobs["demo_import"].receipt)]
    assert imported[0]["shimei"] == values["name"]
    assert [r["ref"] for r in rows(legacy.db, "uketsuke")] == [f"DJ{doc_id:08d}"]

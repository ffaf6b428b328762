"""The layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml) pass on the tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_every_layer_named_in_the_contract_is_a_package_of_the_wheel() -> None:
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = set(cfg["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    roots = set(cfg["tool"]["importlinter"]["root_packages"])
    assert roots <= wheel, roots - wheel
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {
        "tests",
        "bench",
        "scripts",
        "form_templates",
    }  # data, tools
    assert on_disk <= roots, f"packages outside every layer: {on_disk - roots}"

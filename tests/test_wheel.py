"""The built wheel installs and runs on its own: every package and data file it needs is inside it.

A package left out of the wheel's list (pipeline/ once was) breaks flows/ and review/ for anyone who
installs dejiru instead of running it from a checkout; a checkout-based test suite never notices. So
the wheel is built, installed without the project on ``sys.path`` (its third-party dependencies come
from this environment's site-packages, read as a plain path so the checkout's editable install is not),
and driven through its own ``dejiru`` command from an empty folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv is not installed: scripts/setup.sh installs it")
    return found


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    uv = _uv()
    dist = tmp_path / "dist"
    build = subprocess.run(
        [uv, "build", "--wheel", "--no-build-isolation", "--python", sys.executable, "--out-dir", str(dist)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("dejiru-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--no-deps", "--python", str(py), str(wheel)],
        check=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Dependencies from this environment, as a plain path: .pth files there (the checkout's editable
    # install) are not processed, so the product can only come from the wheel.
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEJIRU_") and k != "PYTHONPATH"}
    env |= {"DEJIRU_HOME": str(work / "var"), "DEJIRU_TODAY": os.environ.get("DEJIRU_TODAY", "2026-11-24")}
    dejiru = str(venv / "bin" / "dejiru")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*args], cwd=work, env=env, capture_output=True, text=True, timeout=600)

    where = run(str(py), "-c", "import dejiru, pipeline, review, form_templates; print(pipeline.__file__)")
    assert where.returncode == 0, where.stderr[-2000:]
    assert where.stdout.strip().startswith(site), where.stdout  # not the checkout

    version = run(dejiru, "--version")
    assert version.returncode == 0 and "0." in version.stdout, version.stdout + version.stderr

    doctor = run(dejiru, "doctor")
    assert doctor.returncode == 0, doctor.stdout[-3000:] + doctor.stderr[-3000:]

    listed = run(dejiru, "template", "list")
    assert listed.returncode == 0 and "juminhyo_request" in listed.stdout, listed.stdout + listed.stderr

    db = run(dejiru, "db", "upgrade")  # the Alembic migrations are in the wheel
    assert db.returncode == 0, db.stdout[-2000:] + db.stderr[-2000:]
    assert (work / "var" / "dejiru.db").exists()

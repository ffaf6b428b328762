"""One settings object: every ``DEJIRU_*`` variable is declared in core/settings.py, the README's table is
made from it, and ``dejiru doctor`` shows what is in effect without showing a secret."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import settings as config
from core.settings import PREFIX, Settings, SettingsError, effective, env_names, load_settings
from scripts.settings_table import current
from tests.conftest import REPO

#: ``DEJIRU_`` names the test suite itself reads (sizes of its own runs): not settings of the product.
TEST_KNOBS = PREFIX + "TEST_"
NAME = re.compile(r"\bDEJIRU_[A-Z0-9]+(?:_[A-Z0-9]+)*")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".txt", ".html", ".cfg", ".ini"}
#: Not the tree's own text: tools' caches, the virtual environment, run-time data.
SKIPPED = {".git", ".venv", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
SKIPPED_TOP = {"var", "inbox", "build"}


def names_in_the_tree() -> dict[str, str]:
    """Every ``DEJIRU_*`` name written anywhere in the repository's text, with one place it is."""
    found: dict[str, str] = {}
    for root, dirs, files in os.walk(REPO):
        here = Path(root)
        dirs[:] = [d for d in dirs if d not in SKIPPED and not (here == REPO and d in SKIPPED_TOP)]
        for name in files:
            path = here / name
            if path.suffix not in TEXT_SUFFIXES and name != "Makefile":
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in NAME.finditer(text):
                found.setdefault(match.group(), str(path.relative_to(REPO)))
    return found


def test_every_dejiru_variable_in_the_tree_is_a_setting() -> None:
    """A new ``os.environ["DEJIRU_…"]`` (or a doc naming one) must come with a field of Settings."""
    declared = set(env_names().values())
    seen = names_in_the_tree()
    assert {"DEJIRU_HOME", "DEJIRU_TODAY", "DEJIRU_KEYING_RETRY_DELAYS"} <= seen.keys()  # the scan works
    missing = {n: where for n, where in seen.items() if n not in declared and not n.startswith(TEST_KNOBS)}
    assert not missing, f"declare these in core/settings.py (Settings): {missing}"


def test_the_readme_shows_the_generated_table() -> None:
    """Stale documentation: README.md lists exactly the settings core/settings.py declares."""
    assert current() == config.markdown_table().strip(), "run `python -m scripts.settings_table --write`"
    for env in env_names().values():
        assert f"| `{env}` |" in current()


def test_every_setting_says_what_it_is_for() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description and "\n" not in field.description, name
    assert all(env.startswith(PREFIX) for env in env_names().values())


def test_defaults_without_any_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One PC out of the box: everything under ./var, SQLite there, the demo system on its port."""
    for env in env_names().values():
        monkeypatch.delenv(env, raising=False)
    monkeypatch.chdir(tmp_path)
    cfg = load_settings()
    assert cfg.home == tmp_path.resolve() / "var" and cfg.inbox == tmp_path.resolve() / "inbox"
    assert cfg.database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'dejiru.db'}"
    assert (cfg.review_host, cfg.review_port, cfg.legacy_url) == ("127.0.0.1", 8000, "http://127.0.0.1:8765")
    assert (cfg.review_all, cfg.audit_share, cfg.engine, cfg.watch_mode) == (False, 0.02, None, "events")
    assert (cfg.max_file_mb, cfg.max_pages, cfg.max_megapixels) == (200, 50, 120)
    assert cfg.keying_retry_delays == (2.0, 8.0, 30.0) and cfg.readers == 2 and cfg.paddle_mkldnn


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEJIRU_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("DEJIRU_LEGACY_PORT", "9999")
    monkeypatch.setenv("DEJIRU_REVIEW_ALL", "1")
    monkeypatch.setenv("DEJIRU_KEYING_RETRY_DELAYS", "0.5,1, 2")
    monkeypatch.setenv("DEJIRU_PADDLE_MKLDNN", "0")
    monkeypatch.setenv("DEJIRU_ENGINE", "")  # empty: not set, as before
    cfg = load_settings()
    assert cfg.database_url == f"sqlite:///{tmp_path / 'h' / 'dejiru.db'}"
    assert cfg.legacy_url == "http://127.0.0.1:9999" and cfg.legacy_port == 9999
    assert cfg.review_all and not cfg.paddle_mkldnn and cfg.engine is None
    assert cfg.keying_retry_delays == (0.5, 1.0, 2.0)


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEJIRU_REVIEW_PORT", "eighty")
    monkeypatch.setenv("DEJIRU_WATCH_MODE", "sometimes")
    monkeypatch.setenv("DEJIRU_SECRET_KEY", "")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert "DEJIRU_REVIEW_PORT='eighty'" in text and "DEJIRU_WATCH_MODE='sometimes'" in text
    assert "使えません" in text
    monkeypatch.delenv("DEJIRU_REVIEW_PORT")
    monkeypatch.delenv("DEJIRU_WATCH_MODE")
    monkeypatch.setenv("DEJIRU_TODAY", "tomorrow")
    with pytest.raises(SettingsError, match="DEJIRU_TODAY"):
        load_settings()


def test_code_below_the_cli_sees_a_changed_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where a variable was looked up when needed, it still is: a test or bench may change it."""
    from flows.keying import _retry_delays
    from form_templates import TEMPLATES_DIR
    from formkit.registry import templates_dir
    from ocr.engines.base import default_engine

    monkeypatch.setenv("DEJIRU_TEMPLATES_DIR", str(tmp_path))
    monkeypatch.setenv("DEJIRU_KEYING_RETRY_DELAYS", "1,2")
    monkeypatch.setenv("DEJIRU_ENGINE", "ppocrv5-paddle")
    assert (templates_dir(), _retry_delays(), default_engine()) == (tmp_path, [1.0, 2.0], "ppocrv5-paddle")
    monkeypatch.delenv("DEJIRU_TEMPLATES_DIR")
    monkeypatch.delenv("DEJIRU_ENGINE")
    assert templates_dir() == TEMPLATES_DIR and default_engine() == "ppocrv6-onnx"


def test_settings_is_read_once_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    config.settings.cache_clear()
    try:
        first = config.settings()
        monkeypatch.setenv("DEJIRU_REVIEW_PORT", "8123")
        assert config.settings() is first
        config.settings.cache_clear()
        assert config.settings().review_port == 8123
    finally:
        config.settings.cache_clear()


def test_effective_values_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEJIRU_SECRET_KEY", "s3cret-signing-key")
    monkeypatch.setenv("DEJIRU_LEGACY_PASSWORD", "pw-of-the-target")
    monkeypatch.setenv("DEJIRU_DATABASE_URL", "postgresql+psycopg://clerk:hunter2@db.example/dejiru")
    monkeypatch.delenv("DEJIRU_LEGACY_USER", raising=False)
    shown = {env: (value, from_env) for env, value, from_env in effective(load_settings())}
    assert shown["DEJIRU_SECRET_KEY"] == ("set", True)
    assert shown["DEJIRU_LEGACY_PASSWORD"] == ("set", True)
    assert shown["DEJIRU_DATABASE_URL"] == ("postgresql+psycopg://clerk:***@db.example/dejiru", True)
    assert shown["DEJIRU_LEGACY_USER"][0].startswith("not set")
    assert shown["DEJIRU_KEYING_RETRY_DELAYS"] == ("2,8,30", False)  # KEYING is not a KEY
    text = repr(shown) + repr(load_settings())
    assert "s3cret" not in text and "pw-of" not in text


def dejiru(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "dejiru"
    return subprocess.run(
        [str(exe), *args], env=os.environ | env, cwd=REPO, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_doctor_shows_every_setting_and_still_checks() -> None:
    """``dejiru doctor``: the settings in effect, secrets as "set", then the usual checks."""
    run = dejiru(
        "doctor",
        env={
            "DEJIRU_SECRET_KEY": "s3cret-signing-key",
            "DEJIRU_LEGACY_PASSWORD": "pw-of-the-target",
            "DEJIRU_DATABASE_URL": "postgresql+psycopg://clerk:hunter2@db.example/dejiru",
            "DEJIRU_REVIEW_PORT": "8123",
        },
    )
    out = run.stdout
    assert run.returncode in (0, 1), run.stderr[-3000:]  # 1: something of this machine is missing
    rows = (re.match(r"\s+\*?\s*(DEJIRU_\w+)\s+(.*)$", line) for line in out.splitlines())
    lines = {row.group(1): row.group(2) for row in rows if row}
    assert set(env_names().values()) <= lines.keys(), out
    assert lines["DEJIRU_REVIEW_PORT"].split()[-1] == "8123"
    assert lines["DEJIRU_SECRET_KEY"].split()[-1] == "set"
    assert lines["DEJIRU_LEGACY_PASSWORD"].split()[-1] == "set"
    assert "clerk:***@db.example" in lines["DEJIRU_DATABASE_URL"]
    assert "s3cret" not in out + run.stderr and "pw-of" not in out and "hunter2" not in out
    assert "chromium" in out and "OCR engine ppocrv6-onnx" in out and "model " in out  # the checks ran


def test_doctor_names_a_bad_setting_and_stops() -> None:
    run = dejiru("doctor", env={"DEJIRU_MAX_PAGES": "many"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAIL settings" in run.stdout and "DEJIRU_MAX_PAGES='many'" in run.stdout

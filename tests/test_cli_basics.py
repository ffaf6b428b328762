"""The ``dejiru`` command itself: its version, ``python -m dejiru``, and the exit codes a script or a
scheduler reads (a domain error exits with its group's declared code, a bad command line with 2).

The commands run as real subprocesses: the console script and ``python -m`` are what people and
scheduled tasks start, and only a real process shows the exit code the shell sees.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from core import errors
from core.errors import DejiruError, FlowNameError, TemplateError, ValidationError
from core.messages import Message, pick_lang
from tests.conftest import REPO

#: The exit codes README.md and docs/architecture.md promise, per error group.
DOCUMENTED = {
    errors.InputError: 3,
    errors.RecognitionError: 4,
    errors.TemplateError: 5,
    errors.ValidationError: 6,
    errors.KeyingError: 7,
    errors.ConfigurationError: 8,
}


def dejiru(*args: str, module: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m dejiru ARGS`` (or the installed ``dejiru`` script), as a shell would run it."""
    cmd = [sys.executable, "-m", "dejiru"] if module else [str(Path(sys.executable).parent / "dejiru")]
    return subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", [False, True], ids=["script", "python-m"])
def test_version(module: bool) -> None:
    done = dejiru("--version", module=module)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dejiru {version('dejiru')}"


def test_python_m_dejiru_is_the_command() -> None:
    done = dejiru("--help")
    assert done.returncode == 0, done.stderr
    for verb in ("read", "template", "bot", "flow"):
        assert verb in done.stdout


def test_a_domain_error_exits_with_its_declared_code() -> None:
    done = dejiru("template", "show", "no_such_form")
    assert done.returncode == TemplateError.exit_code == 5, done.stderr
    assert "エラー: " in done.stderr and "error: " in done.stderr  # Japanese first, then English
    assert "Traceback" not in done.stderr


def test_a_domain_error_of_a_sub_app_exits_the_same_way() -> None:
    done = dejiru("flow", "new", "NotAName")
    assert done.returncode == FlowNameError.exit_code == 6, done.stderr
    assert "フロー名" in done.stderr


@pytest.mark.parametrize("args", [["template", "show"], ["no-such-verb"], ["read", "--no-such-option"]])
def test_a_usage_error_exits_2(args: list[str]) -> None:
    done = dejiru(*args)
    assert done.returncode == errors.EXIT_USAGE == 2, done.stderr


def _error_classes() -> list[type[DejiruError]]:
    return [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, DejiruError) and c is not DejiruError
    ]


def test_every_error_has_a_group_exit_code_apart_from_clicks() -> None:
    """Each group declares its code; every error in core.errors exits with one of them, never with
    Click's 1 (unexpected) or 2 (usage)."""
    assert {g: g.exit_code for g in DOCUMENTED} == DOCUMENTED
    assert len(set(DOCUMENTED.values())) == len(DOCUMENTED)
    for cls in _error_classes():
        assert cls.exit_code in DOCUMENTED.values(), cls
        group = next((g for g in DOCUMENTED if issubclass(cls, g)), None)
        assert group is None or cls.exit_code == group.exit_code, cls
    assert errors.OutsideInbox.exit_code == errors.InputError.exit_code  # beside the group, not in it


def test_the_bilingual_strays_joined_the_tree_and_kept_their_names() -> None:
    """Errors once defined beside the tree are the tree's classes, importable where they always were,
    and still the ValueError that value parsers catch."""
    from core.clock import ClockSettingError
    from dejiru.cli_flow import FlowNameError as FromCli
    from pipeline.review import BlindEntryErrors, EditConflict, ReviewError
    from review.auth import WeakPassword
    from validation.wareki import WarekiError

    assert FromCli is FlowNameError
    assert ReviewError is errors.ReviewError and EditConflict is errors.EditConflict
    assert BlindEntryErrors is errors.BlindEntryErrors and WeakPassword is errors.WeakPassword
    assert WarekiError is errors.WarekiError and ClockSettingError is errors.ClockSettingError
    for cls in (ReviewError, WeakPassword, WarekiError, FlowNameError):
        assert issubclass(cls, ValidationError) and issubclass(cls, ValueError)
    assert issubclass(EditConflict, ReviewError) and issubclass(ClockSettingError, errors.ConfigurationError)
    err = WeakPassword("短すぎます", "too short")
    assert (err.code, err.ja, err.en, str(err)) == (
        "weak_password",
        "短すぎます",
        "too short",
        "短すぎます / too short",
    )


def test_one_message_type_for_errors_reasons_and_findings() -> None:
    from authoring.lint import error
    from formkit.readings import Reason

    err = errors.UnknownForm("様式が分かりません", "unknown form", detail="0 marks")
    assert err.msg == Message("unknown_form", "様式が分かりません", "unknown form")
    assert err.as_dict() == err.msg.as_dict() | {"detail": "0 marks"}
    assert err.message("en") == "unknown form" and err.message("ja") == err.message(None) == err.ja

    reason = Reason("date_invalid", "日付がありません", "no such date")
    assert isinstance(reason, Message) and Reason.from_dict(reason.as_dict()) == reason
    assert reason.text("en-US") == "no such date" and reason.text("fr") == "日付がありません"

    found = error("bad_size", "幅が0です", "zero width", "name")
    assert isinstance(found.message, Message) and (found.code, found.ja, found.en) == (
        "bad_size",
        "幅が0です",
        "zero width",
    )
    assert found.as_dict() == {
        "level": "error",
        "code": "bad_size",
        "ja": "幅が0です",
        "en": "zero width",
        "field": "name",
        "detail": None,
    }
    assert pick_lang(None) == "ja" and pick_lang("EN") == "en"


def test_keying_evidence_is_declared() -> None:
    """Evidence is part of a keying error, set by the bot once saved; never bolted on afterwards."""
    err = errors.BusinessRuleRejected("登録できません", "rejected")
    assert err.evidence == {}
    assert err.with_evidence({"screenshot": "/e/1.png"}) is err and err.evidence == {"screenshot": "/e/1.png"}
    err.reword(lambda s: s.replace("登録", "＊＊"))
    assert err.ja == "＊＊できません" and err.args == ("＊＊できません / rejected",)
    assert errors.Transient("x", evidence={"html": "/e/1.html"}).evidence == {"html": "/e/1.html"}

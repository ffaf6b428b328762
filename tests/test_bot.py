"""The Playwright bot against the demo legacy system, in Debian's Chromium: exactly once, typed failures."""

import os
from pathlib import Path

import pytest

from bots.mapping import load_mapping
from bots.runner import BotSession
from core.errors import BusinessRuleRejected, ReadBackMismatch, TargetScreenChanged, Transient
from demo.legacy.app import Faults
from tests.legacy_rows import expected_row, pick, rows

pytestmark = pytest.mark.slow

VALUES = {
    "request_date": "2026-11-20",
    "kana": "ワタナベ　ユウコ",
    "name": "渡邉　裕子",
    "birth_date": "1989-01-08",
    "postal_code": "207-0015",
    "address": "東京都東大和市中央3-2-1",
    "phone": "042-561-1234",
    "visitor": "agent",
    "copies": 2,
    "scope": "part",
    "honseki": "yes",
    "relation": "no",
    "purpose": ["pension", "other"],
    "purpose_other": "銀行口座の開設",
    "signature": True,
}


def session(srv, tmp_path: Path, monkeypatch) -> BotSession:
    monkeypatch.setenv("DEJIRU_LEGACY_URL", srv.url)
    return BotSession(load_mapping("demo_legacy"), tmp_path / "evidence")


def test_keys_exactly_once(legacy, tmp_path, monkeypatch) -> None:
    with session(legacy, tmp_path, monkeypatch) as bot:
        first = bot.key("juminhyo_request", VALUES, "DJ00000001")
        again = bot.key("juminhyo_request", VALUES, "DJ00000001")
    assert not first.existed and again.existed and first.receipt == again.receipt
    got = rows(legacy.db)
    assert len(got) == 1
    assert pick(got[0]) == expected_row(VALUES)  # 渡邉 survives the Windows-31J round trip


def test_business_rule_rejection_leaves_evidence(legacy, tmp_path, monkeypatch) -> None:
    with session(legacy, tmp_path, monkeypatch) as bot, pytest.raises(BusinessRuleRejected) as err:
        bot.key("juminhyo_request", VALUES | {"copies": 11}, "DJ00000002")
    assert "請求通数" in err.value.ja
    evidence = err.value.evidence
    assert {"screenshot", "html", "trace"} <= set(evidence)
    assert all(Path(p).stat().st_size > 0 for p in evidence.values())
    assert rows(legacy.db) == []


def test_changed_screen_stops_the_bot(legacy_factory, tmp_path, monkeypatch) -> None:
    with legacy_factory(Faults(layout="v2")) as srv, session(srv, tmp_path, monkeypatch) as bot:
        with pytest.raises(TargetScreenChanged) as err:
            bot.key("juminhyo_request", VALUES, "DJ00000003")
        assert "input[name=ref]" in (err.value.detail or "")
        assert rows(srv.db) == []


def test_a_value_the_screen_cuts_stops_before_saving(legacy, tmp_path, monkeypatch) -> None:
    """The phone input takes 13 characters: a number with an extension (042-561-1234 内線 567) would be
    saved cut, with the save reporting success. Read back before the click, it is stopped instead."""
    long_phone = "042-561-1234（内線567）"
    with session(legacy, tmp_path, monkeypatch) as bot, pytest.raises(ReadBackMismatch) as err:
        bot.key("juminhyo_request", VALUES | {"phone": long_phone}, "DJ00000005")
    assert "input[name=tel]" in err.value.ja and "13 文字しか" in err.value.ja
    assert long_phone not in err.value.ja + err.value.en + (err.value.detail or "")  # no resident's data
    assert {"screenshot", "html", "trace"} <= set(err.value.evidence)
    assert rows(legacy.db) == []  # nothing saved


def test_full_width_digits_read_back_as_the_same_value() -> None:
    from bots.readback import describe, shown_same

    assert shown_same("０４２-５６１-１２３４", "042-561-1234") and shown_same(["1", "2"], ["2", "1"])
    assert not shown_same("042-561-1234", "0425611234") and not shown_same("山田　花子", "山田")
    assert "5 文字のうち 2 文字しか" in describe("山田　花子", "山田　")[0]


def test_server_errors_are_transient(legacy_factory, tmp_path, monkeypatch) -> None:
    with legacy_factory(Faults(error_rate=1.0)) as srv, session(srv, tmp_path, monkeypatch) as bot:
        with pytest.raises(Transient) as err:
            bot.key("juminhyo_request", VALUES, "DJ00000004")
        assert "500" in err.value.ja


INKAN = {
    "request_date": "2026-11-20",
    "card_number": "12345678",
    "kana": "サイトウ　ハルカ",
    "name": "齋藤　遥",
    "birth_date": "1975-06-30",
    "postal_code": "207-0015",
    "address": "東京都東大和市中央3-2-1",
    "phone": "042-561-1234",
    "copies": 2,
    "purpose": ["car", "other"],
    "purpose_other": "車庫証明",
    "visitor": "agent",
    "agent_name": "齋藤　一",
    "agent_address": "東京都東大和市中央3-2-1",
}


def test_frameset_navigation_keys_inkan_once(legacy, tmp_path, monkeypatch) -> None:
    """The 印鑑証明 mapping works only through the frameset's menu, as a clerk would."""
    with session(legacy, tmp_path, monkeypatch) as bot:
        first = bot.key("inkan_request", INKAN, "DJ00000010")
        again = bot.key("inkan_request", INKAN, "DJ00000010")
    assert not first.existed and again.existed and first.receipt == again.receipt
    got = rows(legacy.db, "inkan")
    assert len(got) == 1
    row = got[0]
    assert (row["shimei"], row["kana"], row["card_no"], row["birth"]) == (
        "齋藤　遥",
        "サイトウ　ハルカ",
        "12345678",
        "昭和50年6月30日",
    )
    assert (row["purpose"], row["purpose_other"], row["visitor"], row["agent_name"]) == (
        "12,99",
        "車庫証明",
        "3",
        "齋藤　一",
    )


def test_session_expiry_is_typed_and_a_new_login_heals_it(legacy_factory, tmp_path, monkeypatch) -> None:
    import httpx

    from core.errors import SessionExpired

    with legacy_factory(Faults(expire_on_request=True)) as srv, session(srv, tmp_path, monkeypatch) as bot:
        bot.key("inkan_request", INKAN, "DJ00000011")
        httpx.post(f"{srv.url}/_faults/expire").raise_for_status()  # the system's session timeout
        with pytest.raises(SessionExpired):
            bot.key("inkan_request", INKAN, "DJ00000012")
        bot.restart()
        assert not bot.key("inkan_request", INKAN, "DJ00000012").existed
        assert len(rows(srv.db, "inkan")) == 2


def test_the_demo_does_not_let_any_caller_end_its_sessions(legacy_factory) -> None:
    import httpx

    # A web page the operator opens can POST to loopback without a preflight: the test hook is off.
    with legacy_factory(Faults()) as srv:
        assert httpx.post(f"{srv.url}/_faults/expire").status_code == 404


def test_bot_check_dry_runs_without_saving(legacy_factory, tmp_path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    def check(srv):  # type: ignore[no-untyped-def]
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "dejiru.cli",
                "bot",
                "check",
                "demo_legacy",
                "--out",
                str(tmp_path / "chk"),
            ],
            env=os.environ | {"DEJIRU_LEGACY_URL": srv.url},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )

    with legacy_factory(Faults()) as srv:
        ok = check(srv)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert ok.stdout.count("  OK ") == len(load_mapping("demo_legacy").forms)
        assert "juminhyo_request" in ok.stdout and "inkan_request" in ok.stdout
        assert (tmp_path / "chk" / "check" / "inkan_request.png").stat().st_size > 0
        assert rows(srv.db) == [] and rows(srv.db, "inkan") == []
    with legacy_factory(Faults(layout="v2")) as srv:
        changed = check(srv)
        assert changed.returncode == 1
        assert "NG juminhyo_request" in changed.stdout and "input[name=ref]" in changed.stdout
        assert "OK inkan_request" in changed.stdout


def test_record_needs_a_desktop(monkeypatch) -> None:
    from typer.testing import CliRunner

    from dejiru.cli import app

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = CliRunner().invoke(app, ["bot", "record", "demo_legacy"])
    assert result.exit_code == 8 and "デスクトップ" in result.output


def test_a_newer_admin_that_reformats_shows_ids_only_in_links_and_searches_partly(
    legacy_factory, tmp_path, monkeypatch
) -> None:
    """Layout v3 answers a save by opening the record (its ID only in the address), lists search hits
    by part of the reference, the ID only behind a link. The receipt comes from the URL after a save
    and from the link after a search, the same; a longer reference that contains ours is not ours."""
    from tests.test_tutorial import FORM as DOG
    from tests.test_tutorial import VALUES as DOG_VALUES

    data = load_mapping("demo_legacy").model_dump()
    receipt = {"pattern": r"receipt=([^&]+)"}
    form = data["forms"][DOG]
    form["search"] |= {
        "found": '#results tr:has(td.ref:text-is("{reference}")) a.open',
        "not_found": "#results",  # the search ran: no row of exactly our reference
        "receipt": receipt | {"attr": "href"},
    }
    form["create"] |= {"success": "#done", "receipt": receipt | {"url": True}}
    from bots.mapping import Mapping

    mapping = Mapping.model_validate(data)
    with legacy_factory(Faults(layout="v3")) as srv:
        monkeypatch.setenv("DEJIRU_LEGACY_URL", srv.url)
        with BotSession(mapping, tmp_path / "evidence") as bot:
            with pytest.raises(ReadBackMismatch) as reformatted:  # its phone input drops the hyphens
                bot.key(DOG, DOG_VALUES | {"phone": "042-561-1234"}, "DJ000000099")
            longer = bot.key(DOG, DOG_VALUES | {"phone": ""}, "DJ000000012")
            first = bot.key(DOG, DOG_VALUES | {"phone": ""}, "DJ00000001")  # the search lists DJ000000012 too
            again = bot.key(DOG, DOG_VALUES | {"phone": ""}, "DJ00000001")
        got = {r["ref"]: r["receipt"] for r in rows(srv.db, "uketsuke")}
    assert not longer.existed and not first.existed and again.existed
    assert got == {"DJ000000012": longer.receipt, "DJ00000001": first.receipt}
    assert again.receipt == first.receipt != longer.receipt
    assert "別の形" in reformatted.value.ja and "DJ000000099" not in got  # caught, nothing saved


def test_every_rejection_message_is_reported(legacy, tmp_path, monkeypatch) -> None:
    from bots.mapping import Mapping

    data = load_mapping("demo_legacy").model_dump()
    data["forms"]["juminhyo_request"]["create"]["rejected"] = "#errors li"  # one element a message
    with session(legacy, tmp_path, monkeypatch) as bot:
        bot.m = Mapping.model_validate(data)
        with pytest.raises(BusinessRuleRejected) as err:
            bot.key("juminhyo_request", VALUES | {"copies": 11, "address": ""}, "DJ00000006")
    assert "住所を入力してください" in err.value.ja and "請求通数は1～10" in err.value.ja


def test_a_login_page_that_names_the_landing_page_is_not_a_login() -> None:
    login = load_mapping("demo_legacy").login
    assert login.landed("http://127.0.0.1:8765/main") and login.landed("http://h/main/frame?x=1")
    assert not login.landed("http://h/login?next=/main") and not login.landed("http://h/mainframe")
    assert not login.landed("http://h/login#/main")


def test_a_citys_mapping_folder_adds_to_the_shipped_mappings(tmp_path, monkeypatch) -> None:
    from bots.mapping import MAPPINGS_DIR, mapping_path

    (tmp_path / "city_system.yaml").write_text("system: city_system\n", encoding="utf-8")
    monkeypatch.setenv("DEJIRU_MAPPINGS_DIR", str(tmp_path))
    assert mapping_path("city_system") == tmp_path / "city_system.yaml"
    assert mapping_path("demo_legacy") == MAPPINGS_DIR / "demo_legacy.yaml"  # still there


def test_logins_come_from_a_private_secrets_file(legacy, tmp_path, monkeypatch) -> None:
    """A real system's password lives in the secrets file (mode 600), not in the mapping; a file other
    accounts can read is refused rather than used."""
    import json

    from bots.mapping import Mapping
    from core.errors import ConfigurationError

    data = load_mapping("demo_legacy").model_dump() | {"default_user": None, "default_password": None}
    for name in ("DEJIRU_LEGACY_USER", "DEJIRU_LEGACY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    secrets = tmp_path / "secrets.json"
    secrets.write_text(
        json.dumps({"demo_legacy": {"user": "demo", "password": "demo1234"}}), encoding="utf-8"
    )
    secrets.chmod(0o600)
    monkeypatch.setenv("DEJIRU_SECRETS_FILE", str(secrets))
    monkeypatch.setenv("DEJIRU_LEGACY_URL", legacy.url)
    mapping = Mapping.model_validate(data)
    with BotSession(mapping, tmp_path / "evidence") as bot:
        assert not bot.key("juminhyo_request", VALUES, "DJ00000007").existed
    secrets.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        mapping.credentials()


def test_verify_opens_the_saved_record_and_catches_a_value_stored_otherwise(
    legacy_factory, tmp_path, monkeypatch
) -> None:
    """Layout v3 stores a name without its spaces: the input kept it (read-back passes), the saved
    record does not. `verify:` opens the record by its receipt and sends it to a person."""
    from bots.mapping import Mapping
    from core.errors import SavedValueDiffers
    from tests.test_tutorial import FORM as DOG
    from tests.test_tutorial import VALUES as DOG_VALUES

    data = load_mapping("demo_legacy").model_dump()
    form = data["forms"][DOG]
    form["create"] |= {"success": "#done", "receipt": {"url": True, "pattern": r"receipt=([^&]+)"}}
    form["verify"] = {
        "goto": "/uketsuke/view?receipt={receipt}",
        "shows": [{"selector": "#shimei", "value": "{name}"}],
    }
    values = DOG_VALUES | {"phone": ""}
    with legacy_factory(Faults(layout="v3")) as srv:
        monkeypatch.setenv("DEJIRU_LEGACY_URL", srv.url)
        with BotSession(Mapping.model_validate(data), tmp_path / "evidence") as bot:
            with pytest.raises(SavedValueDiffers) as err:
                bot.key(DOG, values, "DJ00000021")
            assert "#shimei" in err.value.ja and values["name"] not in err.value.ja
            assert {"screenshot", "html"} <= set(err.value.evidence)
            kept = bot.key(DOG, values | {"name": "山田花子"}, "DJ00000022")  # stored as typed: verified
    assert not kept.existed and {r["ref"] for r in rows(srv.db, "uketsuke")} == {"DJ00000021", "DJ00000022"}


def test_bot_check_full_tries_a_refused_save_and_a_known_record(legacy, tmp_path, monkeypatch) -> None:
    """`bot check --full`: the mapping's check: proves rejected (a save the target refuses, nothing
    left) and found (a record known to be there); a form without check: says what was not tried."""
    import subprocess
    import sys

    import yaml

    from bots.mapping import MAPPINGS_DIR
    from tests.conftest import REPO

    monkeypatch.setenv("DEJIRU_LEGACY_URL", legacy.url)
    with session(legacy, tmp_path, monkeypatch) as bot:
        known = bot.key("juminhyo_request", VALUES, "DJ00000031")
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    data = yaml.safe_load((MAPPINGS_DIR / "demo_legacy.yaml").read_text(encoding="utf-8"))
    data["forms"]["juminhyo_request"]["check"]["existing_reference"] = "DJ00000031"
    (mappings / "demo_legacy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = os.environ | {"DEJIRU_LEGACY_URL": legacy.url, "DEJIRU_MAPPINGS_DIR": str(mappings)}
    cmd = [
        sys.executable,
        "-m",
        "dejiru.cli",
        "bot",
        "check",
        "demo_legacy",
        "--full",
        "--out",
        str(tmp_path / "chk"),
    ]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK juminhyo_request: 却下の表示を確認" in done.stdout and known.receipt in done.stdout
    assert "-- inkan_request: check: がないため" in done.stdout
    assert [r["ref"] for r in rows(legacy.db)] == ["DJ00000031"]  # the refused probe left nothing

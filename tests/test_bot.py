"""The Playwright bot against the demo legacy system, in Debian's Chromium: exactly once, typed failures."""

from pathlib import Path

import pytest

from bots.mapping import load_mapping
from bots.runner import BotSession
from dejiru.errors import BusinessRuleRejected, TargetScreenChanged, Transient
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
    evidence = err.value.evidence  # type: ignore[attr-defined]
    assert {"screenshot", "html", "trace"} <= set(evidence)
    assert all(Path(p).stat().st_size > 0 for p in evidence.values())
    assert rows(legacy.db) == []


def test_changed_screen_stops_the_bot(legacy_factory, tmp_path, monkeypatch) -> None:
    with legacy_factory(Faults(layout="v2")) as srv, session(srv, tmp_path, monkeypatch) as bot:
        with pytest.raises(TargetScreenChanged) as err:
            bot.key("juminhyo_request", VALUES, "DJ00000003")
        assert "input[name=ref]" in (err.value.detail or "")
        assert rows(srv.db) == []


def test_server_errors_are_transient(legacy_factory, tmp_path, monkeypatch) -> None:
    with legacy_factory(Faults(error_rate=1.0)) as srv, session(srv, tmp_path, monkeypatch) as bot:
        with pytest.raises(Transient) as err:
            bot.key("juminhyo_request", VALUES, "DJ00000004")
        assert "500" in err.value.ja

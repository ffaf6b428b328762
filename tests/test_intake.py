"""Intake: complete files only, exactly once, originals never altered, bad files quarantined."""

import os
import time
from pathlib import Path

import pytest

from intake.files import safe_name, sha256_file
from intake.watcher import InboxWatcher
from pipeline.intake import intake_file
from records.models import DocStatus


def drop(inbox: Path, name: str, data: bytes) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    p = inbox / name
    p.write_bytes(data)
    return p


def scan_bytes(sample, seed: int = 1) -> bytes:
    import io

    from PIL import Image

    img, _ = sample(seed, dpi=150)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_accept_archives_untouched_and_records_once(ctx, sample) -> None:
    data = scan_bytes(sample)
    p = drop(ctx.settings.inbox, "申請書 1.jpg", data)
    digest = sha256_file(p)
    r = intake_file(p, ctx)
    assert r.outcome == "accepted" and not p.exists()
    doc = ctx.store.document(r.document_id)
    assert Path(doc.archive_path).read_bytes() == data and doc.sha256 == digest
    assert doc.status == DocStatus.RECEIVED and doc.original_name == "申請書 1.jpg"
    again = intake_file(drop(ctx.settings.inbox, "same again.jpg", data), ctx)
    assert again.outcome == "duplicate" and again.document_id == r.document_id
    assert len(ctx.store.documents()) == 1
    assert Path(again.detail).read_bytes() == data  # the duplicate is kept aside, not deleted


def test_crash_after_archiving_before_recording_is_healed(ctx, sample, monkeypatch) -> None:
    data = scan_bytes(sample, 2)
    p = drop(ctx.settings.inbox, "a.jpg", data)
    import pipeline.intake as pi
    from records.store import Store

    def crash(*a, **k):
        raise SystemExit("power cut")

    # On the class: intake records the document through a store bound to its unit of work.
    monkeypatch.setattr(Store, "add_document", crash)
    with pytest.raises(SystemExit):
        pi.intake_file(p, ctx)
    assert p.exists()  # still in the inbox: nothing lost
    monkeypatch.undo()
    r = pi.intake_file(p, ctx)
    assert r.outcome == "accepted" and len(ctx.store.documents()) == 1


def test_crash_after_recording_is_finished_not_taken_for_a_redrop(ctx, sample, monkeypatch) -> None:
    """Killed after recording, before removing the inbox file: the same file (not a clerk's re-drop) is
    finished on the next attempt, without a duplicate in quarantine."""
    import pipeline.intake as pi

    data = scan_bytes(sample, 3)
    p = drop(ctx.settings.inbox, "b.jpg", data)

    def crash(name: str) -> None:
        if name == "intake.after_record":
            raise SystemExit("power cut")

    monkeypatch.setattr(pi.failpoints, "hit", crash)
    with pytest.raises(SystemExit):
        pi.intake_file(p, ctx)
    assert p.exists() and len(ctx.store.documents()) == 1
    monkeypatch.undo()
    r = pi.intake_file(p, ctx)
    assert r.outcome == "accepted" and r.detail == "resumed" and not p.exists()
    assert len(ctx.store.documents()) == 1 and not (ctx.settings.quarantine / "duplicate").exists()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty.pdf", b"", "unreadable_file"),
        ("memo.pdf", b"PK\x03\x04rest", "unsupported_file_type"),
        ("../../etc/passwd", b"root:x:0:0", "unsupported_file_type"),
    ],
)
def test_bad_files_go_to_quarantine_with_reason(ctx, name, data, code) -> None:
    p = drop(ctx.settings.inbox, Path(name).name, data)
    r = intake_file(p, ctx)
    assert r.outcome == "quarantined" and r.detail == code
    folder = ctx.settings.quarantine / code
    files = sorted(folder.iterdir())
    kept = [f for f in files if not f.name.endswith(".reason.txt")]
    reason = [f for f in files if f.name.endswith(".reason.txt")]
    assert kept[0].read_bytes() == data and kept[0].parent == folder
    text = reason[0].read_text(encoding="utf-8")
    assert "理由:" in text and "Reason:" in text and "削除されていません" in text
    item = ctx.store.exceptions()[0]
    assert item.code == code and item.message_ja


def test_unreadable_permissions(tmp_path) -> None:
    """A scanner share that wrote a file we may not read: refused with a reason (checked as a non-root user)."""
    from core.errors import UnreadableFile
    from intake.files import check_readable

    p = tmp_path / "locked.pdf"
    p.write_bytes(b"%PDF-1.4")
    p.chmod(0)
    tmp_path.chmod(0o755)
    if os.geteuid() != 0:
        with pytest.raises(UnreadableFile) as err:
            check_readable(p)
        assert "権限" in err.value.ja
        return
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become nobody, let the kernel decide
        try:
            os.setgid(65534)
            os.setuid(65534)
            check_readable(p)
            msg = "readable"
        except UnreadableFile as e:
            msg = f"{e.code} {e.ja}"
        except BaseException as e:
            msg = f"error {e!r}"
        os.write(write_end, msg.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    out = os.read(read_end, 4096).decode()
    assert out.startswith("unreadable_file") and "権限" in out, out


def test_safe_names() -> None:
    assert safe_name("../../evil.pdf") == "_._evil.pdf" or "/" not in safe_name("../../evil.pdf")
    assert "/" not in safe_name("a/b\\c.pdf") and ".." not in safe_name("..pdf")
    assert safe_name("申請書　山田 様.pdf") == "申請書　山田 様.pdf"


def test_watcher_waits_until_a_file_is_complete(tmp_path) -> None:
    got: list[Path] = []
    w = InboxWatcher(tmp_path, got.append, settle=1.0)
    part = tmp_path / "scan.pdf.part"
    part.write_bytes(b"%PDF-1.4 half")
    growing = tmp_path / "growing.pdf"
    growing.write_bytes(b"%PDF-1.4 a")
    t = 100.0
    assert w.scan_once(t) == []
    growing.write_bytes(b"%PDF-1.4 ab")  # still being written
    os.utime(growing, (time.time() + 5, time.time() + 5))
    assert w.scan_once(t + 1.5) == []
    assert w.scan_once(t + 2.0) == []
    assert w.scan_once(t + 3.0) == [growing]  # unchanged for the settle time
    assert got == [growing]
    assert w.scan_once(t + 10) == []  # handed over once, not again
    part.rename(tmp_path / "scan.pdf")  # temp-name-then-rename: now it counts
    w.scan_once(t + 11)
    assert w.scan_once(t + 12.5)[0].name == "scan.pdf"


def test_watcher_survives_a_failing_handler(tmp_path) -> None:
    calls = []

    def boom(p: Path) -> None:
        calls.append(p)
        raise OSError("disk full")

    w = InboxWatcher(tmp_path, boom, settle=0.0)
    (tmp_path / "a.png").write_bytes(b"x")
    w.scan_once(0.0)
    w.scan_once(0.1)
    assert len(calls) == 1
    w.scan_once(1.0)  # backing off
    assert len(calls) == 1
    w.scan_once(5.0)
    assert len(calls) == 2

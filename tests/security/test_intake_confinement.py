"""Intake touches only files in the inbox, never follows a link or opens a FIFO,
and quarantine never loses a file nor keeps it under a name its sender chose; dejiru's files are not
world-readable.

Every test performs the attack for real, with real files, symbolic links, FIFOs, threads and a real
Prefect flow run."""

from __future__ import annotations

import io
import os
import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from core.errors import OutsideInbox, UnknownForm, UnsupportedFileType
from intake.files import REASON_SUFFIX, quarantine_file
from intake.watcher import InboxWatcher
from pipeline.intake import intake_file
from records.models import DocStatus

#: ``<stamp>_<id>.<ext>``: a time stamp, a random id (``-n`` after a clash), a type-derived extension.
NEUTRAL = re.compile(r"^\d{8}-\d{6}_[0-9a-f]{8}(-\d+)?\.(pdf|png|jpg|tif|bin)$")


def png(marker: str, size: tuple[int, int] = (40, 30)) -> bytes:
    """A small valid PNG (intake would accept it) carrying ``marker`` in a text chunk."""
    info = PngInfo()
    info.add_text("secret", marker)
    buf = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def snapshot(path: Path) -> tuple[bytes, int, int, int]:
    st = path.lstat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns, st.st_mode


def files_under(root: Path) -> list[Path]:
    out = []
    for folder, dirs, names in os.walk(root):
        for n in names + dirs:
            p = Path(folder) / n
            if stat.S_ISREG(p.lstat().st_mode):
                out.append(p)
    return out


def nothing_contains(root: Path, marker: bytes) -> bool:
    return not [p for p in files_under(root) if marker in p.read_bytes()]


def stored(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.endswith(REASON_SUFFIX))


def secret_outside(tmp_path: Path, marker: str = "TOPSECRET-住民記録") -> Path:
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "住民票.png"
    secret.write_bytes(png(marker))
    return secret


def assert_untouched(ctx, secret: Path, before: tuple[bytes, int, int, int], marker: bytes) -> None:
    assert secret.exists() and snapshot(secret) == before
    assert ctx.store.documents() == []
    assert nothing_contains(ctx.settings.home, marker)


def test_intake_file_with_a_path_outside_the_inbox(ctx, tmp_path) -> None:
    """Attack: intake_file / process-file given a path outside the inbox (archive it, delete the original)."""
    secret = secret_outside(tmp_path)
    before = snapshot(secret)
    with pytest.raises(OutsideInbox) as err:
        intake_file(secret, ctx)
    assert "受付フォルダ" in str(err.value) and "inbox" in str(err.value)
    assert_untouched(ctx, secret, before, b"TOPSECRET")
    assert ctx.store.exceptions() == [] and not list(ctx.settings.quarantine.rglob("*"))


@pytest.mark.parametrize("via", ["../../outside/住民票.png", "sub/../../../outside/住民票.png"])
def test_path_with_dotdot_segments_leaving_the_inbox(ctx, tmp_path, via) -> None:
    """Attack: a path that starts in the inbox and climbs out of it with '..' segments."""
    secret = secret_outside(tmp_path)
    before = snapshot(secret)
    inbox = ctx.settings.inbox
    (inbox / "sub").mkdir(parents=True, exist_ok=True)
    path = inbox / via
    assert path.resolve() == secret.resolve()  # the attack path really names the secret
    with pytest.raises(OutsideInbox):
        intake_file(path, ctx)
    assert_untouched(ctx, secret, before, b"TOPSECRET")


def test_symlink_in_the_inbox_to_a_secret_file(ctx, tmp_path) -> None:
    """Attack: a symlink dropped in the inbox pointing at a secret file elsewhere (archived, downloadable)."""
    secret = secret_outside(tmp_path)
    before = snapshot(secret)
    link = ctx.settings.inbox / "申請書.png"
    link.symlink_to(secret)
    watcher = InboxWatcher(ctx.settings.inbox, lambda p: None)
    assert watcher.candidates() == [] and watcher.strays() == [link]
    r = intake_file(link, ctx)
    assert r.outcome == "quarantined" and r.detail == "not_regular_file"
    assert not os.path.lexists(link)  # the link itself is taken out of the inbox
    assert_untouched(ctx, secret, before, b"TOPSECRET")
    reasons = list((ctx.settings.quarantine / "not_regular_file").iterdir())
    assert len(reasons) == 1 and reasons[0].name.endswith(REASON_SUFFIX)  # described, nothing kept
    text = reasons[0].read_text(encoding="utf-8")
    assert "シンボリックリンクは受け付けません" in text and "symbolic links are not accepted" in text
    assert text.index("理由:") < text.index("Reason:")
    assert [e.code for e in ctx.store.exceptions()] == ["not_regular_file"]


def test_symlinked_subfolder_in_the_inbox(ctx, tmp_path) -> None:
    """Attack: a symlinked subfolder in the inbox whose files live outside it (walked into, archived)."""
    secret = secret_outside(tmp_path)
    before = snapshot(secret)
    folder = ctx.settings.inbox / "scans"
    folder.symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(OutsideInbox):
        intake_file(folder / secret.name, ctx)
    assert_untouched(ctx, secret, before, b"TOPSECRET")
    watcher = InboxWatcher(ctx.settings.inbox, lambda p: None)
    assert watcher.candidates() == [] and watcher.strays() == [folder]  # not walked into
    r = intake_file(folder, ctx)  # the watcher hands the link over once: it is moved aside, unfollowed
    assert r.outcome == "quarantined" and not os.path.lexists(folder)
    assert_untouched(ctx, secret, before, b"TOPSECRET")
    assert sorted(p.name for p in secret.parent.iterdir()) == [secret.name]


def test_symlinked_folder_inside_the_inbox_is_not_a_way_in(ctx) -> None:
    """Attack: a path through a symlinked component that points elsewhere inside the inbox."""
    inbox = ctx.settings.inbox
    (inbox / "real").mkdir(parents=True)
    target = inbox / "real" / "scan.png"
    target.write_bytes(png("inside"))
    (inbox / "alias").symlink_to(inbox / "real", target_is_directory=True)
    with pytest.raises(OutsideInbox):
        intake_file(inbox / "alias" / "scan.png", ctx)
    assert target.read_bytes() == png("inside") and ctx.store.documents() == []


@pytest.mark.timeout(60)
def test_fifo_in_the_inbox(ctx) -> None:
    """Attack: a FIFO dropped in the inbox (opening it blocks a worker for ever)."""
    fifo = ctx.settings.inbox / "scan.pdf"
    os.mkfifo(fifo)
    r = intake_file(fifo, ctx)
    assert r.outcome == "quarantined" and r.detail == "not_regular_file"
    assert not os.path.lexists(fifo)  # taken out of the inbox, never opened
    reason = next((ctx.settings.quarantine / "not_regular_file").iterdir())
    assert "FIFO" in reason.read_text(encoding="utf-8")
    os.mkfifo(fifo)  # the watcher lists it apart from files, without opening it
    watcher = InboxWatcher(ctx.settings.inbox, lambda p: None)
    assert watcher.candidates() == [] and watcher.strays() == [fifo]


@pytest.mark.timeout(60)
def test_fifo_swapped_in_after_the_check(ctx, monkeypatch) -> None:
    """Attack: a regular file replaced by a FIFO between intake's check and its read (blocks the worker)."""
    import pipeline.intake as pi

    p = ctx.settings.inbox / "scan.png"
    p.write_bytes(png("race"))
    real_check = pi.check_readable

    def swap(path: Path) -> None:
        real_check(path)
        p.unlink()
        os.mkfifo(p)

    monkeypatch.setattr(pi, "check_readable", swap)
    with pytest.raises(OSError):
        intake_file(p, ctx)  # refuses the changed entry at once; the watcher comes back to it
    assert stat.S_ISFIFO(p.lstat().st_mode) and ctx.store.documents() == []


def test_symlink_swapped_in_after_the_check(ctx, tmp_path, monkeypatch) -> None:
    """Attack: a checked inbox file replaced by a symlink to a secret before it is read (O_NOFOLLOW race)."""
    import pipeline.intake as pi

    secret = secret_outside(tmp_path)
    before = snapshot(secret)
    p = ctx.settings.inbox / "scan.png"
    p.write_bytes(png("harmless"))
    real_check = pi.check_readable

    def swap(path: Path) -> None:
        real_check(path)
        p.unlink()
        p.symlink_to(secret)

    monkeypatch.setattr(pi, "check_readable", swap)
    with pytest.raises(OSError):
        intake_file(p, ctx)
    assert p.is_symlink()  # left for the next scan, which will move the link aside
    assert_untouched(ctx, secret, before, b"TOPSECRET")


@pytest.mark.timeout(300)
def test_process_file_flow_with_an_outside_path(tmp_path) -> None:
    """Attack: an unauthenticated Prefect API caller starts process-file with a path outside the inbox."""
    from flows.process import process_file
    from flows.runtime import context

    secret = secret_outside(tmp_path, "TOPSECRET-flow")
    before = snapshot(secret)
    home = context().settings.home
    state = process_file(str(secret), return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), OutsideInbox)
    assert secret.exists() and snapshot(secret) == before
    assert nothing_contains(home, b"TOPSECRET-flow")
    digest = __import__("hashlib").sha256(before[0]).hexdigest()
    assert context().store.document_by_sha(digest) is None


def test_600_same_named_files_quarantined_from_8_threads(tmp_path) -> None:
    """Attack: same-named files quarantined concurrently from 8 reader threads (check-then-replace lost some)."""
    quarantine = tmp_path / "quarantine"
    sources = []
    for i in range(600):
        folder = tmp_path / "in" / f"{i:03d}"
        folder.mkdir(parents=True)
        src = folder / "申請書.pdf"
        src.write_bytes(f"not a scan {i}".encode())
        sources.append(src)
    err = UnsupportedFileType("PDF・TIFF・JPEG・PNG 以外のファイルです", "not a PDF, TIFF, JPEG or PNG file")
    start = threading.Barrier(8)

    def work(chunk: list[Path]) -> None:
        start.wait()
        for src in chunk:
            quarantine_file(src, quarantine, err, move=True)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, [sources[i::8] for i in range(8)]))
    folder = quarantine / err.code
    kept = stored(folder)
    assert len(kept) == 600
    assert sorted(p.read_bytes() for p in kept) == sorted(f"not a scan {i}".encode() for i in range(600))
    for p in kept:
        assert NEUTRAL.match(p.name), p.name
        text = p.with_name(p.name + REASON_SUFFIX).read_text(encoding="utf-8")
        assert "申請書.pdf" in text and p.name in text
    assert len(list(folder.iterdir())) == 1200  # each file and its reason; no temp files left
    assert not any(src.exists() for src in sources)


def test_quarantine_names_that_clash_are_retried_not_replaced(tmp_path, monkeypatch) -> None:
    """Attack: every thread draws the same quarantine name at once (a clash must not overwrite)."""
    import intake.files

    monkeypatch.setattr(intake.files, "new_id", lambda: "deadbeef")
    quarantine = tmp_path / "quarantine"
    sources = []
    for i in range(160):
        src = tmp_path / "in" / f"{i:03d}" / "scan.pdf"
        src.parent.mkdir(parents=True)
        src.write_bytes(f"bytes {i}".encode())
        sources.append(src)
    err = UnsupportedFileType("不明", "unknown")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda s: quarantine_file(s, quarantine, err, move=True), sources))
    kept = stored(quarantine / err.code)
    assert sorted(p.read_bytes() for p in kept) == sorted(f"bytes {i}".encode() for i in range(160))
    assert all((p.with_name(p.name + REASON_SUFFIX)).exists() for p in kept)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("申請書<img src=x onerror=alert(1)>.html", b"<html><script>alert(document.cookie)</script></html>"),
        (
            "申請書.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
        ),
    ],
)
def test_html_and_svg_are_stored_under_neutral_names(ctx, name, data) -> None:
    """Attack: stored XSS through a quarantined .html/.svg file kept under the attacker's name and extension."""
    p = ctx.settings.inbox / name
    p.write_bytes(data)
    r = intake_file(p, ctx)
    assert r.outcome == "quarantined" and r.detail == "unsupported_file_type" and not p.exists()
    kept = stored(ctx.settings.quarantine / "unsupported_file_type")
    assert len(kept) == 1 and NEUTRAL.match(kept[0].name) and kept[0].suffix == ".bin"
    assert kept[0].read_bytes() == data
    for f in ctx.settings.home.rglob("*"):
        assert "<" not in f.name and f.suffix not in (".html", ".svg", ".htm"), f
    reason = kept[0].with_name(kept[0].name + REASON_SUFFIX).read_text(encoding="utf-8")
    assert name in reason  # the clerk still sees what was dropped
    item = ctx.store.exceptions()[0]
    assert item.source_name == name


def test_accepted_scan_with_a_dangerous_extension(ctx) -> None:
    """Attack: a real PNG named .html is accepted and archived under its .html name (served as HTML)."""
    p = ctx.settings.inbox / "申請書<script>.html"
    data = png("polyglot")
    p.write_bytes(data)
    r = intake_file(p, ctx)
    assert r.outcome == "accepted"
    doc = ctx.store.document(r.document_id)
    archived = Path(doc.archive_path)
    assert archived.suffix == ".png" and ".html" not in archived.name and "<" not in archived.name
    assert archived.read_bytes() == data and doc.original_name == p.name


def test_redrop_of_a_quarantined_document_is_retried(ctx) -> None:
    """Attack: re-dropping a quarantined file, as its reason file says, deleted it silently as a duplicate."""
    from pipeline.reading import quarantine_document

    data = png("unknown form")
    p = ctx.settings.inbox / "受診状況等証明書.png"
    p.write_bytes(data)
    first = intake_file(p, ctx)
    doc = ctx.store.document(first.document_id)
    quarantine_document(ctx, doc, UnknownForm("登録された様式ではありません", "not a registered form"))
    reason = next((ctx.settings.quarantine / "unknown_form").glob("*" + REASON_SUFFIX))
    assert "読み取りをやり直します" in reason.read_text(encoding="utf-8")  # what the clerk is told

    p.write_bytes(data)  # the clerk drops the same file again (a template was added meanwhile)
    again = intake_file(p, ctx)
    assert again.outcome == "accepted" and again.document_id == doc.id and again.detail == "retry"
    assert ctx.store.document(doc.id).status == DocStatus.RECEIVED  # read again by the flow
    assert not p.exists() and not (ctx.settings.quarantine / "duplicate").exists()
    assert [e.action for e in ctx.store.audit_events(doc.id) if e.action == "intake.retry"] == [
        "intake.retry"
    ]
    assert ctx.store.exceptions(document_id=doc.id) == []  # the old refusal is closed, not left open
    assert len(ctx.store.documents()) == 1


def test_redrop_of_a_known_document_is_kept_with_a_reason(ctx) -> None:
    """Attack: re-dropping an already keyed file deleted the new copy silently (a duplicate, no trace)."""
    data = png("keyed once")
    p = ctx.settings.inbox / "申請書.png"
    p.write_bytes(data)
    doc_id = intake_file(p, ctx).document_id
    ctx.store.set_status(doc_id, DocStatus.KEYED)

    p.write_bytes(data)  # dropped again
    r = intake_file(p, ctx)
    assert r.outcome == "duplicate" and r.document_id == doc_id and not p.exists()
    kept = stored(ctx.settings.quarantine / "duplicate")
    assert len(kept) == 1 and kept[0].read_bytes() == data and NEUTRAL.match(kept[0].name)
    text = kept[0].with_name(kept[0].name + REASON_SUFFIX).read_text(encoding="utf-8")
    assert f"#{doc_id}" in text and "申請書.png" in text and "受付" in text
    assert text.index("理由:") < text.index("Reason:") and "削除されていません" in text
    assert ctx.store.document(doc_id).status == DocStatus.KEYED
    assert "intake.duplicate" in [e.action for e in ctx.store.audit_events(doc_id)]
    assert [e.code for e in ctx.store.exceptions(document_id=doc_id)] == ["duplicate"]
    assert not (ctx.settings.archive / "duplicates").exists()


def test_created_files_and_folders_are_not_world_readable(tmp_path) -> None:
    """Attack: another account on the PC reads dejiru.db, the archive and quarantine (world-readable)."""
    from pipeline.context import Context
    from tests.conftest import make_settings

    home = tmp_path / "home"
    old = os.umask(0o022)  # a typical login umask
    try:
        home.mkdir(mode=0o755)  # an older installation left it open
        (home / "dejiru.db").touch(mode=0o644)
        (home / "dejiru.db").chmod(0o644)
        cfg = make_settings(home)
        ctx = Context.create(cfg)
        cfg.secret_key()
        ok = cfg.inbox / "申請書.png"
        ok.write_bytes(png("resident data"))
        assert intake_file(ok, ctx).outcome == "accepted"
        bad = cfg.inbox / "memo.pdf"
        bad.write_bytes(b"PK\x03\x04 not a scan")
        assert intake_file(bad, ctx).outcome == "quarantined"
    finally:
        os.umask(old)
    made = [home, *(p for p in home.rglob("*") if not p.is_relative_to(cfg.inbox))]
    assert len(made) > 8
    for p in made:
        assert stat.S_IMODE(p.lstat().st_mode) & 0o007 == 0, f"{p}: {oct(p.lstat().st_mode)}"
    assert stat.S_IMODE((home / "dejiru.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.secret_file.stat().st_mode) == 0o600


def test_watcher_reports_a_stray_once_not_every_second(tmp_path) -> None:
    """Attack: links and FIFOs dropped in the inbox handed over (and followed) on every scan."""
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"%PDF-1.4 secret")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link.pdf").symlink_to(outside)
    os.mkfifo(inbox / "pipe.pdf")
    (inbox / "real.pdf").write_bytes(b"%PDF-1.4 real")
    assert InboxWatcher(inbox, print).candidates() == [inbox / "real.pdf"]  # links are not candidates
    files: list[Path] = []
    strays: list[Path] = []
    w = InboxWatcher(inbox, files.append, settle=1.0, on_stray=strays.append)
    for t in (0.0, 1.5, 2.0, 3.0, 4.0, 5.0):
        w.scan_once(t)
    assert files == [inbox / "real.pdf"]
    assert sorted(strays) == [inbox / "link.pdf", inbox / "pipe.pdf"]  # once each, while still there

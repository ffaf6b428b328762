"""``dejiru run``: the whole pipeline on one PC, in one command.

Starts (1) Prefect — a local server with its UI, or the embedded API — (2) the demo legacy system,
(3) the review UI, (4) a watcher on the inbox, (5) a reading worker and (6) a keying loop. It resumes
unfinished work first, can seed the inbox with fresh sample scans, prints the addresses to open, and
stops everything cleanly on Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dejiru.config import Settings

log = logging.getLogger("dejiru.run")


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


class UvicornThread:
    """A uvicorn server in a background thread, stoppable from the main thread."""

    def __init__(self, app: Any, host: str, port: int, name: str) -> None:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout: float = 15) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            raise RuntimeError(f"{self.thread.name} did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_prefect_server(cfg: Settings, port: int) -> subprocess.Popen[bytes] | None:
    """A local Prefect server with its UI, or None (embedded API) if it cannot start."""
    if not port_free("127.0.0.1", port):
        log.warning("port %d is busy: using Prefect's embedded API (no UI)", port)
        return None
    exe = Path(sys.executable).with_name("prefect")
    logf = (cfg.home / "prefect-server.log").open("ab")
    proc = subprocess.Popen(
        [str(exe), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=logf,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    if wait_http(f"http://127.0.0.1:{port}/api/health", 120):
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        return proc
    log.warning(
        "Prefect server did not start (see %s): using the embedded API", cfg.home / "prefect-server.log"
    )
    stop_process(proc)
    return None


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a child and its children (prefect server may need a second signal)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=8)
            return
        except subprocess.TimeoutExpired:
            continue


def ensure_admin(ctx: Any) -> str | None:
    """On first start make an ``admin`` account with a random password; returns it to show once."""
    from review.auth import hash_password

    if ctx.store.users():
        return None
    password = secrets.token_urlsafe(9)
    ctx.store.add_user("admin", hash_password(password), "admin", "管理者")
    ctx.store.audit("dejiru", "user.add", detail="admin (first start)")
    return password


def seed_samples(cfg: Settings, count: int, seed: int) -> None:
    """Drop fresh filled sample scans into the inbox as a scanner would (temp name, then rename)."""
    from formkit.registry import all_templates
    from formkit.samples import make_sample, save_scan

    templates = [t for t in all_templates() if t.target]
    staging = cfg.home / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        tpl = templates[i % len(templates)]
        img, _truth = make_sample(tpl, seed + i)
        ext = ("pdf", "jpg", "png")[i % 3]
        name = f"scan_{time.strftime('%Y%m%d_%H%M%S')}_{i + 1:02d}.{ext}"
        tmp = staging / name
        save_scan(img, tmp, 300)
        shutil.move(str(tmp), cfg.inbox / name)
        log.info("sample scan placed in the inbox: %s", name)


@dataclass
class Runner:
    cfg: Settings
    prefect_server: bool = True
    prefect_port: int = 4200
    seed: int = 0
    until_keyed: int | None = None
    #: Run the keying loop (off: read and route only, e.g. to measure reading throughput).
    keying: bool = True
    timeout: float | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run(self) -> int:
        from dejiru import prefect_env

        prefect_env.configure(self.cfg.home)
        from pipeline.context import Context

        self.cfg.ensure_dirs()
        ctx = Context.create(self.cfg)
        recovered = ctx.store.recover()
        if any(recovered.values()):
            log.info("resuming unfinished work: %s", recovered)
        admin_password = ensure_admin(ctx)

        prefect_proc = start_prefect_server(self.cfg, self.prefect_port) if self.prefect_server else None
        from demo.legacy.app import make_app as legacy_app
        from flows.keying import key_approved
        from flows.process import process_document, process_file
        from flows.runtime import close_bots
        from formkit.registry import all_templates
        from intake.watcher import InboxWatcher
        from records.models import DocStatus
        from review.app import create_app

        # The bundled legacy system listens where the settings say; its bot mapping must look there too.
        os.environ.setdefault("DEJIRU_LEGACY_URL", self.cfg.legacy_url)
        servers = [
            UvicornThread(
                legacy_app(self.cfg.home / "legacy" / "legacy.db"),
                "127.0.0.1",
                self.cfg.legacy_port,
                "legacy",
            ),
            UvicornThread(create_app(ctx), self.cfg.review_host, self.cfg.review_port, "review"),
        ]
        for s in servers:
            s.start()

        workers = ThreadPoolExecutor(
            max_workers=int(os.environ.get("DEJIRU_READERS", "2")), thread_name_prefix="reader"
        )
        inflight: dict[str, Future[Any]] = {}
        lock = threading.Lock()

        def submit(key: str, fn: Any, arg: Any, after: Any = None) -> None:
            with lock:
                if key in inflight and not inflight[key].done():
                    return
                fut = workers.submit(fn, arg)
                inflight[key] = fut
            if after is not None:
                fut.add_done_callback(after)

        watcher: InboxWatcher

        def on_file(path: Path) -> None:
            def done(fut: Future[Any]) -> None:
                if fut.exception() is not None:
                    log.error("processing %s failed: %s", path.name, fut.exception())
                    watcher.release(path)

            submit(f"file:{path}", lambda p: process_file(str(p)), path, done)

        watcher = InboxWatcher(
            self.cfg.inbox, on_file, mode=self.cfg.watch_mode, settle=self.cfg.watch_settle
        )
        targets = sorted({t.target for t in all_templates() if t.target})

        def dispatch_and_key() -> None:
            """Resume documents waiting to be read (crash, split pages) and key approved ones."""
            try:
                while not self.stop_event.is_set():
                    for d in ctx.store.documents([DocStatus.RECEIVED], limit=50):
                        if d.id is not None and time.time() - d.received_at.timestamp() > 5:
                            submit(f"doc:{d.id}", process_document, d.id)
                    for target in targets if self.keying else []:
                        if ctx.store.documents([DocStatus.APPROVED], limit=1):
                            key_approved(target)
                    self.stop_event.wait(2.0)
            except Exception:
                log.exception("keying loop stopped")
            finally:
                close_bots()

        from flows.keying import reset_limit

        for target in targets:
            reset_limit(target)
        keyer = threading.Thread(target=dispatch_and_key, name="keying", daemon=True)
        watcher.start()
        keyer.start()
        self.banner(admin_password, prefect_proc is not None)
        if self.seed:
            threading.Thread(
                target=seed_samples, args=(self.cfg, self.seed, int(time.time())), daemon=True
            ).start()

        started = time.monotonic()
        code = 0
        if threading.current_thread() is threading.main_thread():
            # `kill` / a service manager's stop: shut down like Ctrl-C, so the Prefect server is stopped too
            # (an orphaned one keeps its port and the next start falls back to the embedded API).
            signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())
        try:
            while not self.stop_event.is_set():
                time.sleep(0.5)
                if self.timeout and time.monotonic() - started > self.timeout:
                    log.warning("stopping after %.0f s", self.timeout)
                    code = 1
                    break
                if (
                    self.until_keyed is not None
                    and ctx.store.count_by_status().get(DocStatus.KEYED, 0) >= self.until_keyed
                ):
                    log.info("%d record(s) keyed: stopping as asked", self.until_keyed)
                    break
        except KeyboardInterrupt:
            print("\n停止しています… / stopping…", flush=True)
            # Ctrl-C also reached Playwright's driver (same process group); its dying words are noise.
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        finally:
            self.stop_event.set()
            watcher.stop()
            keyer.join(timeout=60)
            workers.shutdown(wait=True, cancel_futures=True)
            for s in servers:
                s.stop()
            if prefect_proc is not None:
                stop_process(prefect_proc)
        self.summary(ctx)
        return code

    def banner(self, admin_password: str | None, prefect_ui: bool) -> None:
        c = self.cfg
        lines = [
            "",
            "dejiru が動いています / dejiru is running",
            f"  受付フォルダ / inbox           : {c.inbox}",
            f"  確認画面 / review UI          : http://{c.review_host}:{c.review_port}/",
            f"  デモ業務システム / legacy demo : {c.legacy_url}/login  (demo / demo1234)",
        ]
        if prefect_ui:
            lines.append(f"  Prefect UI                     : http://127.0.0.1:{self.prefect_port}/")
        if admin_password:
            lines.append(
                f"  初回ログイン / first login     : admin / {admin_password}   (dejiru user add で追加)"
            )
        lines += ["  止めるには Ctrl-C / Ctrl-C to stop", ""]
        print("\n".join(lines), flush=True)

    def summary(self, ctx: Any) -> None:
        counts = ctx.store.count_by_status()
        print("状態 / status: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), flush=True)

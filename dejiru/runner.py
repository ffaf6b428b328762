"""``dejiru run``: the whole pipeline on one PC, in one command.

Starts (1) Prefect — a local server with its UI, or the embedded API — (2) the demo legacy system,
(3) the review UI, (4) a watcher on the inbox that starts a ``process-file`` run per complete file on
a pool of readers, and (5) prefect.yaml's deployments at their schedules and trigger events (sweep,
keying on approval, daily summary; ``dejiru/local_runs.py``). It resumes unfinished work first, can
seed the inbox with fresh sample scans, prints the addresses to open, and stops everything cleanly on
Ctrl-C.
"""

from __future__ import annotations

import contextlib
import logging
import os
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

from core.errors import DejiruError, StartupFailed
from core.settings import Settings

log = logging.getLogger("dejiru.run")
#: In DEJIRU_HOME once ``dejiru run`` seeded the demo history: it is seeded once per installation.
DEMO_HISTORY_MARKER = "demo-history.seeded"


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Wait until ``url`` answers, giving up early if ``proc`` (the server behind it) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
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

        self.host, self.port = host, port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout: float = 15) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        # uvicorn ends its thread when it cannot bind: do not wait out the timeout then.
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            self.stop()
            raise StartupFailed(
                f"{self.thread.name} を {self.host}:{self.port} で起動できませんでした（ポート使用中?）",
                f"{self.thread.name} did not start on {self.host}:{self.port} (port in use?)",
            )

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)


def check_ports(ports: list[tuple[str, str, str, int, str]]) -> None:
    """Fail before anything starts if a port ``dejiru run`` must own is taken or named twice.

    ``ports`` holds, per service: its name in Japanese and in English, host, port, and the setting
    that moves it (named in the message, so that the clerk knows what to change).
    """
    seen: dict[int, str] = {}
    for ja, en, host, port, setting in ports:
        if port in seen:
            raise StartupFailed(
                f"{ja}と{seen[port]}が同じポート {port} に設定されています（{setting}）",
                f"the {en} and another service are both set to port {port} ({setting})",
            )
        seen[port] = ja
        if not port_free(host, port):
            raise StartupFailed(
                f"{ja}のポート {host}:{port} は使用中です。dejiru がすでに動いていないか確かめるか、"
                f"{setting} で別のポートを指定してください。",
                f"the {en}'s port {host}:{port} is in use: check that dejiru is not running already,"
                f" or set {setting} to another port.",
            )


def start_prefect_server(cfg: Settings, port: int, auth: str) -> subprocess.Popen[bytes] | None:
    """A local Prefect server with its UI on loopback, locked with ``auth``, or None (embedded API)
    if it cannot start. The child never outlives a failed start, an interrupted wait included."""
    from dejiru import prefect_env

    if not port_free("127.0.0.1", port):
        log.warning("port %d is busy: using Prefect's embedded API (no UI)", port)
        return None
    url = f"http://127.0.0.1:{port}"
    argv, env = prefect_env.server_command("127.0.0.1", port, public_url=url)
    with (cfg.home / "prefect-server.log").open("ab") as logf:
        proc = subprocess.Popen(
            argv,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=env | {prefect_env.SERVER_AUTH: auth, prefect_env.CLIENT_AUTH: auth},
            start_new_session=True,
        )
    try:
        up = wait_http(f"{url}/api/health", 120, proc)
    except BaseException:
        stop_process(proc)
        raise
    if up:
        os.environ["PREFECT_API_URL"] = f"{url}/api"
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
    """On first start make an ``admin`` account with a one-time password; returns it to show once.
    It is printed in a terminal, so the first login must replace it."""
    from review.auth import hash_password, one_time_password

    if ctx.store.users():
        return None
    password = one_time_password()
    with ctx.store.unit() as uow:
        uow.add_user("admin", hash_password(password), "admin", "管理者", must_change_password=True)
        uow.audit("dejiru", "user.add", detail="admin (first start)")
    return password


def seed_samples(cfg: Settings, count: int, seed: int) -> None:
    """Drop fresh filled sample scans into the inbox as a scanner would (temp name, then rename)."""
    from formkit.registry import all_templates
    from synth.samples import make_sample, save_scan

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
    #: Seed the demo history into an empty store once (None: DEJIRU_DEMO_HISTORY); only on the demo.
    demo_history: bool | None = None
    timeout: float | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    #: The mapping of the bundled demo legacy system; it is started only when a template keys into it.
    DEMO_SYSTEM = "demo_legacy"

    @property
    def demo_targeted(self) -> bool:
        from formkit.registry import all_templates

        return any(self.DEMO_SYSTEM in t.keyed_into for t in all_templates())

    def run(self) -> int:
        from dejiru import prefect_env

        prefect_env.configure(self.cfg.home)
        # Ports first, before anything starts or the database is touched: a busy port is most often
        # another `dejiru run` on this PC, whose half-done work `recover()` must not reset.
        try:
            ports = [
                ("確認画面", "review UI", self.cfg.review_host, self.cfg.review_port, "DEJIRU_REVIEW_PORT")
            ]
            if self.demo_targeted:
                ports.append(
                    (
                        "デモ業務システム",
                        "legacy demo",
                        "127.0.0.1",
                        self.cfg.legacy_port,
                        "DEJIRU_LEGACY_PORT",
                    )
                )
            check_ports(ports)
        except StartupFailed as err:
            return self.refuse(err)
        # One secret per run locks this run's Prefect API, the local server's or the embedded one
        # (Prefect serves that on a random loopback port too): another account on this PC, or a web
        # page reaching loopback by DNS rebinding, cannot start flows. The UI asks for it once.
        auth = prefect_env.new_auth_string()
        prefect_env.use_auth(auth)
        from pipeline.context import Context

        self.cfg.ensure_dirs()
        ctx = Context.create(self.cfg)
        recovered = ctx.store.recover()
        if any(recovered.values()):
            log.info("resuming unfinished work: %s", recovered)
        admin_password = ensure_admin(ctx)
        self.seed_demo_history(ctx)

        starting = True
        if threading.current_thread() is threading.main_thread():
            # `kill` / a service manager's stop: shut down like Ctrl-C, so the Prefect server is stopped
            # too (an orphaned one keeps its port and the next start falls back to the embedded API);
            # while starting, abandon the start-up the same way.
            def on_term(*_: object) -> None:
                self.stop_event.set()
                if starting:
                    raise KeyboardInterrupt

            signal.signal(signal.SIGTERM, on_term)

        # Everything started is stopped by `stack`, in reverse order, however start-up or the run ends.
        with contextlib.ExitStack() as stack:
            try:
                prefect_proc = self.start(stack, ctx, auth)
            except StartupFailed as err:
                return self.refuse(err)
            except KeyboardInterrupt:
                print("\n停止しています… / stopping…", flush=True)
                return 130
            finally:
                starting = False  # a second signal must not cut short the stopping
            self.banner(admin_password, auth if prefect_proc is not None else None)
            if self.seed:
                threading.Thread(
                    target=seed_samples, args=(self.cfg, self.seed, int(time.time())), daemon=True
                ).start()
            code = self.wait(ctx)
        self.summary(ctx)
        return code

    def start(self, stack: contextlib.ExitStack, ctx: Any, auth: str) -> subprocess.Popen[bytes] | None:
        """Start Prefect, the servers, the readers, the deployments' runs and the watcher; each one's stop
        goes on ``stack`` as soon as it runs. Returns the local Prefect server, if one started."""
        prefect_proc = (
            start_prefect_server(self.cfg, self.prefect_port, auth) if self.prefect_server else None
        )
        if prefect_proc is not None:
            stack.callback(stop_process, prefect_proc)
        from dejiru.local_runs import run_here
        from demo.legacy.app import make_app as legacy_app
        from flows.events import announce_approved, listen
        from flows.process import process_file
        from intake.watcher import InboxWatcher
        from review.app import create_app

        review = create_app(ctx, on_approved=announce_approved)
        servers = [UvicornThread(review, self.cfg.review_host, self.cfg.review_port, "review")]
        if self.demo_targeted:
            # The bundled legacy system listens where the settings say; its bot mapping must look there
            # too. Only when a template keys into it: a city's own mapping that happens to read the
            # same variable must never be pointed at the demo.
            os.environ.setdefault("DEJIRU_LEGACY_URL", self.cfg.legacy_url)
            servers.insert(
                0,
                UvicornThread(
                    legacy_app(self.cfg.home / "legacy" / "legacy.db"),
                    "127.0.0.1",
                    self.cfg.legacy_port,
                    "legacy",
                ),
            )
        for s in servers:
            s.start()
            stack.callback(s.stop)

        workers = ThreadPoolExecutor(max_workers=self.cfg.readers, thread_name_prefix="reader")
        stack.callback(workers.shutdown, wait=True, cancel_futures=True)
        inflight: dict[str, Future[Any]] = {}
        lock = threading.Lock()

        watcher: InboxWatcher

        def on_file(path: Path) -> None:
            """The file trigger (Prefect has none): one ``process-file`` run per complete file."""
            key = str(path)
            with lock:
                if key in inflight and not inflight[key].done():
                    return
                fut = inflight[key] = workers.submit(run_here, process_file, key)

            def done(fut: Future[Any]) -> None:
                if fut.exception() is not None:
                    log.error("processing %s failed: %s", path.name, fut.exception())
                    watcher.release(path)

            fut.add_done_callback(done)

        watcher = InboxWatcher(
            self.cfg.inbox, on_file, mode=self.cfg.watch_mode, settle=self.cfg.watch_settle
        )
        runs = self.local_runs()
        stack.callback(runs.stop)
        stack.callback(listen(runs.fire))  # approvals (review UI, straight through) start keying
        runs.start()
        watcher.start()
        stack.callback(watcher.stop)
        return prefect_proc

    def seed_demo_history(self, ctx: Any) -> None:
        """On the demo (a template keys into the bundled legacy system), a new installation's KPI page
        shows weeks of made-up applications (``pipeline.demo_history``), seeded once into an empty
        store; never on a city's own setup, and never again once removed."""
        wanted = self.cfg.demo_history if self.demo_history is None else self.demo_history
        if not wanted or not self.demo_targeted:
            return
        from core import clock
        from pipeline.demo_history import DEFAULT_SEED, DEFAULT_WEEKS, seed_once

        try:
            counts = seed_once(
                ctx.store, self.cfg.home / DEMO_HISTORY_MARKER, DEFAULT_WEEKS, DEFAULT_SEED, clock.today()
            )
        except DejiruError as err:  # a demo nicety: never a reason not to start
            log.warning("demo history not seeded: %s", err.en)
            return
        if counts:
            log.info("demo history seeded (remove with `dejiru demo-history --remove`): %s", counts)

    def local_runs(self) -> Any:
        """prefect.yaml's deployments, to run here at their schedules and triggers (see
        ``dejiru/local_runs.py``): the sweep and keying at once too, for work left by a stop."""
        from dejiru.local_runs import LocalRuns
        from flows.keying import key_approved, reset_limit
        from flows.runtime import close_bots
        from flows.schedule import deployments
        from formkit.registry import all_templates

        deps = deployments()
        keying = [d for d in deps if d.flow() is key_approved]
        if not self.keying:
            deps = [d for d in deps if d not in keying]
            keying = []
        keyed = {str(d.parameters.get("target", "demo_legacy")) for d in keying}
        for target in keyed:
            reset_limit(target)  # alone on this API: a slot a killed run left is nobody's
        unkeyed = {s for t in all_templates() for s in t.keyed_into} - keyed if self.keying else set()
        for target in sorted(unkeyed):
            log.warning(
                "no key-approved deployment in prefect.yaml keys into %s: its approved records wait", target
            )
        return LocalRuns(
            deps,
            at_start=lambda d: any(s.interval is not None for s in d.schedules),
            on_thread_end=close_bots,  # each keying thread's browser
        )

    def wait(self, ctx: Any) -> int:
        """Run until Ctrl-C, SIGTERM, the timeout or the asked number of keyed records."""
        started = time.monotonic()
        code = 0
        try:
            while not self.stop_event.is_set():
                time.sleep(0.5)
                if self.timeout and time.monotonic() - started > self.timeout:
                    log.warning("stopping after %.0f s", self.timeout)
                    code = 1
                    break
                if self.until_keyed is not None and self.keyed_here(ctx) >= self.until_keyed:
                    log.info("%d record(s) keyed: stopping as asked", self.until_keyed)
                    break
        except KeyboardInterrupt:
            print("\n停止しています… / stopping…", flush=True)
            # Ctrl-C also reached Playwright's driver (same process group); its dying words are noise.
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        finally:
            self.stop_event.set()
        return code

    @staticmethod
    def keyed_here(ctx: Any) -> int:
        """Documents keyed, not counting the demo history's (made up, keyed before this run)."""
        from records.models import DocStatus

        keyed: int = ctx.store.count_by_status().get(DocStatus.KEYED, 0)
        return keyed - (ctx.store.demo_documents(DocStatus.KEYED) if keyed else 0)

    @staticmethod
    def refuse(err: DejiruError) -> int:
        """Say why ``dejiru run`` did not start, Japanese first, as the other commands do; the exit
        code is the error's own (a busy port: ``StartupFailed``, 8)."""
        print(f"エラー: {err.ja}\nerror: {err.en}", file=sys.stderr, flush=True)
        return err.exit_code

    def banner(self, admin_password: str | None, prefect_auth: str | None) -> None:
        c = self.cfg
        lines = [
            "",
            "dejiru が動いています / dejiru is running",
            f"  受付フォルダ / inbox           : {c.inbox}",
            f"  確認画面 / review UI          : http://{c.review_host}:{c.review_port}/",
        ]
        if self.demo_targeted:
            lines.append(f"  デモ業務システム / legacy demo : {c.legacy_url}/login  (demo / demo1234)")
        if prefect_auth:
            lines.append(f"  Prefect UI                     : http://127.0.0.1:{self.prefect_port}/")
            lines.append(
                f"  Prefect ログイン / login       : {prefect_auth}   (この実行のみ / this run only)"
            )
        if admin_password:
            lines.append(
                f"  初回ログイン / first login     : admin / {admin_password}   (dejiru user add で追加)"
            )
        lines += ["  止めるには Ctrl-C / Ctrl-C to stop", ""]
        print("\n".join(lines), flush=True)

    def summary(self, ctx: Any) -> None:
        counts = ctx.store.count_by_status()
        print("状態 / status: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), flush=True)

"""Playwright keying: one browser per worker, search-before-create, typed failures with evidence.

A :class:`BotSession` drives Debian's Chromium through a :class:`bots.mapping.Mapping`. Every
failure leaves a screenshot, the page's HTML and a Playwright trace, and is raised as one of the
keying errors in :mod:`core.errors`, mapped from Playwright's own errors here at the edge:
navigation timeouts and HTTP 5xx are ``Transient``; the target's session-timeout page is
``SessionExpired``; its validation messages are ``BusinessRuleRejected``; a selector that is not on
a page that did load is ``TargetScreenChanged``.

Evidence goes to every reviewer, so it must not hand them the target system's password or session:
a trace records one record's steps and is started only after the login (Playwright keeps every
request since tracing started in each chunk's network log, the login form included), and every
file is scrubbed by :mod:`bots.redact` before it is written where reviewers can reach it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

from bots.browser import launch_kwargs
from bots.mapping import Mapping, Receipt, Step
from bots.readback import Filled, describe, shown_same
from bots.redact import Redactor, cookie_secrets, redact_text, scrub_trace, write_atomic
from bots.result import KeyResult
from bots.transforms import render
from core import clock
from core.errors import (
    BusinessRuleRejected,
    ConfigurationError,
    KeyingError,
    ReadBackMismatch,
    SavedValueDiffers,
    SessionExpired,
    TargetScreenChanged,
    TemplateError,
    Transient,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DryRun:
    form_id: str
    #: Receipt of a record already keyed under the probe reference (normally None).
    existing: str | None
    #: Inputs filled, selected or ticked before stopping short of saving.
    filled: int
    screenshot: str


@dataclass
class Evidence:
    paths: dict[str, str] = field(default_factory=dict)


def custom_step(spec: str) -> Callable[[Any, dict[str, Any], Any], None]:
    """The function behind a ``python: module:function`` step (the escape hatch for odd screens)."""
    module, _, name = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise TargetScreenChanged(
            f"ボット定義の Python 手順 {spec} が見つかりません",
            f"the python step {spec} of the bot mapping cannot be found",
            detail=str(exc),
        ) from exc
    return fn


class BotSession:
    """One logged-in browser for one target system; use as a context manager."""

    def __init__(
        self, mapping: Mapping, evidence_dir: Path, headless: bool = True, read_back: bool = True
    ) -> None:
        self.m = mapping
        self.evidence_dir = evidence_dir
        self.headless = headless
        #: Off only to measure what reading back costs (``bench.keying``); keying always reads back.
        self.read_back = read_back
        self.logged_in = False
        #: Whether a record's trace is recording (started after the login, stopped at the record's end).
        self._tracing = False
        #: Session cookie values of the last logins: a page or trace may show one the browser has
        #: dropped since. Bounded: a bot that runs all day logs in again and again.
        self._seen_cookies: deque[str] = deque(maxlen=8)
        self._pw: Any = None
        self._browser: Any = None
        self._context: Any = None
        self.page: Any = None

    # --- lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> BotSession:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(**launch_kwargs(self.headless))
        self._new_context()
        return self

    def _new_context(self) -> None:
        if self._context is not None:
            self._context.close()
        self._tracing = False
        self._context = self._browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        self._context.set_default_timeout(self.m.action_timeout_ms)
        self._context.set_default_navigation_timeout(self.m.navigation_timeout_ms)
        self.page = self._context.new_page()
        # Server errors on pages loaded into a frame (a menu click that fills another frame) never reach
        # a goto's response: remember them so a missing element on an error page counts as transient.
        self._server_errors: list[str] = []
        self.page.on("response", self._note_response)
        self.logged_in = False

    def _start_tracing(self) -> None:
        """Record a trace (DOM snapshots, network) from here on: one record's steps, after the login.

        A whole tracing session, not a chunk of one, per record: Playwright writes every request since
        ``tracing.start`` into each chunk's network log, so a session spanning the login (or earlier
        records, other people's applications) would carry them into this record's evidence.
        """
        from playwright.sync_api import Error as PlaywrightError

        try:
            self._context.tracing.start(screenshots=False, snapshots=True)
        except PlaywrightError:  # still tracing after a stop that failed half-way: start afresh
            self._context.tracing.stop()
            self._context.tracing.start(screenshots=False, snapshots=True)
        self._tracing = True

    def _stop_tracing(self, path: Path | None = None) -> None:
        """End the record's trace: saved raw to ``path`` (a private place, for scrubbing) or discarded."""
        self._tracing = False
        self._context.tracing.stop(path=str(path) if path else None)

    def _secrets(self) -> set[str]:
        """What no evidence may show: the target's password and every session cookie value seen.

        Call only while no trace records: reading the cookies is itself a traced call.
        """
        found = set(self._seen_cookies)
        with contextlib.suppress(Exception):  # a closed context has no cookies left to leak
            found |= cookie_secrets(str(c.get("value", "")) for c in self._context.cookies())
        with contextlib.suppress(TemplateError, ConfigurationError):  # no login: no password to hide
            found.add(self.m.credentials()["password"])
        return found

    def _screenshot(self, secrets: set[str]) -> bytes:
        """The page as a clerk sees it, any text that shows a secret masked (a password input shows
        dots anyway; an old screen may print its session id). Call only while no trace records: the
        mask's locators spell the secrets."""
        mask = [frame.get_by_text(secret) for frame in self.page.frames for secret in sorted(secrets)]
        return bytes(self.page.screenshot(full_page=True, mask=mask))

    def _note_response(self, resp: Any) -> None:
        if resp.status >= 500 and resp.request.resource_type == "document":
            self._server_errors.append(f"HTTP {resp.status} {resp.url}")

    def _raise_if_server_error(self, where: str) -> None:
        if self._server_errors:
            seen, self._server_errors = self._server_errors[-1], []
            raise Transient(
                f"対象システムがエラーを返しました（{seen.split(' http')[0]}）",
                f"the target system answered {seen.split(' http')[0]}",
                detail=f"{where}: {seen}",
            )

    def __exit__(self, *exc: object) -> None:
        for closer in (
            lambda: self._context and self._context.close(),
            lambda: self._browser and self._browser.close(),
            lambda: self._pw and self._pw.stop(),
        ):
            try:
                closer()
            except Exception:  # closing a dead browser must not hide the real error
                log.debug("closing browser failed", exc_info=True)

    # --- primitives ------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return urljoin(self.m.url.rstrip("/") + "/", path.lstrip("/"))

    def _target(self, frame: str | None) -> Any:
        """The top page, or the named frame of a frameset (waiting briefly for it to attach)."""
        if frame is None:
            return self.page
        deadline = time.monotonic() + self.m.action_timeout_ms / 1000
        while True:
            found = self.page.frame(name=frame)
            if found is not None:
                return found
            if self._expired():
                raise self._session_expired(f"frame {frame}")
            if time.monotonic() > deadline:
                raise TargetScreenChanged(
                    f"画面が想定と違います（フレーム {frame} がありません）。ボット定義の更新が必要です",
                    f"the screen changed: frame {frame} is missing; the bot mapping needs updating",
                    detail=f"frame {frame}",
                )
            self.page.wait_for_timeout(100)

    def _goto(self, path: str, frame: str | None = None, *, check_session: bool = True) -> None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            resp = self._target(frame).goto(self._url(path), wait_until="domcontentloaded")
        except PlaywrightTimeout as exc:
            raise Transient(
                "対象システムの応答がありません（タイムアウト）",
                "the target system did not answer in time",
                detail=path,
            ) from exc
        except PlaywrightError as exc:
            raise Transient(
                "対象システムに接続できません", "cannot reach the target system", detail=f"{path}: {exc}"
            ) from exc
        self._check_response(resp, path, check_session=check_session)

    def _expired(self) -> bool:
        """The target's session-timeout page, in the top page or in any frame of it."""
        try:
            return any(fr.locator(self.m.session_expired).count() > 0 for fr in self.page.frames)
        except Exception:  # a frame detached while we looked: look again next time
            return False

    def _session_expired(self, where: str) -> SessionExpired:
        self.logged_in = False
        return SessionExpired(
            "対象システムのセッションが切れました", "the target system's session expired", detail=where
        )

    def _check_response(self, resp: Any, where: str, *, check_session: bool = True) -> None:
        if resp is not None and resp.status >= 500:
            raise Transient(
                f"対象システムがエラーを返しました（HTTP {resp.status}）",
                f"the target system answered HTTP {resp.status}",
                detail=where,
            )
        if check_session and self._expired():
            raise self._session_expired(where)

    def _step(self, step: Step, record: dict[str, Any], *, check_session: bool = True) -> Filled | None:
        """Do one step; for an input set (fill, select, check, uncheck), what to read back."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if step.when is not None and not render(step.when, record):
            return None
        selector = str(render(step.selector, record))
        value = render(step.value, record)
        if step.action == "goto":
            self._goto(selector, step.frame, check_session=check_session)
            return None
        target = self._target(step.frame)
        try:
            if step.action == "fill":
                target.locator(selector).fill("" if value is None else str(value))
            elif step.action == "select":
                target.locator(selector).select_option(value if isinstance(value, list) else [str(value)])
            elif step.action == "check":
                target.locator(selector).check()
            elif step.action == "uncheck":
                target.locator(selector).uncheck()
            elif step.action == "wait":
                target.locator(selector).first.wait_for(state="visible")
            elif step.action == "python":
                custom_step(selector)(target, record, value)
            elif step.action == "click":
                if step.dialog:
                    self.page.once("dialog", lambda d: d.accept() if step.dialog == "accept" else d.dismiss())
                if step.navigates:
                    with target.expect_navigation(wait_until="domcontentloaded") as nav:
                        target.locator(selector).click()
                    self._check_response(nav.value, selector, check_session=check_session)
                else:
                    target.locator(selector).click()
        except PlaywrightTimeout as exc:
            self._raise_if_server_error(selector)
            if check_session and self._expired():
                raise self._session_expired(selector) from exc
            # The page loaded (goto checked that) but the element is not there: the screen changed.
            raise TargetScreenChanged(
                f"画面が想定と違います（項目 {selector} が見つかりません）。ボット定義の更新が必要です",
                f"the screen changed: {selector} not found; the bot mapping needs updating",
                detail=f"{step.action} {selector}",
            ) from exc
        if step.action == "fill":
            return Filled(target, "fill", selector, "" if value is None else str(value))
        if step.action == "select":
            return Filled(target, "select", selector, value if isinstance(value, list) else [str(value)])
        if step.action in ("check", "uncheck"):
            return Filled(target, step.action, selector, step.action == "check")
        return None

    def _read_back(self, filled: list[Filled]) -> None:
        """Every input set since the last click still holds the value meant (:mod:`bots.readback`);
        else the record stops here, before anything is saved."""
        if not self.read_back:
            return
        for f in filled:
            loc = f.target.locator(f.selector)
            if f.action == "fill":
                shown: Any = loc.input_value()
            elif f.action == "select":
                shown = loc.evaluate("e => Array.from(e.selectedOptions).map(o => o.value)")
            else:
                shown = loc.is_checked()
            if shown == f.meant if isinstance(f.meant, bool) else shown_same(f.meant, shown):
                continue
            ja, en = (
                describe(f.meant, shown)
                if not isinstance(f.meant, bool)
                else ("チェックが外れました", "the tick was undone")
            )
            raise ReadBackMismatch(
                f"業務システムの項目 {f.selector} に入力した値が保たれませんでした：{ja}。登録はしていません",
                f"{f.selector} did not keep the value typed: {en}; nothing was saved",
                detail=f"{f.action} {f.selector}",
            )

    # --- operations ------------------------------------------------------------------------------------

    def login(self) -> None:
        """Log in, never under a trace: the trace would keep the password (the fill's parameters, the
        input's value in DOM snapshots, the form post) and the session cookie the answer sets. A login
        in the middle of a record ends the record's trace so far (discarded) and starts a new one after.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        resume = self._tracing
        if resume:
            self._stop_tracing()
        record = {"credentials": self.m.credentials()}
        # Twice: a system that drops the new session at once (load, a restart) looks like a refused
        # login the first time; refused credentials are refused again.
        for attempt in (1, 2):
            self._goto(self.m.login.goto, check_session=False)
            for step in self.m.login.steps:
                self._step(step, record, check_session=False)
            try:
                self.page.wait_for_url(self.m.login.landed, timeout=self.m.action_timeout_ms)
            except PlaywrightTimeout as exc:
                if attempt == 1:
                    continue
                raise TargetScreenChanged(
                    "対象システムにログインできません（ID・パスワードまたは画面を確認してください）",
                    "cannot log in to the target system (check credentials or the screen)",
                ) from exc
            self.logged_in = True
            fresh = cookie_secrets(str(c.get("value", "")) for c in self._context.cookies())
            self._seen_cookies.extend(sorted(fresh - set(self._seen_cookies)))
            if resume:
                self._start_tracing()
            return

    def _receipt(self, target: Any, element: Any, spec: Receipt) -> str:
        """The receipt as ``spec`` says (:class:`bots.mapping.Receipt`); none there is a changed screen."""
        import re

        if spec.url:
            text = str(target.url)
        elif spec.attr:
            text = str(element.first.get_attribute(spec.attr) or "")
        else:
            text = str(element.first.inner_text())
        if spec.pattern is not None:
            m = re.search(spec.pattern, text)
            text = (m.group(1) if m.groups() else m.group(0)) if m else ""
        if not text.strip():
            raise TargetScreenChanged(
                "受付番号が画面の想定の場所にありません。ボット定義の receipt の更新が必要です",
                "the receipt number is not where the mapping says; its receipt needs updating",
                detail=f"receipt {spec.model_dump(exclude_defaults=True)}",
            )
        return text.strip()

    def verify(self, form_id: str, record: dict[str, Any]) -> None:
        """The mapping's ``verify``: the saved record opened again shows every value as meant."""
        v = self.m.forms[form_id].verify
        if v is None:
            return
        self._goto(str(render(v.goto, record)))
        target = self._target(v.frame)
        for shown in v.shows:
            selector = str(render(shown.selector, record))
            meant = render(shown.value, record)
            loc = target.locator(selector)
            text = str(loc.first.inner_text()) if loc.count() else None
            if text is not None and shown_same(meant, text):
                continue
            ja, en = (
                describe(meant, text or "") if text is not None else ("項目が見つかりません", "not found")
            )
            raise SavedValueDiffers(
                f"登録はされましたが、登録内容の {selector} が入力した値と違います：{ja}。業務システムで直してください",
                f"the record was saved, but {selector} shows another value: {en}; put it right in the target",
                detail=f"verify {selector} (receipt {record.get('receipt')})",
            )

    def search(self, form_id: str, reference: str) -> str | None:
        s = self.m.forms[form_id].search
        record = {"reference": reference}
        if s.goto:
            self._goto(str(render(s.goto, record)))
        for step in s.steps:
            self._step(step, record)
        target = self._target(s.frame)
        found = target.locator(str(render(s.found, record)))
        if found.count() > 0:
            return self._receipt(target, found, s.receipt)
        if target.locator(s.not_found).count() > 0:
            return None
        self._raise_if_server_error("search")
        if self._expired():
            raise self._session_expired("search")
        raise TargetScreenChanged(
            "照会画面が想定と違います。ボット定義の更新が必要です",
            "the search screen changed; the bot mapping needs updating",
            detail=s.goto or f"{form_id} search",
        )

    def create(self, form_id: str, record: dict[str, Any], *, dry_run: bool = False) -> str:
        c = self.m.forms[form_id].create
        if c.goto:
            self._goto(c.goto)
        filled: list[Filled] = []
        for step in c.steps:
            if step.action in ("click", "goto", "python"):  # may save or leave the screen: check first
                self._read_back(filled)
                filled = []
            if dry_run and step.submit:
                return ""
            done = self._step(step, record)
            if done is not None:
                filled.append(done)
        self._read_back(filled)
        if dry_run:
            return ""
        target = self._target(c.frame)
        ok = target.locator(c.success)
        if ok.count() > 0:
            return self._receipt(target, ok, c.receipt)
        rejected = target.locator(c.rejected)
        if rejected.count() > 0:
            text = " / ".join(" ".join(str(t).split()) for t in rejected.all_inner_texts() if str(t).strip())
            raise BusinessRuleRejected(
                f"対象システムが登録を受け付けませんでした: {text}",
                f"the target system rejected the record: {text}",
                detail=text,
            )
        self._raise_if_server_error("create")
        if self._expired():
            raise self._session_expired("create")
        raise TargetScreenChanged(
            "登録後の画面が想定と違います。ボット定義の更新が必要です",
            "the screen after registering is not the expected one; the bot mapping needs updating",
        )

    def key(self, form_id: str, record: dict[str, Any], reference: str) -> KeyResult:
        """Key one record exactly once: search by our reference first, create only if absent."""

        def run() -> KeyResult:
            found = self.search(form_id, reference)
            if found:
                return KeyResult(found, existed=True)
            receipt = self.create(form_id, record | {"reference": reference})
            self.verify(form_id, record | {"reference": reference, "receipt": receipt})
            return KeyResult(receipt, existed=False)

        return self._traced(form_id, reference, run)

    def find(self, form_id: str, reference: str) -> str | None:
        """Search only: the receipt of the record keyed under ``reference``, if the target has it."""
        return self._traced(form_id, reference, lambda: self.search(form_id, reference))

    def dry_run(self, form_id: str, record: dict[str, Any], reference: str) -> DryRun:
        """Everything ``key`` does except the click that saves: proves a mapping against the live
        screens (``dejiru bot check``) without leaving a record behind."""

        def run() -> str | None:
            existing = self.search(form_id, reference)
            self.create(form_id, record | {"reference": reference}, dry_run=True)
            return existing

        existing = self._traced(form_id, reference, run)
        # Taken once the trace has stopped, scrubbed like any evidence: it may go to whoever asks.
        folder = self.evidence_dir / "check"
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"{form_id}.png"
        try:
            write_atomic(shot, self._screenshot(self._secrets()))
        except Exception as exc:
            raise Transient(
                "入力後の画面を保存できませんでした",
                "could not save the screenshot of the filled screen",
                detail=redact_text(str(exc)[:300], self._secrets()),
            ) from exc
        steps = self.m.forms[form_id].create.steps
        filled = sum(1 for st in steps if not st.submit and st.action in ("fill", "select", "check"))
        return DryRun(form_id, existing, filled, str(shot))

    def _traced(self, form_id: str, reference: str, run: Callable[[], T]) -> T:
        """Log in if needed, run, and turn any failure into a typed error with evidence attached."""
        if form_id not in self.m.forms:
            raise TargetScreenChanged(
                f"{self.m.title} に様式 {form_id} のボット定義がありません",
                f"{self.m.system} has no mapping for form {form_id}",
            )
        self._server_errors = []
        try:
            if not self.logged_in:
                self.login()
            self._start_tracing()
            result = run()
            self._stop_tracing()
            return result
        except KeyingError as err:
            raise self._failed(err, reference) from err
        except Exception as exc:  # Playwright's own errors (a crashed page, a closed browser): worth a retry
            crash = Transient(
                "ブラウザ操作中にエラーが起きました", "the browser failed while keying", detail=str(exc)[:300]
            )
            raise self._failed(crash, reference) from exc

    def _failed(self, err: KeyingError, reference: str) -> KeyingError:
        """The error with its evidence attached and its messages scrubbed too: they reach the
        exception queue, and a Playwright error quotes its call log (``fill("<password>")``)."""
        evidence = self.save_evidence(reference, err.code)  # stops the trace before reading secrets
        err.reword(Redactor(self._secrets()).text)
        return err.with_evidence(evidence)

    def save_evidence(self, reference: str, code: str) -> dict[str, str]:
        """Screenshot, HTML and Playwright trace of the moment something went wrong, with no secret.

        The trace stops first (capturing the page is not part of the record, and reading the
        cookies must not be traced), is saved into a private temporary folder, scrubbed into the
        evidence folder and deleted: the unscrubbed trace never lies where reviewers can reach it.
        Every file is written whole or not at all (a temporary file, then a rename).
        """
        folder = self.evidence_dir / reference
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{clock.stamp()}_{code}"
        out: dict[str, str] = {}
        private = Path(tempfile.mkdtemp(prefix="dejiru-trace-"))  # mode 0700: this user only
        raw: Path | None = private / "raw.trace.zip"
        try:
            if self._tracing:
                try:
                    self._stop_tracing(raw)
                except Exception:
                    log.warning("could not save the trace for %s", reference, exc_info=True)
                    raw = None
            else:  # a failed login: never traced
                raw = None
            secrets = self._secrets()
            try:
                shot = folder / f"{stem}.png"
                write_atomic(shot, self._screenshot(secrets))
                out["screenshot"] = str(shot)
                page_html = folder / f"{stem}.html"
                write_atomic(page_html, redact_text(self.page.content(), secrets).encode("utf-8"))
                out["html"] = str(page_html)
            except Exception:  # the page may be gone; the trace may still tell
                log.warning("could not capture the page for %s", reference, exc_info=True)
            if raw is not None and raw.exists():
                try:
                    trace = folder / f"{stem}.trace.zip"
                    scrub_trace(raw, trace, secrets)
                    out["trace"] = str(trace)
                except Exception:  # no trace rather than an unscrubbed one
                    log.warning("could not scrub the trace for %s", reference, exc_info=True)
        finally:
            shutil.rmtree(private, ignore_errors=True)
        return out

    def restart(self) -> None:
        """A fresh browser context (after a session expiry or a crash of the page)."""
        self._new_context()

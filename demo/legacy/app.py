"""住民記録システム（デモ）: a deliberately old-fashioned legacy web system for the bots to key into.

It behaves like the business systems found in city halls: Shift_JIS pages, a frameset with a menu
on the left, fixed-width inputs, a JavaScript confirm() before registering, server-side validation
messages, an idle session timeout, and a search screen to check whether an application is already
registered. It keeps its own SQLite database so tests can check exactly what was keyed.

Fault injection (for tests and benchmarks) is set by environment variables:
``LEGACY_FAULT_500`` (share of requests answered with HTTP 500), ``LEGACY_SLOW_MS`` (added latency),
``LEGACY_SESSION_TTL`` (idle seconds before the session expires), ``LEGACY_EXPIRE_RATE`` (share of
requests that find their session randomly expired), ``LEGACY_SEED`` (repeatable faults), ``LEGACY_LAYOUT`` (``v2`` renames the inputs, as
a vendor update would).

This is demo code: it is not part of the product and the product never imports it.
"""

from __future__ import annotations

import html
import os
import random
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

#: Windows-31J: what "Shift_JIS" means to browsers (WHATWG) and to most city-hall systems.
ENCODING = "cp932"
USERS = {"demo": "demo1234"}
ERAS = {
    "M": ("明治", 1868),
    "T": ("大正", 1912),
    "S": ("昭和", 1926),
    "H": ("平成", 1989),
    "R": ("令和", 2019),
}
INKAN_PURPOSES = {
    "11": "不動産登記",
    "12": "自動車",
    "13": "契約",
    "14": "相続",
    "15": "融資",
    "99": "その他",
}
PURPOSES = {
    "01": "就職",
    "02": "年金",
    "03": "登録・免許",
    "04": "相続",
    "05": "保険",
    "06": "学校",
    "07": "官公署",
    "99": "その他",
}


@dataclass
class Faults:
    error_rate: float = 0.0
    slow_ms: int = 0
    session_ttl: int = 600
    expire_rate: float = 0.0
    layout: str = "v1"
    #: Seed for the fault dice, so a test sees the same faults in the same order on every run.
    seed: int | None = None
    #: ``POST /_faults/expire`` ends every session (tests only: off in the demo, where any web page the
    #: operator opens could send that request to loopback and log the bot out).
    expire_on_request: bool = False

    @classmethod
    def from_env(cls) -> Faults:
        return cls(
            error_rate=float(os.environ.get("LEGACY_FAULT_500", "0")),
            slow_ms=int(os.environ.get("LEGACY_SLOW_MS", "0")),
            session_ttl=int(os.environ.get("LEGACY_SESSION_TTL", "600")),
            expire_rate=float(os.environ.get("LEGACY_EXPIRE_RATE", "0")),
            layout=os.environ.get("LEGACY_LAYOUT", "v1"),
            seed=int(os.environ["LEGACY_SEED"]) if os.environ.get("LEGACY_SEED") else None,
        )


class LegacyDB:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.Lock()
        with self.connect() as c:
            c.execute(
                """create table if not exists juminhyo (
                    receipt text primary key, ref text unique, shimei text, kana text, birth text,
                    zip text, address text, tel text, visitor text, copies integer, scope text,
                    honseki text, zokugara text, purpose text, purpose_other text, request_date text,
                    created_at text, operator text)"""
            )
            c.execute(
                """create table if not exists uketsuke (
                    receipt text primary key, ref text unique, yoshiki text, shimei text, kana text,
                    birth text, address text, tel text, bikou text, created_at text, operator text)"""
            )
            c.execute(
                """create table if not exists inkan (
                    receipt text primary key, ref text unique, card_no text, shimei text, kana text,
                    birth text, zip text, address text, tel text, copies integer, purpose text,
                    purpose_other text, visitor text, agent_name text, agent_address text,
                    request_date text, created_at text, operator text)"""
            )

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def next_receipt(self, conn: sqlite3.Connection, table: str = "juminhyo") -> str:
        n = conn.execute(f"select count(*) from {table}").fetchone()[0] + 1
        prefix = {"juminhyo": "J", "inkan": "K"}.get(table, "U")
        return f"{prefix}{time.strftime('%y')}-{n:06d}"


def page(title: str, body: str, *, status: int = 200) -> Response:
    doc = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
        "<html><head>"
        '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:'MS UI Gothic',sans-serif;font-size:12px;background:#d4d0c8}"
        "table.f td{border:1px solid #808080;padding:2px 4px}th{background:#0a246a;color:#fff;text-align:left}"
        ".error{color:#c00;font-weight:bold}.title{background:#0a246a;color:#fff;padding:2px}</style>"
        f"</head><body>{body}</body></html>"
    )
    return Response(
        doc.encode(ENCODING, errors="xmlcharrefreplace"),
        status_code=status,
        media_type="text/html; charset=Shift_JIS",
    )


async def form_data(request: Request) -> dict[str, list[str]]:
    raw = await request.body()
    # Browsers percent-encode a form in the page's own charset (here Windows-31J).
    return parse_qs(
        raw.decode("ascii", errors="replace"), keep_blank_values=True, encoding=ENCODING, errors="replace"
    )


def first(data: dict[str, list[str]], key: str) -> str:
    return (data.get(key) or [""])[0].strip()


def rejected(errors: list[str]) -> Response:
    items = "".join(f"<li>{html.escape(e)}</li>" for e in errors)
    return page(
        "入力エラー",
        f'<div class="title">入力エラー</div><ul class="error" id="errors">{items}</ul>'
        '<a href="javascript:history.back()">戻る</a>',
    )


def duplicate(ref: str, receipt: str) -> Response:
    return page(
        "二重登録",
        f'<p class="error" id="errors">整理番号 {html.escape(ref)} は登録済みです（受付番号 {receipt}）。</p>',
    )


def registered(receipt: str, ref: str) -> Response:
    return page(
        "登録完了",
        f"""<div class="title">登録完了</div><p>登録しました。</p>
<table class="f"><tr><td>受付番号</td><td class="receipt" id="receipt">{receipt}</td></tr>
<tr><td>整理番号</td><td>{html.escape(ref)}</td></tr></table>""",
    )


def search_screen(
    db: LegacyDB, table: str, title: str, action: str, param: str, ref: str, form: str = ""
) -> Response:
    """The 照会 screen every register has: by our reference (整理番号), receipt and name."""
    rows = ""
    if ref:
        with db.connect() as c:
            found = c.execute(f"select receipt, ref, shimei from {table} where ref=?", (ref,)).fetchall()
        rows = (
            "".join(
                f'<tr><td class="receipt">{r["receipt"]}</td><td>{html.escape(r["ref"])}</td>'
                f"<td>{html.escape(r['shimei'])}</td></tr>"
                for r in found
            )
            or '<tr><td colspan="3" id="notfound">該当するデータはありません。</td></tr>'
        )
    name = f' name="{form}"' if form else ""
    button = ' name="kensaku"' if form else ""
    return page(
        title,
        f"""<div class="title">{title}</div>
<form method="get" action="{action}"{name}>整理番号 <input type="text" name="{param}" size="12" value="{html.escape(ref)}">
<input type="submit"{button} value="検索"></form>
<table class="f" id="results"><tr><th>受付番号</th><th>整理番号</th><th>氏名</th></tr>{rows}</table>""",
    )


def linked_search(db: LegacyDB, ref: str) -> Response:
    """Layout v3's search: a partial match on the reference (DJ00000001 also finds DJ000000012), each
    row's record only behind a link, no receipt shown."""
    rows = ""
    if ref:
        with db.connect() as c:
            found = c.execute("select receipt, ref from uketsuke where ref like ?", (f"%{ref}%",)).fetchall()
        rows = (
            "".join(
                f'<tr><td class="ref">{html.escape(r["ref"])}</td>'
                f'<td><a class="open" href="/uketsuke/view?receipt={r["receipt"]}">開く</a></td></tr>'
                for r in found
            )
            or '<tr><td id="notfound">0件</td></tr>'
        )
    return page(
        "検索",
        f'<form method="get" action="/uketsuke/search"><input name="ref" value="{html.escape(ref)}">'
        f'<input type="submit" value="検索"></form><table id="results">{rows}</table>',
    )


def make_app(db_path: Path | None = None, faults: Faults | None = None) -> Starlette:
    db = LegacyDB(db_path or Path(os.environ.get("LEGACY_DB", "var/legacy/legacy.db")))
    f = faults or Faults.from_env()
    sessions: dict[str, float] = {}
    dice = random.Random(f.seed)
    injected = {"http_500": 0, "session_expired": 0}
    names = {
        "v1": {"ref": "ref", "shimei": "shimei", "kana": "kana"},
        "v2": {"ref": "uketsuke_ref", "shimei": "name_kanji", "kana": "name_kana"},
        "v3": {"ref": "ref", "shimei": "shimei", "kana": "kana"},
    }[f.layout]

    def session_ok(request: Request) -> bool:
        sid = request.cookies.get("JSESSIONID", "")
        seen = sessions.get(sid)
        if seen is None or time.time() - seen > f.session_ttl:
            sessions.pop(sid, None)
            return False
        if f.expire_rate and dice.random() < f.expire_rate:
            injected["session_expired"] += 1
            sessions.pop(sid, None)
            return False
        sessions[sid] = time.time()
        return True

    def expired() -> Response:
        return page(
            "セッションタイムアウト",
            '<p class="error" id="timeout">セッションの有効期限が切れました。'
            '再度ログインしてください。</p><a href="/login" target="_top">ログイン画面へ</a>',
        )

    async def chaos() -> Response | None:
        if f.slow_ms:
            import asyncio

            await asyncio.sleep(f.slow_ms / 1000 * dice.uniform(0.5, 1.5))
        if f.error_rate and dice.random() < f.error_rate:
            injected["http_500"] += 1
            return page(
                "システムエラー",
                "<h1>500 Internal Server Error</h1><p>ただいま混み合っています。</p>",
                status=500,
            )
        return None

    async def login(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        msg = ""
        if request.method == "POST":
            data = await form_data(request)
            if USERS.get(first(data, "userid")) == first(data, "password"):
                sid = secrets.token_hex(16)
                sessions[sid] = time.time()
                resp = RedirectResponse("/main", status_code=303)
                resp.set_cookie("JSESSIONID", sid, httponly=True, samesite="lax")
                return resp
            msg = '<p class="error">利用者IDまたはパスワードが違います。</p>'
        return page(
            "ログイン",
            f"""<div class="title">住民記録システム　ログイン</div>{msg}
<form method="post" action="/login"><table class="f">
<tr><td>利用者ID</td><td><input type="text" name="userid" size="12" maxlength="12"></td></tr>
<tr><td>パスワード</td><td><input type="password" name="password" size="12" maxlength="16"></td></tr>
</table><input type="submit" name="login" value="ログイン"></form>""",
        )

    async def main(request: Request) -> Response:
        if not session_ok(request):
            return RedirectResponse("/login", status_code=303)
        doc = (
            '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Frameset//EN">\n<html><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><title>住民記録システム</title></head>'
            '<frameset cols="180,*"><frame name="menu" src="/menu"><frame name="content" src="/welcome"></frameset></html>'
        )
        return Response(doc.encode(ENCODING), media_type="text/html; charset=Shift_JIS")

    async def menu(request: Request) -> Response:
        if not session_ok(request):
            return expired()
        return page(
            "メニュー",
            """<div class="title">業務メニュー</div><ul>
<li><a href="/juminhyo/new" target="content" id="menu-new">住民票交付申請　登録</a></li>
<li><a href="/juminhyo/search" target="content" id="menu-search">住民票交付申請　照会</a></li>
<li><a href="/inkan/new" target="content" id="menu-inkan-new">印鑑証明交付申請　登録</a></li>
<li><a href="/inkan/search" target="content" id="menu-inkan-search">印鑑証明交付申請　照会</a></li>
<li><a href="/uketsuke/new" target="content" id="menu-uketsuke-new">汎用受付簿　登録</a></li>
<li><a href="/uketsuke/search" target="content" id="menu-uketsuke-search">汎用受付簿　照会</a></li>
<li><a href="/logout" target="_top">ログアウト</a></li></ul>""",
        )

    async def welcome(request: Request) -> Response:
        if not session_ok(request):
            return expired()
        return page("ようこそ", "<p>左のメニューから業務を選んでください。</p>")

    async def new(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        eras = "".join(f'<option value="{k}">{v[0]}</option>' for k, v in ERAS.items())
        purposes = "".join(f'<option value="{k}">{v}</option>' for k, v in PURPOSES.items())
        return page(
            "住民票交付申請　登録",
            f"""<div class="title">住民票交付申請　登録</div>
<form method="post" action="/juminhyo/create" name="f1" onsubmit="return confirm('登録してよろしいですか？');">
<table class="f">
<tr><td>整理番号</td><td><input type="text" name="{names["ref"]}" size="12" maxlength="12"></td></tr>
<tr><td>請求日</td><td>令和<input type="text" name="req_y" size="2" maxlength="2">年<input type="text" name="req_m" size="2" maxlength="2">月<input type="text" name="req_d" size="2" maxlength="2">日</td></tr>
<tr><td>氏名</td><td><input type="text" name="{names["shimei"]}" size="20" maxlength="20"></td></tr>
<tr><td>氏名カナ</td><td><input type="text" name="{names["kana"]}" size="30" maxlength="30"></td></tr>
<tr><td>生年月日</td><td><select name="birth_era">{eras}</select><input type="text" name="birth_y" size="2" maxlength="2">年<input type="text" name="birth_m" size="2" maxlength="2">月<input type="text" name="birth_d" size="2" maxlength="2">日</td></tr>
<tr><td>郵便番号</td><td><input type="text" name="zip1" size="3" maxlength="3">-<input type="text" name="zip2" size="4" maxlength="4"></td></tr>
<tr><td>住所</td><td><input type="text" name="address" size="50" maxlength="60"></td></tr>
<tr><td>電話番号</td><td><input type="text" name="tel" size="15" maxlength="13"></td></tr>
<tr><td>来庁者</td><td><input type="radio" name="visitor" value="1">本人 <input type="radio" name="visitor" value="2">同一世帯 <input type="radio" name="visitor" value="3">代理人</td></tr>
<tr><td>請求通数</td><td><input type="text" name="copies" size="2" maxlength="2">通</td></tr>
<tr><td>範囲</td><td><input type="radio" name="scope" value="1">世帯全員 <input type="radio" name="scope" value="2">一部</td></tr>
<tr><td>記載事項</td><td><input type="checkbox" name="honseki" value="1">本籍・筆頭者 <input type="checkbox" name="zokugara" value="1">続柄</td></tr>
<tr><td>使用目的</td><td><select name="purpose" multiple size="4">{purposes}</select> その他<input type="text" name="purpose_other" size="20" maxlength="40"></td></tr>
</table>
<input type="submit" name="register" value="登録"> <input type="reset" value="クリア">
</form>""",
        )

    async def create(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        data = await form_data(request)
        ref = first(data, names["ref"])
        errors = validate(data, names)
        if errors:
            return rejected(errors)
        era = first(data, "birth_era")
        birth = f"{ERAS[era][0]}{int(first(data, 'birth_y'))}年{int(first(data, 'birth_m'))}月{int(first(data, 'birth_d'))}日"
        req = f"令和{int(first(data, 'req_y'))}年{int(first(data, 'req_m'))}月{int(first(data, 'req_d'))}日"
        with db.lock, db.connect() as c:
            row = c.execute("select receipt from juminhyo where ref=?", (ref,)).fetchone()
            if row is not None:
                return duplicate(ref, row["receipt"])
            receipt = db.next_receipt(c)
            c.execute(
                "insert into juminhyo values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,datetime('now'),?)",
                (
                    receipt,
                    ref,
                    first(data, names["shimei"]),
                    first(data, names["kana"]),
                    birth,
                    f"{first(data, 'zip1')}-{first(data, 'zip2')}",
                    first(data, "address"),
                    first(data, "tel"),
                    first(data, "visitor"),
                    int(first(data, "copies")),
                    first(data, "scope"),
                    "1" if first(data, "honseki") else "0",
                    "1" if first(data, "zokugara") else "0",
                    ",".join(data.get("purpose", [])),
                    first(data, "purpose_other"),
                    req,
                    "demo",
                ),
            )
        return registered(receipt, ref)

    async def search(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        ref = request.query_params.get("ref", "").strip()
        return search_screen(db, "juminhyo", "住民票交付申請　照会", "/juminhyo/search", "ref", ref)

    async def inkan_new(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        eras = "".join(f'<option value="{k}">{v[0]}</option>' for k, v in ERAS.items())
        purposes = "".join(
            f'<input type="checkbox" name="mokuteki" value="{k}">{v} ' for k, v in INKAN_PURPOSES.items()
        )
        return page(
            "印鑑登録証明書交付申請　登録",
            f"""<div class="title">印鑑登録証明書交付申請　登録</div>
<form method="post" action="/inkan/create" name="f2" onsubmit="return confirm('登録してよろしいですか？');">
<table class="f">
<tr><td>整理番号</td><td><input type="text" name="seiri_no" size="12" maxlength="12"></td></tr>
<tr><td>申請日</td><td>令和<input type="text" name="sin_y" size="2" maxlength="2">年<input type="text" name="sin_m" size="2" maxlength="2">月<input type="text" name="sin_d" size="2" maxlength="2">日</td></tr>
<tr><td>印鑑登録番号</td><td><input type="text" name="card_no" size="8" maxlength="8"></td></tr>
<tr><td>氏名</td><td><input type="text" name="shimei" size="20" maxlength="20"></td></tr>
<tr><td>氏名カナ</td><td><input type="text" name="kana" size="30" maxlength="30"></td></tr>
<tr><td>生年月日</td><td><select name="gengo">{eras}</select><input type="text" name="sei_y" size="2" maxlength="2">年<input type="text" name="sei_m" size="2" maxlength="2">月<input type="text" name="sei_d" size="2" maxlength="2">日</td></tr>
<tr><td>郵便番号</td><td><input type="text" name="yubin" size="8" maxlength="8"></td></tr>
<tr><td>住所</td><td><input type="text" name="jusho" size="50" maxlength="60"></td></tr>
<tr><td>電話番号</td><td><input type="text" name="tel" size="15" maxlength="13"></td></tr>
<tr><td>通数</td><td><input type="text" name="tsusu" size="2" maxlength="2">通</td></tr>
<tr><td>使用目的</td><td>{purposes} その他<input type="text" name="mokuteki_sonota" size="20" maxlength="40"></td></tr>
<tr><td>来庁者</td><td><select name="raichosha"><option value="">--</option><option value="1">本人</option><option value="3">代理人</option></select></td></tr>
<tr><td>代理人氏名</td><td><input type="text" name="dairi_shimei" size="20" maxlength="20"></td></tr>
<tr><td>代理人住所</td><td><input type="text" name="dairi_jusho" size="50" maxlength="60"></td></tr>
</table>
<input type="submit" name="touroku" value="登録"> <input type="reset" value="クリア">
</form>""",
        )

    async def inkan_create(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        data = await form_data(request)
        ref = first(data, "seiri_no")
        errors = validate_inkan(data)
        if errors:
            return rejected(errors)
        era = first(data, "gengo")
        birth = f"{ERAS[era][0]}{int(first(data, 'sei_y'))}年{int(first(data, 'sei_m'))}月{int(first(data, 'sei_d'))}日"
        req = f"令和{int(first(data, 'sin_y'))}年{int(first(data, 'sin_m'))}月{int(first(data, 'sin_d'))}日"
        with db.lock, db.connect() as c:
            row = c.execute("select receipt from inkan where ref=?", (ref,)).fetchone()
            if row is not None:
                return duplicate(ref, row["receipt"])
            receipt = db.next_receipt(c, "inkan")
            c.execute(
                "insert into inkan values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,datetime('now'),?)",
                (
                    receipt,
                    ref,
                    first(data, "card_no"),
                    first(data, "shimei"),
                    first(data, "kana"),
                    birth,
                    first(data, "yubin"),
                    first(data, "jusho"),
                    first(data, "tel"),
                    int(first(data, "tsusu")),
                    ",".join(data.get("mokuteki", [])),
                    first(data, "mokuteki_sonota"),
                    first(data, "raichosha"),
                    first(data, "dairi_shimei"),
                    first(data, "dairi_jusho"),
                    req,
                    "demo",
                ),
            )
        return registered(receipt, ref)

    async def inkan_search(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        ref = request.query_params.get("seiri_no", "").strip()
        return search_screen(
            db, "inkan", "印鑑登録証明書交付申請　照会", "/inkan/search", "seiri_no", ref, "s2"
        )

    async def uketsuke_new(request: Request) -> Response:
        """汎用受付簿: the catch-all register many systems have for procedures without a screen."""
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        return page(
            "汎用受付簿　登録",
            """<div class="title">汎用受付簿　登録</div>
<form method="post" action="/uketsuke/create" name="f3" onsubmit="return confirm('登録してよろしいですか？');">
<table class="f">
<tr><td>整理番号</td><td><input type="text" name="ref" size="12" maxlength="12"></td></tr>
<tr><td>様式名</td><td><input type="text" name="yoshiki" size="40" maxlength="40"></td></tr>
<tr><td>氏名</td><td><input type="text" name="shimei" size="20" maxlength="20"></td></tr>
<tr><td>氏名カナ</td><td><input type="text" name="kana" size="30" maxlength="30"></td></tr>
<tr><td>生年月日（西暦 yyyy/mm/dd）</td><td><input type="text" name="birth" size="10" maxlength="10"></td></tr>
<tr><td>住所</td><td><input type="text" name="address" size="50" maxlength="60"></td></tr>
<tr><td>電話番号</td><td><input type="text" name="tel" size="15" maxlength="13"></td></tr>
<tr><td>備考</td><td><textarea name="bikou" cols="50" rows="4"></textarea></td></tr>
</table>
<input type="submit" name="register" value="登録"> <input type="reset" value="クリア">
</form>"""
            # Layout v3's phone input keeps digits only, as some newer widgets do, whatever was typed.
            + (
                "<script>document.querySelector('input[name=tel]').addEventListener('input',"
                " e => { e.target.value = e.target.value.replace(/[^0-9]/g, ''); });</script>"
                if f.layout == "v3"
                else ""
            ),
        )

    async def uketsuke_create(request: Request) -> Response:
        import re

        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        data = await form_data(request)
        ref = first(data, "ref")
        errors = []
        if not ref:
            errors.append("整理番号を入力してください。")
        if not first(data, "yoshiki"):
            errors.append("様式名を入力してください。")
        if not first(data, "shimei"):
            errors.append("氏名を入力してください。")
        birth = first(data, "birth")
        if birth and not re.fullmatch(r"\d{4}/\d{2}/\d{2}", birth):
            errors.append("生年月日は西暦 yyyy/mm/dd で入力してください。")
        if errors:
            return rejected(errors)
        with db.lock, db.connect() as c:
            row = c.execute("select receipt from uketsuke where ref=?", (ref,)).fetchone()
            if row is not None:
                return duplicate(ref, row["receipt"])
            receipt = db.next_receipt(c, "uketsuke")
            c.execute(
                "insert into uketsuke values (?,?,?,?,?,?,?,?,?,datetime('now'),?)",
                (
                    receipt,
                    ref,
                    first(data, "yoshiki"),
                    # Layout v3 stores a name without its spaces (氏 and 名 run together).
                    first(data, "shimei").replace("\u3000", "")
                    if f.layout == "v3"
                    else first(data, "shimei"),
                    first(data, "kana"),
                    birth,
                    first(data, "address"),
                    first(data, "tel"),
                    first(data, "bikou"),
                    "demo",
                ),
            )
        if f.layout == "v3":  # a newer admin: the record's ID only in the address it opens
            return RedirectResponse(f"/uketsuke/view?receipt={receipt}", status_code=303)
        return registered(receipt, ref)

    async def uketsuke_search(request: Request) -> Response:
        if (bad := await chaos()) is not None:
            return bad
        if not session_ok(request):
            return expired()
        ref = request.query_params.get("ref", "").strip()
        if f.layout == "v3":
            return linked_search(db, ref)
        return search_screen(db, "uketsuke", "汎用受付簿　照会", "/uketsuke/search", "ref", ref)

    async def uketsuke_view(request: Request) -> Response:
        if not session_ok(request):
            return expired()
        receipt = request.query_params.get("receipt", "")
        with db.connect() as c:
            row = c.execute("select ref, shimei from uketsuke where receipt=?", (receipt,)).fetchone()
        if row is None:
            return page("該当なし", '<p id="notfound">該当するデータはありません。</p>', status=404)
        return page(
            "登録内容",
            f'<p id="done">整理番号 {html.escape(row["ref"])} の受付を登録しました。</p>'
            f'<table class="f"><tr><td>氏名</td><td id="shimei">{html.escape(row["shimei"])}</td></tr></table>',
        )

    async def logout(request: Request) -> Response:
        sessions.pop(request.cookies.get("JSESSIONID", ""), None)
        return RedirectResponse("/login", status_code=303)

    async def records(request: Request) -> Response:
        """JSON dump for tests and the demo summary (a real legacy system would not have this)."""
        with db.connect() as c:
            wanted = request.query_params.get("table", "juminhyo")
            table = wanted if wanted in ("juminhyo", "inkan", "uketsuke") else "juminhyo"
            rows = [dict(r) for r in c.execute(f"select * from {table} order by receipt").fetchall()]
        return JSONResponse(rows)

    async def faults_served(request: Request) -> Response:
        """How many faults were injected (for tests and benchmarks)."""
        return JSONResponse(injected)

    async def expire_all(request: Request) -> Response:
        """End every session now, as a timeout or a restart of the system would (for tests: a session
        timed out by the clock would make a test depend on how fast the machine keys)."""
        if not f.expire_on_request:
            return JSONResponse({"detail": "not found"}, status_code=404)
        sessions.clear()
        return JSONResponse({"expired": True})

    return Starlette(
        routes=[
            Route("/_faults", faults_served),
            Route("/_faults/expire", expire_all, methods=["POST"]),
            Route("/", lambda r: RedirectResponse("/login", status_code=303)),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/main", main),
            Route("/menu", menu),
            Route("/welcome", welcome),
            Route("/juminhyo/new", new),
            Route("/juminhyo/create", create, methods=["POST"]),
            Route("/juminhyo/search", search),
            Route("/inkan/new", inkan_new),
            Route("/inkan/create", inkan_create, methods=["POST"]),
            Route("/inkan/search", inkan_search),
            Route("/uketsuke/new", uketsuke_new),
            Route("/uketsuke/create", uketsuke_create, methods=["POST"]),
            Route("/uketsuke/search", uketsuke_search),
            Route("/uketsuke/view", uketsuke_view),
            Route("/logout", logout),
            Route("/_records", records),
        ]
    )


def validate(data: dict[str, list[str]], names: dict[str, str]) -> list[str]:
    """Server-side checks, with the terse messages such systems give."""
    import re

    errors = []
    if not first(data, names["ref"]):
        errors.append("整理番号を入力してください。")
    if not first(data, names["shimei"]):
        errors.append("氏名を入力してください。")
    kana = first(data, names["kana"])
    if not kana or not re.fullmatch(r"[ァ-ヶー　 ]+", kana):
        errors.append("氏名カナは全角カタカナで入力してください。")
    for key, label in (
        ("birth_y", "生年月日（年）"),
        ("birth_m", "生年月日（月）"),
        ("birth_d", "生年月日（日）"),
        ("req_y", "請求日（年）"),
        ("req_m", "請求日（月）"),
        ("req_d", "請求日（日）"),
    ):
        if not first(data, key).isdigit():
            errors.append(f"{label}は半角数字で入力してください。")
    if first(data, "birth_era") not in ERAS:
        errors.append("元号を選択してください。")
    if not (
        first(data, "zip1").isdigit()
        and len(first(data, "zip1")) == 3
        and first(data, "zip2").isdigit()
        and len(first(data, "zip2")) == 4
    ):
        errors.append("郵便番号は3桁-4桁の半角数字で入力してください。")
    if not first(data, "address"):
        errors.append("住所を入力してください。")
    if not re.fullmatch(r"[0-9\-]{10,13}", first(data, "tel")):
        errors.append("電話番号は半角数字とハイフンで入力してください。")
    if first(data, "visitor") not in ("1", "2", "3"):
        errors.append("来庁者を選択してください。")
    copies = first(data, "copies")
    if not copies.isdigit() or not 1 <= int(copies) <= 10:
        errors.append("請求通数は1～10で入力してください。")
    if first(data, "scope") not in ("1", "2"):
        errors.append("範囲を選択してください。")
    if not data.get("purpose"):
        errors.append("使用目的を選択してください。")
    if "99" in data.get("purpose", []) and not first(data, "purpose_other"):
        errors.append("使用目的「その他」の内容を入力してください。")
    return errors


def validate_inkan(data: dict[str, list[str]]) -> list[str]:
    """The 印鑑証明 screen's checks, including a business rule: an agent must be named."""
    import re

    errors = []
    if not first(data, "seiri_no"):
        errors.append("整理番号を入力してください。")
    if not re.fullmatch(r"[0-9]{8}", first(data, "card_no")):
        errors.append("印鑑登録番号は8桁の半角数字で入力してください。")
    if not first(data, "shimei"):
        errors.append("氏名を入力してください。")
    if not re.fullmatch(r"[ァ-ヶー　 ]+", first(data, "kana")):
        errors.append("氏名カナは全角カタカナで入力してください。")
    for key, label in (
        ("sei_y", "生年月日（年）"),
        ("sei_m", "生年月日（月）"),
        ("sei_d", "生年月日（日）"),
        ("sin_y", "申請日（年）"),
        ("sin_m", "申請日（月）"),
        ("sin_d", "申請日（日）"),
    ):
        if not first(data, key).isdigit():
            errors.append(f"{label}は半角数字で入力してください。")
    if first(data, "gengo") not in ERAS:
        errors.append("元号を選択してください。")
    if not re.fullmatch(r"[0-9]{3}-[0-9]{4}", first(data, "yubin")):
        errors.append("郵便番号は「123-4567」の形で入力してください。")
    if not first(data, "jusho"):
        errors.append("住所を入力してください。")
    copies = first(data, "tsusu")
    if not copies.isdigit() or not 1 <= int(copies) <= 10:
        errors.append("通数は1～10で入力してください。")
    if not data.get("mokuteki"):
        errors.append("使用目的を選択してください。")
    if "99" in data.get("mokuteki", []) and not first(data, "mokuteki_sonota"):
        errors.append("使用目的「その他」の内容を入力してください。")
    visitor = first(data, "raichosha")
    if visitor not in ("1", "3"):
        errors.append("来庁者を選択してください。")
    if visitor == "3" and not (first(data, "dairi_shimei") and first(data, "dairi_jusho")):
        errors.append("代理人の場合は代理人の氏名と住所を入力してください。")
    return errors


def serve(host: str = "127.0.0.1", port: int = 8765, db_path: Path | None = None) -> None:
    import uvicorn

    uvicorn.run(make_app(db_path), host=host, port=port, log_level="warning")

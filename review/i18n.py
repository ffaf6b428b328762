"""Screen texts: Japanese first, English on request (the ``lang`` cookie)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("dejiru 確認画面", "dejiru review"),
    "login": ("ログイン", "Log in"),
    "logout": ("ログアウト", "Log out"),
    "username": ("ユーザー名", "User name"),
    "password": ("パスワード", "Password"),
    "login_failed": ("ユーザー名またはパスワードが違います", "Wrong user name or password"),
    "login_locked": (
        "失敗が続いたため、しばらくログインできません。数分後にやり直してください",
        "Too many failed attempts: try again in a few minutes",
    ),
    "queue": ("確認待ち", "Review queue"),
    "exceptions": ("例外", "Exceptions"),
    "keyed": ("登録済み", "Keyed"),
    "audit": ("監査ログ", "Audit log"),
    "users": ("ユーザー", "Users"),
    "received": ("受付日時", "Received"),
    "file": ("ファイル", "File"),
    "form": ("様式", "Form"),
    "status": ("状態", "Status"),
    "fields_to_check": ("要確認項目", "Fields to check"),
    "open": ("開く", "Open"),
    "nothing": ("ありません", "Nothing here"),
    "field": ("項目", "Field"),
    "scan": ("スキャン", "Scan"),
    "value": ("値", "Value"),
    "confidence": ("確からしさ", "Confidence"),
    "reasons": ("理由", "Reasons"),
    "save": ("保存", "Save"),
    "approve": ("承認して登録へ", "Approve for keying"),
    "reject": ("差し戻し", "Reject"),
    "reject_reason": ("差し戻しの理由", "Reason for rejecting"),
    "unreadable": ("判読不能", "Unreadable"),
    "saved": ("保存しました", "Saved"),
    "approved": ("承認しました。登録ロボットが入力します", "Approved: the bot will key it"),
    "rejected_msg": ("差し戻しました", "Rejected"),
    "code": ("種類", "Kind"),
    "message": ("内容", "Message"),
    "evidence": ("証跡", "Evidence"),
    "resolve": ("対応済みにする", "Mark resolved"),
    "when": ("日時", "When"),
    "who": ("誰が", "Who"),
    "action": ("操作", "Action"),
    "old": ("変更前", "Before"),
    "new": ("変更後", "After"),
    "receipt": ("受付番号", "Receipt"),
    "keys_help": (
        "Enter: 確定して次へ　Tab: 次の項目　Ctrl+Enter: 承認　Esc: 元に戻す　F2: 判読不能",
        "Enter: confirm and next · Tab: next field · Ctrl+Enter: approve · Esc: undo · F2: unreadable",
    ),
    "forbidden": ("この画面を見る権限がありません", "You may not see this page"),
    "not_found": ("見つかりません", "Not found"),
    "csrf": (
        "画面の有効期限が切れました。もう一度開いてやり直してください",
        "The page expired: reload it and try again",
    ),
    "lang_switch": ("English", "日本語"),
    "all_forms": ("すべての様式", "All forms"),
    "filter": ("絞り込み", "Filter"),
    "role": ("役割", "Role"),
    "page": ("用紙", "Page"),
    "checks": ("チェック", "Checks"),
    "ok": ("OK", "OK"),
    "search": ("検索", "Search"),
    "search_help": (
        "受付番号・整理番号（DJ…）・受付日（2026-11-24）・書類番号で検索",
        "Search by receipt number, reference (DJ…), date received (2026-11-24) or document number",
    ),
    "kpi": ("実績", "KPIs"),
    "since": ("から", "from"),
    "until": ("まで", "to"),
    "double_check": ("ダブルチェック", "Double check"),
    "double_help": (
        "最初の確認者とは別の方が、用紙を見てこの項目をもう一度入力してください（最初の値は表示されません）",
        "Someone other than the first reviewer keys these fields again from the paper (the first values are hidden)",
    ),
    "double_submit": ("照合する", "Compare"),
    "double_mismatch": (
        "ダブルチェックで一致しなかった項目があります。確認に戻しました",
        "Double check did not match; sent back to review",
    ),
    "double_first": ("最初の確認者", "First reviewer"),
    "docs_per_day": ("日別の受付件数", "Documents per day"),
    "documents": ("書類", "Documents"),
    "straight_rate": ("ストレート処理率（確認なしで登録へ）", "Straight-through rate"),
    "review_median": ("確認にかかった時間（中央値）", "Median review time"),
    "corrections_per_field": ("項目別の修正件数", "Corrections per field"),
    "keying_results": ("業務システムへの入力結果", "Keying results"),
    "seconds": ("秒", "s"),
}


def translator(lang: str):
    i = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = MESSAGES.get(key)
        return pair[i] if pair else key

    return t

"""Field names from labels: the words of Japanese application forms in English, so a proposed field is
``medical_institution_name``, not ``field_07``.

A general vocabulary of administrative forms (people, addresses, dates, money, insurance, health,
welfare), not the words of any one form: the label is cut into the longest known words, kana is
romanised (jaconv), and a kanji no word covers is left out. No dictionary download, no GPL reading
dictionary: the words are here.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

#: Japanese word → name part. Longer words win over the words inside them (被保険者 over 保険).
WORDS: dict[str, str] = {
    # people and relations
    "申請者": "applicant",
    "請求者": "claimant",
    "届出人": "notifier",
    "本人": "self",
    "代理人": "agent",
    "世帯主": "householder",
    "世帯": "household",
    "被保険者": "insured",
    "保険者": "insurer",
    "事業主": "employer",
    "事業所": "office",
    "患者": "patient",
    "医師": "doctor",
    "主治医": "doctor",
    "家族": "family",
    "配偶者": "spouse",
    "続柄": "relationship",
    "子": "child",
    "親": "parent",
    "扶養": "dependent",
    "被扶養者": "dependent",
    "利用者": "user",
    "職員": "staff",
    # names and identifiers
    "氏名": "name",
    "名前": "name",
    "名称": "name",
    "名": "name",
    "氏": "surname",
    "フリガナ": "kana",
    "ふりがな": "kana",
    "番号": "number",
    "記号": "code",
    "コード": "code",
    "個人番号": "individual_number",
    "基礎年金": "basic_pension",
    "整理": "reference",
    "印": "seal",
    "署名": "signature",
    "性別": "sex",
    "男": "male",
    "女": "female",
    "年齢": "age",
    "歳": "age",
    # where
    "住所": "address",
    "所在地": "address",
    "居所": "residence",
    "本籍": "domicile",
    "郵便番号": "postal_code",
    "電話": "phone",
    "連絡先": "contact",
    "方書": "building",
    "施設": "facility",
    "施設名": "facility_name",
    "医療機関": "medical_institution",
    "機関": "institution",
    "病院": "hospital",
    "診療所": "clinic",
    "担当": "in_charge",
    "科": "department",
    "診療科": "department",
    "事業所名": "office_name",
    "ステーション": "station",
    "訪問看護": "home_nursing",
    "看護": "nursing",
    "介護": "care",
    # when
    "生年月日": "birth_date",
    "年月日": "date",
    "日付": "date",
    "期間": "period",
    "期限": "deadline",
    "提出日": "submitted_on",
    "届出日": "notified_on",
    "記入日": "written_on",
    "申請日": "applied_on",
    "取得": "acquisition",
    "喪失": "loss",
    "発病": "onset",
    "初診": "first_visit",
    "終診": "last_visit",
    "受診": "visit",
    "診察": "examination",
    "最終": "last",
    "発症": "onset",
    "開始": "start",
    "終了": "end",
    "年": "year",
    "月": "month",
    "日": "day",
    "時": "hour",
    "回": "times",
    "頃": "about",
    # money and work
    "報酬": "pay",
    "月額": "monthly",
    "金額": "amount",
    "給与": "salary",
    "賃金": "wage",
    "通貨": "cash",
    "現物": "in_kind",
    "合計": "total",
    "手数料": "fee",
    "口座": "account",
    "銀行": "bank",
    "支店": "branch",
    "職業": "occupation",
    "勤務先": "workplace",
    "資格": "qualification",
    # health and welfare
    "病名": "disease",
    "傷病": "disease",
    "傷病名": "disease_name",
    "疾病": "disease",
    "障害": "disability",
    "精神": "mental",
    "身体": "physical",
    "知的": "intellectual",
    "症状": "symptoms",
    "病状": "condition",
    "状態": "state",
    "状況": "status",
    "治療": "treatment",
    "経過": "course",
    "内容": "content",
    "原因": "cause",
    "誘因": "trigger",
    "概要": "summary",
    "方針": "policy",
    "今後": "future",
    "薬剤": "medicine",
    "投与": "dosage",
    "用量": "dose",
    "用法": "usage",
    "処置": "treatment",
    "指示": "instruction",
    "留意": "note",
    "事項": "items",
    "手帳": "handbook",
    "等級": "grade",
    "要介護": "care_level",
    "要支援": "support_level",
    "認定": "certification",
    "意見": "opinion",
    "身長": "height",
    "体重": "weight",
    "血圧": "blood_pressure",
    "視力": "eyesight",
    "聴力": "hearing",
    "検査": "test",
    "結果": "result",
    "健康診断": "health_check",
    "診断": "diagnosis",
    "証明": "certificate",
    "入院": "hospitalisation",
    "通院": "outpatient",
    "在宅": "at_home",
    "服薬": "medication",
    "生活": "life",
    "能力": "ability",
    "日常": "daily",
    "環境": "environment",
    "程度": "degree",
    "判定": "judgement",
    "毛色": "coat_colour",
    "犬": "dog",
    "猫": "cat",
    "動物": "animal",
    "色": "colour",
    "使用": "use",
    "装着": "fitted",
    "機器": "device",
    "医療": "medical",
    "サービス": "service",
    "利用": "use",
    "手続": "procedure",
    "交換": "exchange",
    "サイズ": "size",
    # choices and remarks
    "有無": "presence",
    "有": "yes",
    "無": "no",
    "その他": "other",
    "区分": "category",
    "種別": "kind",
    "理由": "reason",
    "目的": "purpose",
    "備考": "remarks",
    "特記": "special_notes",
    "必要": "needed",
    "要否": "needed",
    "希望": "wish",
    "方法": "method",
    "通数": "copies",
    "部数": "copies",
    "枚数": "sheets",
}
_LONGEST = max(len(w) for w in WORDS)


def name_parts(label: str) -> list[str]:
    """The label's words as name parts, left to right: known words (longest first), kana romanised,
    anything else left out."""
    text = unicodedata.normalize("NFKC", label)
    text = re.sub(r"[\s\d()\[\]「」、。・:：※*#.,/-]+", " ", text)
    out: list[str] = []
    i = 0
    while i < len(text):
        for n in range(min(_LONGEST, len(text) - i), 0, -1):
            part = WORDS.get(text[i : i + n])
            if part is not None:
                out.append(part)
                i += n
                break
        else:
            run = re.match(r"[\u3041-\u309f\u30a0-\u30ffー]+", text[i:])
            if run:  # kana: romanised (a katakana word of the form; a hiragana ending is dropped)
                if re.match(r"[\u30a0-\u30ff]", run.group(0)) and len(run.group(0)) > 1:  # not ア of ア・イ
                    out.append(jaconv.kana2alphabet(jaconv.kata2hira(run.group(0))).replace("-", ""))
                i += len(run.group(0))
            else:
                ascii_word = re.match(r"[A-Za-z]+", text[i:])
                if ascii_word:
                    out.append(ascii_word.group(0).lower())
                    i += len(ascii_word.group(0))
                else:
                    i += 1
    dedup = [p for j, p in enumerate(out) if p and (j == 0 or p != out[j - 1])]
    return [p for p in dedup if re.fullmatch(r"[a-z][a-z0-9_]*", p)]

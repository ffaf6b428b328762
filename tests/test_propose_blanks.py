"""Blanks the print leaves without ruling a cell (gaps before 年 月 日, after 「（」, underlines) and
cells cut by dotted lines (氏 ┆ 名): found on drawn pages, without OCR; and the authoring bench's
scoring, which must count what people drew one to one."""

from __future__ import annotations

import re

import cv2
import numpy as np

from authoring import propose
from authoring.propose.lines import dotted_columns, horizontal_lines
from authoring.propose.slots import gap_slots, underline_slots
from bench.authoring import Unit, match, proposed_units, score
from formkit.model import Box, FieldType
from formkit.registry import parse_template

K = 8.0  # px/mm


def _blank(w_mm: float = 200, h_mm: float = 120) -> np.ndarray:
    return np.full((int(h_mm * K), int(w_mm * K)), 255, np.uint8)


def _rect(img: np.ndarray, x: float, y: float, w: float, h: float) -> None:
    cv2.rectangle(img, (round(x * K), round(y * K)), (round((x + w) * K), round((y + h) * K)), 0, 2)


def _dotted(img: np.ndarray, x: float, y0: float, y1: float) -> None:
    for y in np.arange(y0 + 0.3, y1 - 0.3, 1.0):
        cv2.line(img, (round(x * K), round(y * K)), (round(x * K), round((y + 0.4) * K)), 0, 1)


def T(text: str, x: float, y: float, w: float, h: float = 4.0) -> propose.Text:
    return propose.Text(text, Box(x=x, y=y, w=w, h=h))


def test_gaps_before_units_in_a_cell_are_a_date_and_an_age() -> None:
    cell = Box(x=100, y=10, w=80, h=10)
    texts = [T("年", 120, 13, 4), T("月", 135, 13, 4), T("日生（", 150, 13, 10), T("歳）", 172, 13, 6)]
    found = gap_slots(texts, cell)
    assert [(s.before, s.after) for s in found] == [
        ("", "年"),
        ("年", "月"),
        ("月", "日生("),
        ("日生(", "歳)"),
    ]
    year = found[0].box
    assert (
        abs(year.x - 100.3) < 0.01 and abs(year.x2 - 119.7) < 0.01 and cell.y <= year.y < year.y2 <= cell.y2
    )
    fields = propose.propose(_cells([(100, 10, 80, 10)]), K, texts)
    date = next(f for f in fields if f.type is FieldType.DATE)
    assert set(date.part_boxes) == {"year", "month", "day"}
    assert date.part_boxes["month"].x >= 124 and date.part_boxes["month"].x2 <= 135
    age = next(f for f in fields if f.type is FieldType.NUMBER)
    assert age.box.x >= 160 and age.box.x2 <= 172


def test_spacing_between_words_and_print_are_no_blanks() -> None:
    cell = Box(x=10, y=10, w=120, h=10)
    spaced = [T("申請者", 12, 13, 12), T("本人", 26, 13, 8)]  # 2 mm apart: spacing
    assert gap_slots(spaced, cell) == []
    far = [T("備考", 12, 13, 8), T("説明文", 60, 13, 12)]  # far apart, but nothing closes a blank
    assert gap_slots(far, cell) == []
    opener = [T("ICDコード（", 12, 13, 20)]
    (slot,) = gap_slots(opener, cell)
    assert abs(slot.box.x - 32.3) < 0.01 and slot.box.x2 <= cell.x2


def test_an_underline_after_a_label_is_a_blank_and_a_cell_border_is_not() -> None:
    img = _blank()
    _rect(img, 10, 60, 150, 30)  # a cell ...
    cv2.line(
        img, (round(12 * K), round(70 * K)), (round(100 * K), round(70 * K)), 0, 2
    )  # ... with an underline
    lines = horizontal_lines(img, K)
    cells = propose.ruled_cells(img, K)
    label = T("医師氏名", 12, 65.5, 16)
    (slot,) = underline_slots(lines, cells, [label])
    assert slot.before == "医師氏名"
    assert (
        abs(slot.box.x - 28.3) < 0.3 and abs(slot.box.x2 - 99.7) < 0.5
    )  # after the label, to the line's end
    assert 69 <= slot.box.y2 <= 70.5 and slot.box.h >= 3.0
    # The cell's own top and bottom borders have different cells (or none) above and below: no blank.
    assert all(abs(s.box.y2 - 70) < 1.0 for s in underline_slots(lines, cells, []))


def test_a_dotted_divider_splits_a_cell_into_two_fields() -> None:
    img = _cells([(10, 20, 30, 10), (40, 20, 100, 10)])
    _dotted(img, 90, 20, 30)
    assert [round(x) for x in dotted_columns(img, K, Box(x=40, y=20, w=100, h=10))] == [90]
    texts = [T("氏名", 14, 23, 8), T("（氏）", 41, 20.5, 6, 2.5), T("（名）", 91, 20.5, 6, 2.5)]
    fields = propose.propose(img, K, texts)
    names = sorted((f for f in fields if f.type is FieldType.NAME), key=lambda f: f.box.x)
    assert [f.label for f in names] == ["氏名（氏）", "氏名（名）"]
    assert abs(names[0].box.x2 - 90) < 1.0 and abs(names[1].box.x - 90) < 1.0
    # Printed words in a cell are not a dotted line, however many strokes they have.
    plain = _cells([(40, 20, 100, 10)])
    cv2.putText(plain, "1 2 3", (round(60 * K), round(28 * K)), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 0, 3)
    assert dotted_columns(plain, K, Box(x=40, y=20, w=100, h=10), [Box(x=58, y=20, w=30, h=10)]) == []


def _cells(rects: list[tuple[float, float, float, float]]) -> np.ndarray:
    img = _blank()
    for r in rects:
        _rect(img, *r)
    return img


# --- the bench's scoring -------------------------------------------------------------------------------------


def test_matching_is_one_to_one_and_needs_half_the_union() -> None:
    truth = [Unit("a", Box(x=0, y=0, w=10, h=5), False), Unit("b", Box(x=10, y=0, w=10, h=5), False)]
    wide = [Unit("p", Box(x=0, y=0, w=21, h=5), False)]
    assert match(wide, truth) == []  # covers both, but each is less than half of the union
    assert len(match([Unit("p", Box(x=0, y=0, w=20, h=5), False)], truth)) == 1  # one to one
    near = [Unit("p", Box(x=0, y=0, w=10, h=5), False), Unit("q", Box(x=9, y=0, w=10, h=5), False)]
    pairs = match(near, truth)
    # p over a (IoU 1), q over b (9/11): both found
    assert [(u.name, t.name) for u, t in pairs] == [("p", "a"), ("q", "b")]
    s = score("f", 1, near, truth, 0.0)
    assert (s.truth, s.units, s.found, s.recall, s.precision) == (2, 2, 2, 1.0, 1.0)


def test_a_choice_counts_as_its_options_or_as_one_box_whichever_people_drew() -> None:
    opts = [
        propose.Option("1", "男", Box(x=0, y=0, w=5, h=5)),
        propose.Option("2", "女", Box(x=10, y=0, w=5, h=5)),
    ]
    choice = propose.Proposed("sex", "性別", FieldType.CHOICE, Box(x=0, y=0, w=15, h=5), options=opts)
    per_option = [Unit("m", Box(x=0, y=0, w=5, h=5), True), Unit("f", Box(x=10, y=0, w=5, h=5), True)]
    assert len(proposed_units([choice], per_option)) == 2
    one_box = [Unit("sex", Box(x=0, y=0, w=15, h=5), False)]
    (unit,) = proposed_units([choice], one_box)
    assert unit.box == choice.box


def test_names_come_from_the_label_s_words_not_numbers() -> None:
    taken: set[str] = set()
    names = [
        propose.guess_name(w, taken) for w in ("傷病名", "医療機関名", "訪問看護ステーション名", "ICDコード")
    ]
    assert names == ["disease_name", "medical_institution_name", "home_nursing_station_name", "icd_code"]
    assert propose.guess_name("傷病名", taken) == "disease_name_01"  # a second one is numbered
    assert propose.guess_name("ア　□□□", taken) == "field_01"  # nothing known: numbered, never invented
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)


def test_the_office_s_own_boxes_are_left_out() -> None:
    img = _cells([(10, 20, 30, 10), (40, 20, 100, 10), (150, 20, 40, 30)])
    texts = [T("氏名", 14, 23, 8), T("受付印", 160, 21, 12)]
    fields = propose.propose(img, K, texts)
    assert [f.label for f in fields] == ["氏名"]  # not the 受付印 box, however empty it is


def test_writing_lines_under_a_heading_are_one_answer_on_several_lines() -> None:
    img = _blank()
    for y in (40, 48, 56):  # three dotted writing lines, 8 mm apart
        for x in np.arange(20, 180, 1.0):
            cv2.line(img, (round(x * K), round(y * K)), (round((x + 0.5) * K), round(y * K)), 0, 1)
    texts = [T("⑤発病から初診までの経過", 20, 28, 60)]
    fields = propose.propose(img, K, texts)
    (course,) = [f for f in fields if f.lines]
    assert course.lines == 3 and course.type is FieldType.TEXT and "経過" in course.label
    assert abs(course.box.x - 20) < 1.0 and abs(course.box.y2 - 56) < 1.0 and abs(course.box.x2 - 180) < 1.5
    tpl = parse_template(propose.to_yaml("notes", "試験", "master.png", fields))
    assert tpl.field(course.name).lines == 3


def test_a_phone_blank_with_printed_brackets_is_drafted_in_pieces() -> None:
    img = _blank()
    cv2.line(img, (round(20 * K), round(60 * K)), (round(120 * K), round(60 * K)), 0, 2)  # the underline
    for x in (45, 60):  # 「（」 and 「）」: small marks taller than wide, on the line
        cv2.line(img, (round(x * K), round(55.5 * K)), (round(x * K), round(58.8 * K)), 0, 2)
    fields = propose.propose(img, K, [T("電話", 21, 55, 9)])
    (phone,) = [f for f in fields if f.type is FieldType.PHONE]
    assert len(phone.pieces) == 2
    area, rest = phone.pieces
    assert 45 <= area.x <= 47 and 58 <= area.x2 <= 60 and 60 <= rest.x <= 62 and rest.x2 >= 115
    tpl = parse_template(propose.to_yaml("tel", "試験", "master.png", fields))
    assert len(tpl.field(phone.name).pieces) == 2 and tpl.field(phone.name).joiner == "-"


def test_a_line_read_as_one_is_cut_at_the_blanks_of_its_print() -> None:
    from authoring.propose.lines import respaced

    img = _blank()
    for x in (100, 115, 130):  # three printed characters, 10 mm of paper between them
        cv2.rectangle(img, (round(x * K), round(21 * K)), (round((x + 4) * K), round(25 * K)), 0, -1)
    (year, month, day) = respaced([T("年 月 日", 100, 20.5, 34, 5)], img, K)
    assert (year.text, month.text, day.text) == ("年", "月", "日")
    assert abs(month.box.x - 115) < 0.3 and abs(month.box.x2 - 119) < 0.3
    assert len(respaced([T("氏 名", 100, 20.5, 34, 5)], img, K)) == 1  # a label printed letter-spaced


def test_a_list_number_alone_opens_a_blank() -> None:
    cell = Box(x=10, y=10, w=150, h=10)
    found = gap_slots([T("1.", 12, 13, 4), T("2.", 90, 13, 4)], cell)
    assert [(s.before, round(s.box.x), round(s.box.x2)) for s in found] == [("1.", 16, 90), ("2.", 94, 160)]
    assert gap_slots([T("1", 12, 13, 3), T("2", 30, 13, 3)], cell) == []  # options 「1　2」, not a list


def test_a_dotted_line_across_a_cell_parts_it_into_rows() -> None:
    img = _cells([(10, 20, 30, 10), (10, 30, 30, 10), (40, 20, 100, 20)])
    for x in np.arange(40.5, 139.5, 1.0):  # dots across the blank cell at y = 30
        cv2.line(img, (round(x * K), round(30 * K)), (round((x + 0.5) * K), round(30 * K)), 0, 1)
    texts = [T("主たる傷病名", 12, 23, 20), T("傷病名コード", 12, 33, 20)]
    fields = sorted(propose.propose(img, K, texts), key=lambda f: f.box.y)
    assert [f.label for f in fields] == ["主たる傷病名", "傷病名コード"]
    top, low = fields
    assert abs(top.box.y2 - 30) < 0.8 and abs(low.box.y - 30) < 0.8 and abs(low.box.y2 - 40) < 1.0


def test_the_title_is_the_form_s_name_not_the_biggest_line() -> None:
    texts = [
        T("主治医意見書", 10, 27, 30, 5.3),
        T("記入日平成年月", 146, 27.5, 43, 5.6),  # bigger, but a date line
        T("参考資料", 175, 10, 19, 4.8),
    ]
    assert propose.guess_title(texts) == "主治医意見書"
    sub = [T("診断書", 48, 7, 37, 6.6), T("(精神障害者保健福祉手帳用)", 86.5, 7.5, 74, 5.7)]
    assert propose.guess_title(sub, (420, 297)) == "診断書(精神障害者保健福祉手帳用)"


def test_a_block_printed_several_times_is_drafted_once_with_a_group() -> None:
    rects, texts = [], []
    for i in range(3):  # three person blocks, 30 mm apart: 氏名 / 住所 / 電話 each
        y = 20 + 30 * i
        for j, label in enumerate(("氏名", "住所", "職業")):
            rects += [(10, y + 9 * j, 30, 9), (40, y + 9 * j, 100, 9)]
            texts.append(T(label, 14, y + 9 * j + 2.5, 8))
    fields = propose.propose(_cells(rects), K, texts)
    assert len(fields) == 9
    text = propose.to_yaml("people", "試験", "master.png", fields)
    tpl = parse_template(text)
    assert len(tpl.fields) == 9 and tpl.groups[0].count == 3 and abs(tpl.groups[0].step[1] - 30) < 0.5
    assert text.count("- name:") == 3 + 1  # three fields written out, and the group's own name
    third = tpl.field(f"{tpl.groups[0].fields[0]}_3")
    first = tpl.field(tpl.groups[0].fields[0])
    assert abs(third.box.y - first.box.y - 60) < 0.6


def test_eras_read_as_one_line_in_a_date_cell_are_eras_to_circle() -> None:
    img = _cells([(10, 20, 30, 10), (40, 20, 120, 10)])
    texts = [
        T("生年月日", 12, 23, 16),
        T("令和・平成", 42, 23, 22),  # OCR reads the two eras as one line
        T("年", 90, 23, 4),
        T("月", 110, 23, 4),
        T("日", 130, 23, 4),
    ]
    (date,) = [f for f in propose.propose(img, K, texts) if f.type is FieldType.DATE]
    assert [o.value for o in date.options] == ["令和", "平成"] and set(date.eras) == {"令和", "平成"}
    year = date.part_boxes["year"]
    assert year.x >= max(o.box.x2 for o in date.options) and year.x2 <= 90  # after the circles, before 年


def test_a_date_s_cells_cut_by_dots_are_one_box_a_digit_under_the_units() -> None:
    img = _cells([(10, 20, 30, 12), (40, 20, 10, 12), (50, 20, 10, 12), (60, 20, 10, 12)])
    for x in (45, 55, 65):
        _dotted(img, x, 20, 32)
    texts = [
        T("生年月日", 12, 24, 16),
        T("年", 46, 20.5, 3, 3),
        T("月", 56, 20.5, 3, 3),
        T("日", 66, 20.5, 3, 3),
    ]
    (date,) = [f for f in propose.propose(img, K, texts) if f.type is FieldType.DATE]
    assert date.cells == 2  # two digits a part, as the dots part each cell
    for part in date.part_boxes.values():
        assert part.y >= 23.5 and abs(part.y2 - 32) < 0.5  # under the printed unit, not over it
    # Unpacking one date above: the gap before each unit, printed over the digits' cells, is no second.


def test_a_number_set_apart_from_its_words_is_what_is_circled() -> None:
    from authoring.propose.options import centred
    from authoring.propose.words import option_items

    spaced = option_items(T("1 思考 2 興奮", 10, 10, 30))
    dotted = option_items(T("1.男 2.女", 10, 10, 30))
    assert [s for s, _ in spaced] == ["1思考", "2興奮"] and [s for s, _ in dotted] == ["1.男", "2.女"]
    assert all(b.w < 3 for _, b in spaced)  # the number alone
    assert all(b.w > 6 for _, b in dotted)  # number and words
    # A circle area goes onto the print it circles, the stretch nearest its middle that fits in it.
    area = Box(x=10, y=10, w=5, h=5)
    assert abs(centred(area, [(4.0, 20.0), (13.5, 14.5)]).x - 11.5) < 1e-6
    assert centred(area, [(0.0, 9.0)]) == area  # nothing under it: as it was


def test_codes_beside_a_label_are_options_and_numbers_are_not() -> None:
    img = _cells([(10, 20, 30, 8), (40, 20, 100, 8)])
    codes = [T("寝たきり度", 12, 22, 20), T("J1", 50, 22, 6), T("J2", 70, 22, 6), T("A1", 90, 22, 6)]
    (choice,) = [f for f in propose.propose(img, K, codes) if f.options]
    assert [o.label for o in choice.options] == ["J1", "J2", "A1"]
    counts = [T("回数", 12, 22, 8), T("1", 50, 22, 3), T("2", 70, 22, 3), T("3", 90, 22, 3)]
    assert not [f for f in propose.propose(img, K, counts) if f.options]


def test_a_tick_box_read_with_its_words_is_one_checkbox_on_the_square() -> None:
    img = _blank()
    for x in (20, 80):
        _rect(img, x, 30, 3, 3)  # printed □, 3 mm
    texts = [T("□点滴の管理", 20, 29.5, 30), T("□透析", 80, 29.5, 12)]  # OCR reads the □ as a character
    ticks = [
        f for f in propose.propose(img, K, texts) if f.type in (FieldType.CHECKBOX, FieldType.CHECKBOXES)
    ]
    places = [o.box for f in ticks for o in f.options] or [f.box for f in ticks]
    assert len(places) == 2 and all(b.w < 4.5 and b.h < 4.5 for b in places)  # the squares, not the words
    words = [o.label for f in ticks for o in f.options] or [f.label for f in ticks]
    assert not any("□" in w for w in words)


def test_a_short_label_with_a_long_stretch_before_the_next_label_has_its_blank_there() -> None:
    cell = Box(x=10, y=10, w=180, h=10)
    found = gap_slots([T("所在地", 12, 13, 15), T("医師氏名", 90, 13, 20)], cell)
    (slot,) = [s for s in found if s.before == "所在地"]
    assert slot.before == "所在地" and 27 < slot.box.x < 28 and 89 < slot.box.x2 < 90
    # A sentence is no label, however far the next words are.
    found = gap_slots([T("記載したものです。", 12, 13, 30), T("医師氏名", 90, 13, 20)], cell)
    assert not [s for s in found if s.before == "記載したものです。"]


def test_a_day_s_blank_closes_at_a_day_that_runs_on_into_words() -> None:
    cell = Box(x=10, y=10, w=180, h=10)
    texts = [T("年", 40, 13, 4), T("月", 55, 13, 4), T("日の診療録より記載したもの", 70, 13, 60)]
    assert [s.after[:1] for s in gap_slots(texts, cell)] == ["年", "月", "日"]


def test_a_bulleted_list_s_items_are_options_led_by_their_bullet() -> None:
    from authoring.propose.words import option_items

    line = T("・自立訓練（生活訓練）・共同生活援助（グループホーム）", 10, 10, 100)
    items = option_items(line)
    assert [s for s, _ in items] == ["自立訓練(生活訓練)", "共同生活援助(グループホーム)"]
    assert items[0][1].x == 10  # the bullet is circled with its words
    assert [s for s, _ in option_items(T("・精神科作業療法", 10, 10, 30))] == ["精神科作業療法"]
    assert option_items(T("・この欄には申請者の現住所を記入してください。", 10, 10, 100)) == []


def test_options_in_brackets_after_a_question_and_not_after_a_label_to_write() -> None:
    from authoring.propose.options import option_rows

    rows = option_rows([], [T("終診時の転帰（治癒・転医・中止）", 10, 10, 70)], [])
    assert [(q, [o.label for o in opts]) for q, opts in rows] == [("終診時の転帰", ["治癒", "転医", "中止"])]
    (row,) = option_rows([], [T("要介護（ 1 2 3 4 5 ）", 10, 10, 40)], [])
    assert [o.label for o in row[1]] == ["1", "2", "3", "4", "5"]
    assert option_rows([], [T("住所（都道府県・市区町村）", 10, 10, 60)], []) == []
    assert option_rows([], [T("（昭和・平成）", 10, 10, 30)], []) == []


def test_a_line_led_by_the_bracket_closing_the_item_before_keeps_its_bullets() -> None:
    from authoring.propose.words import option_items

    # 「・その他（　　）・なし」 broken by OCR after the blank: the second line's item is still an option.
    assert [s for s, _ in option_items(T("）・なし", 10, 10, 15))] == ["なし"]


def test_a_cell_with_options_and_a_tick_box_keeps_both() -> None:
    img = _cells([(10, 10, 150, 30)])
    _rect(img, 60, 31, 3, 3)  # printed □ of another question on the cell's last line
    texts = [
        T("⑨治療内容", 12, 11, 20),
        T("・通院療法", 14, 17, 20),
        T("・作業療法", 60, 17, 20),
        T("・デイケア", 14, 23, 20),
        T("・なし", 60, 23, 12),
        T("訪問看護指示", 12, 30.5, 24),
        T("あり", 64, 30.5, 8),
    ]
    fields = propose.propose(img, K, texts)
    assert any(f.type is FieldType.CHECKBOX and f.box.w < 5 for f in fields)
    (choice,) = [f for f in fields if f.type is FieldType.CHOICE]
    # The heading's number (⑨ read as 9) is no option; the tick box's words are not one either.
    assert [o.label for o in choice.options] == ["通院療法", "作業療法", "デイケア", "なし"]


def test_an_option_shifted_by_wide_spacing_is_moved_onto_its_print() -> None:
    img = _blank()
    for x in (30.0, 40.0):  # the digits 1 and 2, printed far apart (「要支援（　１　２　）」)
        cv2.rectangle(img, (round(x * K), round(11 * K)), (round((x + 1.2) * K), round(14 * K)), 0, -1)
    ink = propose.to_gray(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)) < 128
    from authoring.propose.fields import _centre_options

    # OCR's share of the characters puts 1 about 3 mm right of its print, 2 nearly on it.
    options = [
        propose.Option("o1", "1", Box(x=32, y=10, w=4, h=5)),
        propose.Option("o2", "2", Box(x=39, y=10, w=4, h=5)),
    ]
    _centre_options(options, ink, K)
    mids = [o.box.x + o.box.w / 2 for o in options]
    assert abs(mids[0] - 30.6) < 0.3 and abs(mids[1] - 40.6) < 0.3


def test_the_place_to_write_is_under_a_caption_along_the_cell_s_top() -> None:
    img = _cells([(10, 10, 40, 10), (50, 10, 50, 10)])
    texts = [T("報酬月額", 12, 13, 20), T("（合計）", 52, 10.5, 12, 2.5)]
    (f,) = [f for f in propose.propose(img, K, texts) if f.box.x >= 50]
    assert f.box.y >= 13.0 and abs(f.box.y2 - 20) < 0.5  # under the caption, not over it


def test_tick_boxes_with_no_label_beside_them_are_named_by_the_heading_above() -> None:
    img = _blank()
    for x in (20, 60):
        _rect(img, x, 30, 3, 3)
    texts = [T("身体の状態", 20, 24, 30), T("麻痺", 24, 29.5, 8), T("褥瘡", 64, 29.5, 8)]
    (ticks,) = [f for f in propose.propose(img, K, texts) if f.type is FieldType.CHECKBOXES]
    assert ticks.label == "身体の状態"

"""The one YAML writer (formkit.yamlio): any label comes back exactly as written, through ruamel.yaml and
through the template loader (PyYAML, YAML 1.1); comments an author wrote survive an edit in the
template editor; the proposal (`dejiru template new`) and `dejiru flow new` write through it."""

from __future__ import annotations

import yaml

from authoring import propose
from formkit import yamlio
from formkit.model import Box, FieldType
from formkit.registry import parse_template
from review import editor as ed
from tests.conftest import REPO

#: Strings hand-made YAML gets wrong: YAML syntax inside, quotes, escapes, line breaks, full-width
#: characters, and words YAML 1.1 reads as booleans, numbers or null.
AWKWARD = [
    "氏名: 本人",
    "備考 # 任意",
    "- 一つ目",
    "'単'",
    '"二重"',
    "C:\\tmp\\x",
    "一行目\n二行目",
    "末尾の改行\n",
    "全角：＃－＂＇￥　空白",
    "①（フリガナ）",
    "yes",
    "off",
    "null",
    "~",
    "1:20",
    "2026-01-01",
    "0.5",
    "@mark",
    "*star",
    "&amp",
    "!bang",
    "%pct",
    "{brace}",
    "[bracket]",
    "|pipe",
    ">fold",
    "? q",
    ":q",
    "a ? b",
    "flows/x.py:x",
    "tab\there",
    "nel\x85line",
    "ls\u2028ps\u2029",
]


def test_every_awkward_string_round_trips_plain_and_quoted() -> None:
    for style in (str, yamlio.quoted):
        doc = yamlio.block_map({f"k{i}": style(s) for i, s in enumerate(AWKWARD)})
        doc["list"] = yamlio.flow_list(AWKWARD)
        text = yamlio.dump(doc)
        for read in (yaml.safe_load, yamlio.load):
            back = read(text)
            assert [back[f"k{i}"] for i in range(len(AWKWARD))] == AWKWARD, (style, read, text)
            assert list(back["list"]) == AWKWARD


def test_keys_yaml_1_1_would_misread_are_quoted() -> None:
    text = yamlio.dump(yamlio.block_map({"yes": 1, "on": 2, "name": 3}))
    assert yaml.safe_load(text) == {"yes": 1, "on": 2, "name": 3}
    assert "name: 3" in text  # plain where plain is safe


def _awkward_fields() -> list[propose.Proposed]:
    fields = []
    for i, label in enumerate(AWKWARD):
        fields.append(propose.Proposed(f"f{i:02d}", label, FieldType.TEXT, Box(x=10, y=5 + 8 * i, w=60, h=6)))
    fields.append(
        propose.Proposed(
            "choice",
            "性別: 男・女",
            FieldType.CHOICE,
            Box(x=100, y=10, w=40, h=6),
            options=[
                propose.Option("opt: 1", "1.男 # 本人", Box(x=100, y=10, w=18, h=6)),
                propose.Option("- 2", '2."女"', Box(x=121, y=10, w=18, h=6)),
            ],
            note="check: the # options",
        )
    )
    return fields


def test_proposal_labels_round_trip_through_the_template_loader() -> None:
    fields = _awkward_fields()
    title = "申請書: 第1号 # 控え\n（様式）"
    text = propose.to_yaml("awkward", title, "master.pdf", fields, source="blank #1: 'v2'.pdf")
    tpl = parse_template(text)
    assert tpl.title == title and tpl.source == "blank #1: 'v2'.pdf"
    assert [f.label for f in tpl.fields] == [f.label for f in fields]
    choice = tpl.field("choice")
    assert [(o.value, o.label) for o in choice.options] == [("opt: 1", "1.男 # 本人"), ("- 2", '2."女"')]
    assert text.startswith("# 自動で作った下書きです")
    assert "    # check: the # options\n    box:" in text  # a field's note, as a comment above its box


def test_proposal_layout_is_the_hand_written_one() -> None:
    f = propose.Proposed(
        "birth_date",
        "生年月日",
        FieldType.DATE,
        Box(x=20, y=30, w=60, h=8),
        eras=["昭和", "平成"],
        part_boxes={"year": Box(x=20, y=30, w=20, h=8)},
        cells=2,
    )
    text = propose.to_yaml("x", "", "master.png", [f], page_mm=(215.9, 279.4))
    body = text[text.index("id: x") :]
    assert body == (
        "id: x\n"
        "version: 1\n"
        "kind: legacy\n"
        "master: master.png\n"
        'title: "x"\n'
        "page: {width_mm: 215.9, height_mm: 279.4}\n"
        "fields:\n"
        "  - name: birth_date\n"
        '    label: "生年月日"\n'
        "    type: date\n"
        "    box: [20.1, 30.1, 59.8, 7.8]\n"
        "    cells: 2\n"
        "    eras: [昭和, 平成]\n"
        "    part_boxes:\n"
        "      year: [20.1, 30.1, 19.8, 7.8]\n"
    )


COMMENTED = """\
# 健康診断個人票 (a hand-made header)
# second line of the header
id: commented
version: 1
kind: legacy
master: master.pdf
title: 健康診断個人票
fields:
  # --- the applicant ---
  - name: name
    label: 氏名  # as printed
    type: name
    box: [38.8, 20.0, 60.0, 8.0]
  # --- the dates ---
  - name: memo
    label: 備考
    type: text
    box: [20, 250, 100, 8]  # the bottom row
"""


def test_comments_survive_an_edit_in_the_template_editor() -> None:
    posted = ed.editor_fields(parse_template(COMMENTED))
    posted[0]["label"] = "氏名: 本人 # 控え"
    posted[1]["box"][0] += 2.5
    text = ed.render_yaml(COMMENTED, posted)
    for comment in (
        "# 健康診断個人票 (a hand-made header)\n# second line of the header\n",
        "  # --- the applicant ---\n",
        "  # --- the dates ---\n",
        "# the bottom row",
    ):
        assert comment in text, (comment, text)
    tpl = parse_template(text)
    assert tpl.field("name").label == "氏名: 本人 # 控え"
    assert tpl.field("memo").box.x == 22.5


def test_flow_new_deployment_entry_is_written_by_the_yaml_writer() -> None:
    from dejiru.cli_flow import add_deployment, deployment_entry

    original = (REPO / "prefect.yaml").read_text(encoding="utf-8")
    description = "Keys: 住民票 # daily - 'quoted' \"too\""
    text = add_deployment(original, deployment_entry("summary", "my_flow", description))
    assert text.startswith(original.rstrip("\n"))
    entry = yaml.safe_load(text)["deployments"][-1]
    assert entry == {
        "name": "my-flow",
        "entrypoint": "flows/my_flow.py:my_flow",
        "description": description,
        "work_pool": {"name": "dejiru-pool"},
        "schedules": [{"cron": "0 8 * * *", "timezone": "Asia/Tokyo"}],
    }

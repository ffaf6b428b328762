"""The one writer for YAML that people also edit by hand (``template.yaml``, ``prefect.yaml``): a
ruamel.yaml round trip.

Why one writer, and why this one: text pasted together with f-strings breaks on ordinary labels
(``: `` or `` #`` inside, a leading ``-``, quotes, backslashes, line breaks), and PyYAML's dump loses
every comment an author wrote. ruamel.yaml quotes what needs quoting, keeps comments and key order
of a file it loaded, and writes flow lists (``box: [x, y, w, h]``) the way the hand-written files do.
Reading for use stays with ``yaml.safe_load`` (formkit.registry): this module is for writing.

The layout matches the shipped files: mappings indented by 2, list items ``  - `` under their key,
no line folding (a long label stays on one line), Unicode written as is (氏名, not ``\\u6c0f``).

ruamel.yaml writes YAML 1.2, but the templates are read by PyYAML, which reads YAML 1.1: there ``yes``,
``no``, ``on``, ``off`` are booleans, ``1:20`` is a number, NEL (U+0085) is a line break, and a plain
``? q`` in a flow list is a mapping key. So a string is written plain only where PyYAML itself would
write it plain and read it back as a string; else it is quoted (:class:`_Representer`, :class:`_Emitter`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.emitter import Emitter, ScalarAnalysis
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

__all__ = ["block_map", "dump", "flow_list", "flow_map", "load", "quoted", "round_trip"]

_STR = "tag:yaml.org,2002:str"
#: Line breaks to YAML 1.1 but not to YAML 1.2 (NEL, LINE and PARAGRAPH SEPARATOR).
_BREAKS = "\x85\u2028\u2029"
#: How the reader (yaml.safe_load) types a plain scalar.
_READER = yaml.resolver.Resolver()


class _Representer(RoundTripRepresenter):
    """The round-trip representer, but a plain string the YAML 1.1 reader would type otherwise
    (``yes``, ``off``, ``1:20``) is single-quoted. Its own class: ``add_representer`` changes the
    class it is called on, and ruamel's classes are shared with everything else in the process."""


def _represent_str(representer: RoundTripRepresenter, data: str) -> ScalarNode:
    if any(ch in _BREAKS for ch in data):
        style: str | None = '"'  # escaped: left raw, YAML 1.1 folds them into a space
    elif _READER.resolve(yaml.ScalarNode, data, (True, False)) != _STR:
        style = "'"
    else:
        style = None
    return representer.represent_scalar(_STR, data, style=style)


_Representer.add_representer(str, _represent_str)


class _Emitter(Emitter):
    """ruamel's emitter, but a scalar is plain only where PyYAML's emitter also allows it (in a flow
    list or mapping, or in a block): ruamel follows YAML 1.2 and writes ``[? q]`` or ``{k: :q}``."""

    def analyze_scalar(self, scalar: Any) -> Any:
        mine: ScalarAnalysis = super().analyze_scalar(scalar)
        theirs = _PYYAML_EMITTER.analyze_scalar(scalar)
        mine.allow_flow_plain = mine.allow_flow_plain and theirs.allow_flow_plain
        mine.allow_block_plain = mine.allow_block_plain and theirs.allow_block_plain
        return mine


#: Only its analysis of a scalar is used (it writes nothing).
_PYYAML_EMITTER = yaml.emitter.Emitter(io.StringIO(), allow_unicode=True)


def round_trip() -> YAML:
    """A round-trip YAML instance in the house layout (a new one each time: YAML objects hold state)."""
    y = YAML()
    y.Representer = _Representer
    y.Emitter = _Emitter
    y.preserve_quotes = True
    y.width = 4096
    y.allow_unicode = True
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load(text: str) -> Any:
    """A YAML document with its comments, quoting and key order attached, to be edited and dumped."""
    return round_trip().load(text)


def dump(data: Any, header: str = "") -> str:
    """``data`` as YAML text. ``header`` (lines, with or without ``#``) becomes the comment above the
    first key; a document loaded with :func:`load` keeps its own comments without one."""
    if header:
        data.yaml_set_start_comment(header)
    buf = io.StringIO()
    round_trip().dump(data, buf)
    return buf.getvalue()


def quoted(text: str) -> DoubleQuotedScalarString:
    """A string always written in double quotes (labels, titles: the style of the shipped files; any
    character, a line break included, survives as an escape)."""
    return DoubleQuotedScalarString(text)


def flow_list(values: Iterable[Any], *, quote: bool = False) -> CommentedSeq:
    """A list written on one line (``[x, y, w, h]``, ``["range:1-10"]``), strings quoted if ``quote``."""
    seq = CommentedSeq([quoted(v) for v in values] if quote else list(values))
    seq.fa.set_flow_style()
    return seq


def flow_map(items: Mapping[str, Any]) -> CommentedMap:
    """A mapping written on one line (``{value: "opt1", label: "1.男", box: [...]}``)."""
    m = CommentedMap(items)
    m.fa.set_flow_style()
    return m


def block_map(items: Mapping[str, Any] | None = None) -> CommentedMap:
    """A mapping written one key a line, that can carry comments (``yaml_set_comment_before_after_key``)."""
    return CommentedMap(items or {})


def block_seq(items: Iterable[Any] = ()) -> CommentedSeq:
    """A list written one item a line (a template's ``groups:``), that can carry comments."""
    return CommentedSeq(list(items))

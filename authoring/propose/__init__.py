"""Proposing a legacy template from a blank form (``dejiru template new``): a first draft to edit.

From the page image: the ruled cells (morphological horizontal and vertical line extraction), and from
the printed text (OCR lines, passed in as :class:`Text`) which cells are labels and which are blank
cells to write in. Each blank cell, or run of touching blank cells, becomes a field named after the
label to its left (or above), with a type guessed from the label's words (氏名 → name, 生年月日 →
date) and its box in millimetres; a cell cut by a dotted line (氏 ┆ 名) is one field per part, and
the blanks no cell encloses (a gap in the print before 年 or after 「（」, an underline) are fields too. Comb cells become ``cells``, 「年 月 日」 become date ``part_boxes``, printed
options (1.男 2.女, 有・無) become a choice with the words to circle.

Pure functions on numpy images and plain data, so the detection tests run without an OCR engine;
:func:`read_texts` is the only part that needs one.

The package, bottom to top (each module imports only those above it in this list):

* ``model``: the data in and out (Text, Option, Proposed).
* ``blank``: the blank form as a file, at BLANK_PX_PER_MM; its copy as the master.
* ``words``: reading the printed lines (OCR) and what one line says (units, eras, notes, options).
* ``lines``: ruled lines, cells, ink and printed tick boxes, from the image alone.
* ``cells``: what each cell holds, box geometry, runs of cells that make one field.
* ``labels``: which label names a place; type and name from its words; the form's title.
* ``options``, ``dates``: options to circle or tick; dates, in cells or in the gaps of the print.
* ``slots``: blanks no cell encloses: gaps in the print (「　年　月　日」, 「（　）」) and underlines.
* ``fields``: :func:`propose`, the steps put together.
* ``yaml_out``: the proposal as ``template.yaml`` (through formkit.yamlio).

This module re-exports what the CLI and the tests use; the rest is imported from its own module.
"""

from authoring.propose.blank import BLANK_PX_PER_MM, load_blank, save_master, to_gray
from authoring.propose.cells import iou
from authoring.propose.fields import propose
from authoring.propose.labels import guess_name, guess_title, guess_type
from authoring.propose.lines import ruled_cells
from authoring.propose.model import Option, Proposed, Text
from authoring.propose.words import read_texts
from authoring.propose.yaml_out import renamed, to_yaml

__all__ = [
    "BLANK_PX_PER_MM",
    "Option",
    "Proposed",
    "Text",
    "guess_name",
    "guess_title",
    "guess_type",
    "iou",
    "load_blank",
    "propose",
    "read_texts",
    "renamed",
    "ruled_cells",
    "save_master",
    "to_gray",
    "to_yaml",
]

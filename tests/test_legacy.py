"""Legacy forms (not redesigned): identified and registered against the blank master, then read."""

import numpy as np
import pytest

from core.errors import UnknownForm
from formkit.registry import load_template
from formkit.render import render_pdf
from ocr.align import align
from ocr.reader import read_page
from synth.samples import make_sample
from validation.routing import validate

LEGACY = "health_check_hiring"


@pytest.fixture(scope="module")
def legacy_tpl():
    return load_template(LEGACY)


@pytest.fixture(scope="module")
def legacy_sample(legacy_tpl):
    return make_sample(legacy_tpl, 31, font="seto", profile="office", dpi=200)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_turned_legacy_page_registers(legacy_sample, k) -> None:
    img, _ = legacy_sample
    a = align(np.ascontiguousarray(np.rot90(img, k)))
    assert a.template.id == LEGACY
    assert a.rotation in ((90 * k) % 360, (360 - 90 * k) % 360)
    assert a.print_match > 0.85


def test_legacy_read_is_right_or_flagged(legacy_tpl) -> None:
    """Office scans read well; a blurred fax of handwriting mostly does not, but every miss is flagged."""
    right = total = 0
    for seed, font, profile in [(41, "ipag", "office"), (42, "klee", "office"), (43, "kiloji", "harsh")]:
        img, truth = make_sample(legacy_tpl, seed, font=font, profile=profile, dpi=200)
        reading, _ = read_page(img)
        validate(legacy_tpl, reading)
        for name, want in truth["fields"].items():
            f = reading.fields[name]
            if profile == "office":
                total += 1
                right += f.value == want
            assert f.value == want or f.needs_review, (seed, name, want, f.value)
    assert right / total > 0.9


def test_redesigned_form_is_not_taken_for_the_legacy_one(sample) -> None:
    img, _ = sample(11, dpi=200)
    assert align(img).template.id == "juminhyo_request"


def test_other_government_form_is_unknown(tmp_path) -> None:
    import pypdfium2 as pdfium

    from tests.conftest import REPO

    pdf = REPO.parent / "shared" / "forms" / "nenkin-shougai-jushin-jokyo-shomeisho" / "source.pdf"
    if not pdf.exists():
        pytest.skip("shared forms not available")
    page = np.array(pdfium.PdfDocument(str(pdf))[0].render(scale=200 / 72).to_pil().convert("RGB"))
    with pytest.raises(UnknownForm) as err:
        align(page)
    assert "登録された様式ではありません" in err.value.ja


def test_legacy_render_is_the_published_master(legacy_tpl) -> None:
    from formkit.registry import master_path

    assert render_pdf(legacy_tpl) == master_path(legacy_tpl).read_bytes()

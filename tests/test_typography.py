"""French typography of the texts the tool writes (:mod:`geo.typography`)."""

from __future__ import annotations

from geo.typography import NBSP, NNBSP, degrees, french_spacing


def test_a_question_mark_before_a_closing_parenthesis_is_spaced():
    assert french_spacing("injoignable (pas de réseau ?) : relancez") == \
        f"injoignable (pas de réseau{NNBSP}?){NBSP}: relancez"
    # an address's query is no sentence
    assert french_spacing("voir http://x.org/?q=1 (page)") == "voir http://x.org/?q=1 (page)"


def test_degrees_have_a_decimal_comma_and_no_trailing_zero():
    assert [degrees(v) for v in (43.5808, -55.4456, 2.0, 1e-7)] == [
        "43,5808", "-55,4456", "2", "0"]


def test_web_pages_have_one_space_inside_guillemets():
    """A no-break space written both as a character and as ``&nbsp;`` shows twice
    (« «  Accepter » » on the review page)."""
    import re
    from pathlib import Path

    import geo

    doubled = re.compile("\u00a0&nbsp;|&nbsp;\u00a0|«[ \u00a0\u202f]{2}|[ \u00a0\u202f]{2}»")
    found = [(page.name, m.group()) for page in
             (Path(geo.__file__).parent / "templates").rglob("*.html")
             for m in doubled.finditer(page.read_text(encoding="utf-8"))]
    assert found == []

"""The publication editor's check of issue 32, as a test.

A print is made from each of three kinds of directory people bring — a national directory
(``annuaire_national.csv``), a département's directory geocoded earlier by the national
address service (``annuaire_geocode_avant.csv`` with ``--departement 54``) and a local
Transiscope export of 100 places with multi-valued categories
(``export_local_transiscope.csv``, see ``tests/local_export.py``) — and read as the editor
reads it: where each word lies by ``pdftotext -bbox`` (poppler), the characters themselves
(no-break spaces) by pypdf, and the frames of the maps and insets from the PDF's clipping
rectangles (matplotlib clips each map to its frame).

Each check is one test per kind of directory; a check that finds a real defect in a print
is marked ``xfail(strict=True)`` with the defect, so that it fails again (and the mark must
go) as soon as the print is right.
"""

from __future__ import annotations

import html
import itertools
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from geo import cli
from tests.directories import LARGE, SIAE_KINDS
from tests.local_export import CATEGORIES, LOCAL
from tests.servers import TEST_DATA

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")

#: The cities a national print must name.
NATIONAL_CITIES = ("Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Bordeaux", "Nantes",
                   "Strasbourg")
#: Each kind of directory: its file, the study's options, the places its print must name.
DIRECTORIES = {
    "national": (TEST_DATA / "annuaire_national.csv", [], NATIONAL_CITIES),
    # 3 747 sites shaped like the national SIAE directory (tests/directories.py): the
    # national print counts them per commune, on A4 and on A3
    "national-grand": (LARGE, [], NATIONAL_CITIES),
    "national-grand-A3": (LARGE, ["--format", "A3"], NATIONAL_CITIES),
    "departement": (TEST_DATA / "annuaire_geocode_avant.csv", ["--departement", "54"],
                    ("Nancy",)),  # the préfecture of Meurthe-et-Moselle
    "local": (LOCAL, [], ("Mont-Bonvillers",)),  # the commune of every place
}
KINDS = list(DIRECTORIES)
#: The kinds whose national print aggregates the sites (proportional circles).
LARGE_KINDS = ("national-grand", "national-grand-A3")
#: The categories of each directory whose cells join several (never shown joined).
MULTI_VALUED = {"local": CATEGORIES, **dict.fromkeys(LARGE_KINDS, list(SIAE_KINDS))}
#: How much two boxes may share (points) before they are said to overlap: a few
#: hundredths of a millimetre, what a glyph's side bearing gives.
TOLERANCE = 0.4


@dataclass
class Page:
    """One page as the editor reads it: its size (points), its words with their boxes
    (left, top, right, bottom, from the top left corner), its text with every character,
    the frames of its maps (same coordinates) and the text drawn under a frame drawn
    after it."""

    width: float
    height: float
    words: list[tuple[float, float, float, float, str]]
    text: str
    frames: list[tuple[float, float, float, float]] = field(default_factory=list)
    under_frames: list[str] = field(default_factory=list)


def _words(pdf: Path) -> list[tuple[float, float, list]]:
    """Each page's size and words, as ``pdftotext -bbox`` reads them."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    pages = []
    for width, height, body in re.findall(
            r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', out, re.S):
        words = [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w
                 in re.findall(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" '
                               r'yMax="([-\d.]+)">([^<]*)</word>', body)]
        pages.append((float(width), float(height), words))
    return pages


def _frames(page, height: float) -> tuple[list, list[str]]:
    """The clipping rectangles of a page (each map's frame), in pdftotext's coordinates,
    and the text drawn before a frame whose inside holds it (hidden under that map)."""
    from pypdf.generic import ContentStream

    ops = ContentStream(page.get_contents(), page.pdf).operations
    first: dict[tuple, int] = {}
    for i, (args, op) in enumerate(ops):
        if op == b"re" and i + 1 < len(ops) and ops[i + 1][1] == b"W":
            first.setdefault(tuple(round(float(a), 2) for a in args), i)
    frames = {box: (box[0], height - box[1] - box[3], box[0] + box[2], height - box[1])
              for box in first}
    under, ctm, stack, shown = [], (1, 0, 0, 1, 0, 0), [], None
    for i, (args, op) in enumerate(ops):
        if op == b"q":
            stack.append(ctm)
        elif op == b"Q":
            ctm = stack.pop()
        elif op == b"cm":
            a, b, c, d, e, f = (float(v) for v in args)
            A, B, C, D, E, F = ctm
            ctm = (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
                   e * A + f * C + E, e * B + f * D + F)
        elif op in (b"Td", b"Tm"):  # at BT the text matrix is reset: Td places the line
            x, y = (float(v) for v in args[-2:])
            A, B, C, D, E, F = ctm
            shown = (x * A + y * C + E, x * B + y * D + F)
        elif op in (b"TJ", b"Tj") and shown is not None:
            text = "".join(str(part) for part in (args[0] if op == b"TJ" else args)
                           if not isinstance(part, (int, float)))
            for box, start in first.items():
                x0, y0, w, h = box
                if start > i and x0 + 1 < shown[0] < x0 + w - 1 and \
                        y0 + 1 < shown[1] < y0 + h - 1:
                    under.append(text)
    return list(frames.values()), under


_READ: dict[str, list[Page]] = {}


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The print of a kind of directory, made once, read page by page."""

    def read(kind: str) -> list[Page]:
        source, options, _ = DIRECTORIES[kind]
        return _made(tmp_path_factory, kind, source, [*options, "--print", "{out}/carte.pdf"],
                     "carte.pdf")

    return read


def _made(tmp_path_factory, kind: str, source, options: list[str], name: str) -> list[Page]:
    """The PDF ``name`` that ``ess-qpv map`` writes with ``options`` (``{out}``: its
    folder), made once per ``kind`` and read page by page."""
    if kind not in _READ:
        out = tmp_path_factory.mktemp(kind)
        assert cli.main(["map", str(source), "-o", str(out / "carte.html"),
                         *(o.format(out=out) for o in options)]) == 0
        _READ[kind] = _read(out / name)
    return _READ[kind]


def _overlap(a, b) -> bool:
    return (min(a[2], b[2]) - max(a[0], b[0]) > TOLERANCE
            and min(a[3], b[3]) - max(a[1], b[1]) > TOLERANCE)


def _kinds(**defects: str) -> list:
    """The kinds of directory, those with a known defect marked as such."""
    return [pytest.param(kind, marks=pytest.mark.xfail(strict=True, reason=defects[kind]))
            if kind in defects else kind for kind in KINDS]


@pytest.mark.parametrize("kind", _kinds())
def test_every_word_lies_inside_its_page(printed, kind):
    for page in printed(kind):
        assert len(page.words) > 10
        outside = [w[4] for w in page.words
                   if w[0] < 0 or w[1] < 0 or w[2] > page.width or w[3] > page.height]
        assert outside == []


@pytest.mark.parametrize("kind", _kinds())
def test_no_word_lies_over_another(printed, kind):
    """Labels, legend, title, insets' names and scale bars: no two words share ink."""
    for page in printed(kind):
        clashes = [(a[4], b[4]) for a, b in itertools.combinations(page.words, 2)
                   if _overlap(a, b)]
        assert clashes == []


def _across(page: Page) -> list[tuple[str, tuple]]:
    """The words that cross the edge of a map's frame, with that frame."""
    return [(w[4], frame) for w in page.words for frame in page.frames
            if _overlap(w, frame) and not (
                w[0] >= frame[0] - TOLERANCE and w[2] <= frame[2] + TOLERANCE
                and w[1] >= frame[1] - TOLERANCE and w[3] <= frame[3] + TOLERANCE)]


def _read(pdf: Path) -> list[Page]:
    from pypdf import PdfReader

    pages = []
    for (width, height, words), page in zip(_words(pdf), PdfReader(pdf).pages, strict=True):
        frames, under = _frames(page, height)
        pages.append(Page(width, height, words, page.extract_text(), frames, under))
    return pages


def test_the_reader_finds_a_name_under_an_inset_and_a_word_across_a_frame(tmp_path):
    """The checks below can fail: on a page made to hold both defects, a name of the main
    map drawn under an inset and a word across the inset's frame are found, and nothing
    else."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig = Figure(figsize=(6, 4))
        main = fig.add_axes((0.05, 0.05, 0.9, 0.9), xlim=(0, 10), ylim=(0, 10),
                            xticks=[], yticks=[])
        main.plot([0, 10], [0, 10])
        main.text(1, 5, "Visible")
        main.text(8, 8, "Cache")
        inset = fig.add_axes((0.7, 0.7, 0.2, 0.2), xticks=[], yticks=[])
        inset.plot([0, 1], [0, 1])
        inset.text(-0.3, 0.1, "Traversant", transform=inset.transAxes)
        fig.savefig(tmp_path / "p.pdf")
    page, = _read(tmp_path / "p.pdf")
    assert len(page.frames) == 2
    assert len(page.under_frames) == 1
    assert [word for word, _ in _across(page)] == ["Traversant"]


@pytest.mark.parametrize("kind", _kinds())
def test_no_word_crosses_the_frame_of_a_map(printed, kind):
    """A word is inside a map's frame (main map or inset) or outside it, never across its
    edge (cut by the frame, or running from one map onto another or onto the legend)."""
    for page in printed(kind):
        assert page.frames
        assert _across(page) == []


@pytest.mark.parametrize("kind", _kinds())
def test_no_name_is_hidden_under_an_inset(printed, kind):
    """No text is drawn inside the frame of a map drawn after it (under an inset)."""
    for page in printed(kind):
        assert page.under_frames == []


@pytest.mark.parametrize("kind", _kinds())
def test_the_main_places_are_named(printed, kind):
    """The main cities on a national print, the préfecture on a département's, the
    commune on a local one."""
    names = {w[4] for w in printed(kind)[0].words}
    missing = [place for place in DIRECTORIES[kind][2] if place not in names]
    assert missing == []


def _names_in(page: Page, frame) -> set[str]:
    """The words lying inside a frame."""
    return {w[4] for w in page.words if w[0] >= frame[0] and w[2] <= frame[2]
            and w[1] >= frame[1] and w[3] <= frame[3]}


#: The names of metropolitan France's corners and Corsica: a département's, or where
#: its circles leave no room for it (thousands of sites), its main city's.
CORNERS = ("NORD|Lille", "FINISTÈRE|Brest", "BAS-RHIN|Strasbourg",
           "PYRÉNÉES-ORIENTALES|Perpignan", "ALPES-MARITIMES|Nice", "CORSE-DU-SUD|Ajaccio",
           "HAUTE-CORSE|Bastia")


@pytest.mark.parametrize("kind", ["national", *LARGE_KINDS])
def test_the_national_print_frames_the_whole_country(printed, kind):
    """The main map of a national study holds metropolitan France, its sites or not: the
    départements of its corners and Corsica are there (named, in capitals; on the 36
    sites' print, the départements themselves)."""
    page = printed(kind)[0]
    main = max(page.frames, key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
    names = _names_in(page, main)
    corners = [c.split("|")[0] for c in CORNERS] if kind == "national" else CORNERS
    missing = [name for name in corners if not set(name.split("|")) & names]
    assert missing == []


def test_a_departement_name_stands_where_it_fits_in_its_departement(printed):
    """Moselle and Meurthe-et-Moselle, whose own spots are taken (Metz's and Nancy's names
    and sites), are named elsewhere inside themselves, in full."""
    page = printed("national")[0]
    main = max(page.frames, key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
    names = _names_in(page, main)
    assert {"MOSELLE", "MEURTHE-ET-MOSELLE"} <= names


@pytest.mark.parametrize("kind, cities", [
    ("national", ("Paris", "Cayenne", "Fort-de-France", "Nouméa")),
    *((kind, ("Paris", "Saint-Denis", "Cayenne", "Fort-de-France", "Mamoudzou"))
      for kind in LARGE_KINDS)])
def test_each_inset_names_its_main_city(printed, kind, cities):
    """Paris in its inset, each overseas inset named by its main city (not only by its
    quartiers or smaller towns)."""
    page = printed(kind)[0]
    main = max(page.frames, key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
    insets = set().union(*(_names_in(page, f) for f in page.frames if f != main))
    missing = [city for city in cities if city not in insets]
    assert missing == []


def test_the_departement_print_names_its_own_largest_towns(printed):
    """Meurthe-et-Moselle's five largest communes (INSEE populations: Nancy,
    Vandœuvre-lès-Nancy, Lunéville, Toul, Longwy) are named on its print."""
    names = {w[4] for w in printed("departement")[0].words}
    missing = [town for town in ("Nancy", "Vandœuvre-lès-Nancy", "Lunéville", "Toul",
                                 "Longwy") if town not in names]
    assert missing == []


def _legend(page: Page) -> list[str]:
    """The lines of the legend: from « Légende » down its column, to the first gap wider
    than two lines."""
    head = next(w for w in page.words if w[4] == "Légende")
    column = sorted((w for w in page.words if w[0] >= head[0] - 1 and w[1] > head[3] - 1),
                    key=lambda w: (round(w[1]), w[0]))
    lines: list[list] = []
    for word in column:
        if lines and abs(word[1] - lines[-1][0][1]) < 1:
            lines[-1].append(word)
        elif not lines or word[1] - lines[-1][0][3] < 2 * (word[3] - word[1]):
            lines.append([word])
        else:
            break
    return [" ".join(w[4] for w in line) for line in lines]


@pytest.mark.parametrize("kind", _kinds())
def test_the_legend_has_at_most_nine_classes(printed, kind):
    """At most eight classes plus « Autres » (and « Sans thème »), « Autres » when the
    directory has more categories than that, no raw multi-valued category."""
    page = printed(kind)[0]
    legend = _legend(page)
    joined = " ".join(legend)
    classes = re.findall(r"\(\d[\d\u202f\u00a0 ]*\)", joined)
    assert 1 <= len(classes) <= 9 + ("Sans thème" in joined), legend
    if kind == "local":
        assert "Autres" in joined, legend
    assert "|" not in page.text
    for a, b in itertools.permutations(MULTI_VALUED.get(kind, ()), 2):
        assert f"{a}{b}" not in page.text.replace("\n", "") and f"{a} | {b}" not in joined


@pytest.mark.parametrize("kind", LARGE_KINDS)
def test_a_national_directory_is_counted_per_commune(printed, kind):
    """Thousands of sites on France: proportional circles per commune, which the legend
    says with its reference circles."""
    legend = " ".join(_legend(printed(kind)[0]))
    assert "Nombre de sites par commune" in legend, legend


@pytest.mark.parametrize("kind", _kinds())
def test_the_legend_counts_what_the_map_shows(printed, kind):
    """The classes' counts add up to the sites on the page (the subtitle's count of the
    sites in the frame when some are outside it)."""
    page = printed(kind)[0]
    text = page.text.replace("\u202f", "").replace("\u00a0", " ")
    framed = re.search(r"(\d+) sites? dans le cadre de la carte", text) or \
        re.search(r"(\d+) sites? localisés? sur", text)
    # pdftotext may cut « 1 456 » at its thin space into two words, joined by a space
    counts = re.findall(r"\((\d[\d\u202f\u00a0 ]*)\)", " ".join(_legend(page)))
    assert sum(int(re.sub(r"\D", "", c)) for c in counts) == int(framed.group(1))


#: Typography the editor sends back: « (s) » plurals, a number of four digits or more
#: without its thin space (years aside), a space that may break (or none) before « : ; !
#: ? » or inside « ».
TYPOGRAPHY = {
    "(s)": re.compile(r"\w\(s\)"),
    "nombre sans espace fine": re.compile(r"(?<![\d\u202f\u00a0,.])(?!(?:19|20)\d\d\b)"
                                          r"\d{4,}(?![\d,])"),
    "espace sécable avant : ; ! ?": re.compile(r"[ \w][:;!?](?!//)"),
    "espace sécable dans « »": re.compile(r"« |«\w| »|\w»"),
}


@pytest.mark.parametrize("kind", _kinds())
def test_french_typography(printed, kind):
    for page in printed(kind):
        found = {what: [page.text[max(0, m.start() - 12):m.end() + 6]
                        for m in pattern.finditer(page.text)]
                 for what, pattern in TYPOGRAPHY.items()}
        assert {what: hits for what, hits in found.items() if hits} == {}


@pytest.mark.parametrize("kind", _kinds())
def test_the_sources_line_names_producers_and_a_date(printed, kind):
    page = printed(kind)[0]
    line = next(line for line in page.text.splitlines() if line.startswith("Sources"))
    assert "ANCT" in line and "INSEE" in line
    months = ("janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|"
              "novembre|décembre")
    assert re.search(rf"\b\d{{1,2}}(?:er)? (?:{months}) 20\d\d\b", line), line


#: The atlas and the fiches, read as the prints are: an atlas of the 3 747-site national
#: directory (an overview and a page per département), the fiches of the département's
#: directory (placed earlier, some not placed at all) and of the local export.
BOOKS = {
    "atlas-national-grand": (LARGE, ["--print", "{out}/atlas.pdf", "--atlas"], "atlas.pdf"),
    "fiches-departement": (TEST_DATA / "annuaire_geocode_avant.csv",
                           ["--departement", "54", "--fiches", "{out}/fiches.pdf"],
                           "fiches.pdf"),
    "fiches-local": (LOCAL, ["--fiches", "{out}/fiches.pdf"], "fiches.pdf"),
}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """An atlas or the fiches of a kind of directory, made once, read page by page."""

    def read(kind: str) -> list[Page]:
        return _made(tmp_path_factory, kind, *BOOKS[kind])

    return read


@pytest.mark.parametrize("kind", BOOKS)
def test_every_page_of_an_atlas_or_the_fiches_reads_cleanly(book, kind):
    """Every page: its words inside it, none over another, no « (s) », no category
    joined to another as the directory joins them."""
    pages = book(kind)
    assert len(pages) >= (100 if kind != "fiches-departement" else 30)
    if kind.startswith("fiches"):  # the study's title with its apostrophe
        assert "Initiatives de l’ESS et quartiers prioritaires – fiche 1 sur" in pages[0].text
    joined = MULTI_VALUED.get("local" if kind == "fiches-local" else "national-grand", ())
    for n, page in enumerate(pages, 1):
        assert len(page.words) > 10, n
        outside = [w[4] for w in page.words
                   if w[0] < 0 or w[1] < 0 or w[2] > page.width or w[3] > page.height]
        clashes = [(a[4], b[4]) for a, b in itertools.combinations(page.words, 2)
                   if _overlap(a, b)]
        assert (n, outside, clashes) == (n, [], [])
        assert "(s)" not in page.text and "|" not in page.text, n
        flat = page.text.replace("\n", "")
        assert not [(a, b) for a, b in itertools.permutations(joined, 2) if f"{a}{b}" in flat]


def test_a_fiche_without_a_position_makes_no_claim_about_quartiers(book):
    """The département's directory holds sites no answer placed, or whose typed coordinates
    contradict their address: their fiche says so, and nothing of quartiers."""
    unknown = [p for p in book("fiches-departement")
               if "Position inconnue" in p.text or "Coordonnées du tableau écartées" in p.text]
    assert unknown
    for page in unknown:
        assert "ni dans ni près" not in page.text
        assert "implanté" not in page.text.lower()

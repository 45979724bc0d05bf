"""The declarations that carry their behaviour: QPV generations and status labels, each
declared once in geo.vocabulary and read by linking, key figures and tables alike."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import geo
from geo.impact import read_population
from geo.link import _match_qpv
from geo.qpv import load_qpv
from geo.vocabulary import (
    GENERATION,
    LABELS,
    QPV_CODE,
    VALUE_LABELS,
    GeocodeStatus,
    Relation,
    generation_of_code,
)

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("codes, generation", [
    (gpd.read_file(DATA / "qp2024_dep75_4dp.geojson")["code_qp"], "2024"),
    (gpd.read_file(DATA / "qp2024_dep93_4dp.geojson")["code_qp"], "2024"),
    (load_qpv("bundled-2015-occitanie")["code_qp"], "2015"),
    (load_qpv("bundled-2024")["code_qp"], "2024"),
])
def test_real_codes_match_their_generation_declared_once(codes, generation):
    """Real codes (QN07501M in 2024, QP066007 in 2015) are eight characters: the prefix
    and six more; one pattern serves every reader."""
    assert codes.str.fullmatch(QPV_CODE.pattern).all()
    assert codes.str.fullmatch(GENERATION[generation].code.pattern).all()
    assert {generation_of_code(c).key for c in codes} == {generation}


def test_linking_and_key_figures_read_codes_alike(tmp_path):
    """A served quartier written as a code and a key-figures file both read codes by the
    generations' one pattern (link once accepted seven characters, impact only eight)."""
    by_code = {"QN07501M": 0}
    assert _match_qpv("qn07501m", by_code, {}, []) == 0
    assert "code de quartier inconnu" in _match_qpv("QN09999Z", by_code, {}, [])
    assert "code de quartier inconnu" not in _match_qpv("QN07501", by_code, {}, [])
    path = tmp_path / "chiffres.csv"
    pd.DataFrame({"code": ["QN07501M", "QP066007"], "pop_mun": ["1200", "3400"]}).to_csv(
        path, index=False)
    assert sorted(read_population(path).values) == [1200, 3400]


def test_geocoding_statuses_have_one_label_table():
    """A cell, a table and a summary read the same declaration."""
    for status in GeocodeStatus:
        assert VALUE_LABELS["geocode_status"][status.value] == status.label == LABELS[status]
        assert status.counted_for(1) and status.counted_for(2)
    assert GeocodeStatus.OK.counted_for(3) == "géocodées (ok)"
    assert GeocodeStatus.OK.counted_for(1) == "géocodée (ok)"
    assert GeocodeStatus.CORRECTED.counted_for(0) == "corrigée"
    assert GeocodeStatus.CORRECTED.counted_for(5) == "corrigées"


#: Modules another change converts to the declarations on its own.
_CONVERTED_ELSEWHERE = {"vocabulary.py"}


def _loose_relation_strings(root: Path) -> list[str]:
    """Every string literal of the package's Python that is a relation's name or its
    French label (``"nearby"``, ``"hors QPV"``), or a former label (« hors quartier
    prioritaire », « dedans »); and every relation label written in the map's scripts."""
    names = {r.value for r in (Relation.IMPLANTED, Relation.NEARBY)}
    labels = {r.label.casefold() for r in Relation}
    former = ("hors quartier prioritaire", "dedans")
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name in _CONVERTED_ELSEWHERE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.casefold()
                if node.value in names or text.strip() in labels \
                        or any(f in text for f in former):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    for path in sorted(root.rglob("*.js")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for text in re.findall(r'"([^"]*)"', line):
                if text.casefold().strip() in labels or any(
                        text.casefold().startswith(label + " ") for label in labels) \
                        or any(f in text.casefold() for f in former):
                    found.append(f"{path.relative_to(root)}:{number}: {text!r}")
    return found


def test_relations_are_named_and_labelled_only_by_their_declaration():
    """Outside geo.vocabulary a relation is ``Relation.NEARBY`` and its words
    ``Relation.NEARBY.label``: a copy written by hand drifts (the maps once said « hors
    quartier prioritaire » where the tables said « hors QPV »)."""
    assert _loose_relation_strings(Path(geo.__file__).parent) == []


def test_the_maps_scripts_name_the_relations_in_one_place():
    """The map's data carry relation names (``site.r``); one script tells them apart (the
    table's cells, the popups and the labels all ask it), the others call it."""
    scripts = sorted((Path(geo.__file__).parent / "templates").glob("*.js"))
    naming = [p.name for p in scripts
              if re.search(r'"(implanted|nearby)"', p.read_text(encoding="utf-8"))]
    assert naming == ["layers.js"]

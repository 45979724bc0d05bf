"""The print's counts say how many sites lie at an uncertain boundary (item 3 of the
fresh-eye review: « 1 392 implantés » stated as certain)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from geo import cli

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")

#: Three sites in the Paris quartier QN07511M, two a metre from its rounded outline.
SITES = ("id;nom;theme;latitude;longitude\n"
         "1;Au milieu;Insertion;48.8870;2.3540\n"
         "2;Au bord;Insertion;48.8871;2.3541\n"
         "3;Au bord aussi;Insertion;48.8872;2.3542\n")


def test_print_counts_say_the_uncertain_sites(tmp_path):
    (tmp_path / "t.csv").write_text(SITES, encoding="utf-8")
    pdf = tmp_path / "carte.pdf"
    assert cli.main(["map", str(tmp_path / "t.csv"), "-o", str(tmp_path / "carte.html"),
                     "--print", str(pdf)]) == 0
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    text = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())
    assert "implantés dans un QPV (dont 1 à une limite incertaine)" in text, text[:400]
    assert "à moins de 300 m (dont 1 à une limite incertaine)" in text, text[:400]

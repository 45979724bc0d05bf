"""The analysis notebook runs clean on the bundled data."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "analyse_etude.ipynb"


def test_notebook_runs_clean(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5  # four charts (the spread over the years too) and a fiche
    tables = " ".join(o["data"].get("text/html", "") for o in outputs if "data" in o)
    assert "emplois – sites implantés" in tables  # the Impact table
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("leaflet" in h.lower() and "height" in h for h in html)  # the map, inline
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Colonnes : coordonnées" in printed  # it ran the study engine, like the CLI

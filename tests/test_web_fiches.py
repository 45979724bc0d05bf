"""The web page writes the fiches (a page per initiative, the costly output) for a small
table, and for a large one only when the person asks for them (issue 33, item 1)."""

from __future__ import annotations

import io
import tomllib

import pytest

from geo.web.workspace import FICHES_UP_TO


def _table(rows: int) -> bytes:
    lines = ["id;nom;latitude;longitude"]
    lines += [f"S{i};Site {i};48.92{i % 10};2.36{i % 7}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def client(tmp_path):
    from geo.web import create_app

    app = create_app(tmp_path / "etudes")
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def _study_with(client, rows: int) -> str:
    slug = client.post("/nouvelle", data={"nom": f"essai {rows}"}).headers["Location"].rstrip(
        "/").split("/")[-2]
    r = client.post(f"/etudes/{slug}/import", content_type="multipart/form-data",
                    data={"tableau": (io.BytesIO(_table(rows)), "annuaire.csv")})
    assert r.status_code in (200, 302), r.get_data(as_text=True)[:2000]
    return slug


def _asked(root, slug: str) -> str:
    saved = tomllib.loads((root / slug / "etude.toml").read_text("utf-8"))
    return saved["sorties"]["fiches"]


@pytest.mark.parametrize(("rows", "on"), [(3, True), (FICHES_UP_TO + 1, False)])
def test_fiches_by_the_size_of_the_table(client, tmp_path, rows, on):
    slug = _study_with(client, rows)
    assert bool(_asked(tmp_path / "etudes", slug)) is on
    page = client.get(f"/etudes/{slug}/parametres").get_data(as_text=True)
    assert ('name="fiches" value="oui" checked' in page) is on
    assert f"tableau de {FICHES_UP_TO} initiatives au plus" in page


def test_the_person_asks_for_them_and_the_choice_stays(client, tmp_path):
    slug = _study_with(client, FICHES_UP_TO + 1)
    form = {"titre": "Grand annuaire", "source": "bundled-2024", "distance": "300",
            "departements": "", "communes": "", "score": "0.6", "format": "A4",
            "format_fiches": "A4", "fiches": "oui"}
    assert client.post(f"/etudes/{slug}/parametres", data=form).status_code == 302
    assert _asked(tmp_path / "etudes", slug) == "fiches.pdf"
    # saving the columns keeps it
    page = client.get(f"/etudes/{slug}/parametres").get_data(as_text=True)
    assert 'name="fiches" value="oui" checked' in page
    del form["fiches"]
    assert client.post(f"/etudes/{slug}/parametres", data=form).status_code == 302
    assert _asked(tmp_path / "etudes", slug) == ""

"""Hostile uploads (geo/uploads.py): each bomb is refused in a few seconds, with a French
message, by a server that stays small.

The bombs are built here, small on disk thanks to compression (a zip written by hand, its
members deflated once per repeated block); each is checked as the server checks an upload
(``workspace.save_table``: type, expansion, then the bounded worker), in a process of its own
whose time and peak memory (its own and its worker's) are measured.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from geo._errors import InputError
from geo.uploads import Limits, _csv_shape, check_expansion, check_structure, sniff

ODS = b"application/vnd.oasis.opendocument.spreadsheet"
MB = 1024 * 1024
#: What a refusal may cost: seconds, and megabytes of the checking process and its worker.
SECONDS, MEGABYTES = 5.0, 300


# --------------------------------------------------------------------------- building bombs


class Member:
    """A zip member: its raw deflated (or stored) bytes, CRC and inflated size."""

    def __init__(self, name: str, data: bytes = b"", *, stored: bool = False) -> None:
        self.name, self.method = name, 0 if stored else 8
        self.raw = data if stored else _deflate(data)
        self.crc, self.size = zlib.crc32(data), len(data)

    @classmethod
    def repeated(cls, name: str, head: bytes, block: bytes, times: int,
                 tail: bytes = b"") -> Member:
        """``head + block * times + tail`` deflated without ever being built: after a full
        flush each repetition of ``block`` compresses to the same bytes."""
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
        once = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
        assert comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH) == once
        last = comp.compress(tail) + comp.flush()
        member = cls(name)
        member.raw = first + once * times + last
        crc = zlib.crc32(head)
        for _ in range(times):
            crc = zlib.crc32(block, crc)
        member.crc = zlib.crc32(tail, crc)
        member.size = len(head) + len(block) * times + len(tail)
        return member


def _deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def zip_bytes(*members: Member, declared: dict[str, int] | None = None) -> bytes:
    """A zip of ``members``; ``declared`` overrides the inflated size its headers state."""
    out, central = io.BytesIO(), io.BytesIO()
    for m in members:
        size = (declared or {}).get(m.name, m.size)
        name = m.name.encode()
        offset = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, m.method, 0, 33, m.crc,
                              len(m.raw), size, len(name), 0) + name + m.raw)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, m.method, 0, 33,
                                  m.crc, len(m.raw), size, len(name), 0, 0, 0, 0, 0, offset)
                      + name)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                          len(central.getvalue()), start, 0))
    return out.getvalue()


CONTENT = (b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
           b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
           b'<office:body><office:spreadsheet><table:table table:name="F">')
ROWS = (b'<table:table-row><table:table-cell office:value-type="string"><text:p>nom</text:p>'
        b'</table:table-cell></table:table-row><table:table-row><table:table-cell '
        b'office:value-type="string"><text:p>Recyclerie</text:p></table:table-cell>'
        b'</table:table-row>')
END = b"</table:table></office:spreadsheet></office:body></office:document-content>"
MANIFEST = (b'<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
            b'"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            b'<manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
            b'vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path='
            b'"content.xml" manifest:media-type="text/xml"/></manifest:manifest>')


def ods(*extra: Member, content: Member | None = None, mimetype: Member | None = None,
        **kw) -> bytes:
    return zip_bytes(mimetype or Member("mimetype", ODS, stored=True),
                     content or Member("content.xml", CONTENT + ROWS + END),
                     Member("META-INF/manifest.xml", MANIFEST), *extra, **kw)


def xlsx(sheet_rows: str, *, target: str = "../feuilles/donnees.xml",
         part: str = "feuilles/donnees.xml") -> bytes:
    """A workbook whose only sheet sits at ``part``, named by its relations' ``target``."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    types = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    members = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
        'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        f'ContentType="{types}.sheet.main+xml"/><Override PartName="/{part}" '
        f'ContentType="{types}.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
        f'{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}">'
        '<sheets><sheet name="Feuille" sheetId="1" r:id="rId7"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" '
        f'Type="{rel}/worksheet" Target="{target}"/></Relationships>',
        part: f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{sheet_rows}'
        '</sheetData></worksheet>'}
    return zip_bytes(*(Member(name, text.encode()) for name, text in members.items()))


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEADER = f'<row r="1">{cell("A1", "nom")}</row><row r="2">{cell("A2", "Recyclerie")}</row>'


# --------------------------------------------------------------------------- measuring

CHECK = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    from geo._errors import InputError
    from geo.web.workspace import save_table
    from geo.uploads import Limits

    data = Path(sys.argv[1]).read_bytes()
    folder = Path(sys.argv[2])
    start = time.monotonic()
    try:
        save_table(folder, data, Path(sys.argv[1]).name, Limits())
        message = None
    except InputError as exc:
        message = str(exc)
    seconds = time.monotonic() - start
    # this process's own peak (VmHWM): ru_maxrss of a process started by a big one (the
    # test session) starts at its parent's size
    own = next(int(line.split()[1]) for line in
               Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"message": message, "seconds": seconds, "server": own,
                      "worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                      / 1024}))
""")


def refused(tmp_path: Path, data: bytes, name: str) -> str:
    """The French refusal of the upload ``data``, checked as the server checks it in a
    process of its own; fails if it took more than :data:`SECONDS` or either process grew
    beyond :data:`MEGABYTES`."""
    path = tmp_path / name
    path.write_bytes(data)
    folder = tmp_path / "etude"
    folder.mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-c", CHECK, str(path), str(folder)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ESS_QPV_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["message"], f"{name} was accepted"
    assert result["seconds"] < SECONDS, result
    assert result["server"] < MEGABYTES and result["worker"] < MEGABYTES, result
    assert name in result["message"]
    assert list(folder.iterdir()) == []  # nothing half-written
    return result["message"]


# --------------------------------------------------------------------------- the bombs


def test_a_mimetype_that_inflates_to_a_gigabyte(tmp_path):
    bomb = Member.repeated("mimetype", ODS, b" " * MB, 1024)
    data = ods(mimetype=bomb)
    assert len(data) < 2 * MB and bomb.size > 1024 * MB
    assert "anormalement compressé" in refused(tmp_path, data, "bombe.ods")
    # its headers lying about its size: only a few dozen bytes are ever inflated
    lying = ods(mimetype=bomb, declared={"mimetype": len(ODS)})
    message = refused(tmp_path, lying, "menteur.ods")
    assert "archive zip abîmée" in message or "anormalement compressé" in message


def test_members_inflated_beyond_the_bound_are_refused_as_they_stream():
    within = Limits()
    padding = Member.repeated("styles.xml", b"<s>", b" " * MB, 30, b"</s>")
    data = ods(padding)
    with pytest.raises(InputError, match="anormalement compressé"):
        sniff(data)  # the directory declares 30 MB for an upload of a few kilobytes
    # declared small, actually 30 MB: the stream stops at the declared size
    lying = ods(padding, declared={"styles.xml": 5 * MB})
    assert sniff(lying) == ".ods"
    with pytest.raises(InputError, match="abîmée|anormalement"):
        check_expansion(lying, ".ods", within)


def test_forty_million_elements_outside_the_rows(tmp_path):
    # as the red team's: large enough (8 MB of pictures) for its 160 MB of XML to stay within
    # the inflation bound; the elements are what gives it away
    elements = Member.repeated("content.xml", CONTENT + ROWS, b"<a/>" * 1024,
                               40 * 1024, END)
    picture = Member("Thumbnails/thumbnail.png", os.urandom(8 * MB + MB // 2), stored=True)
    data = ods(picture, content=elements)
    assert elements.size < 20 * len(data)
    message = refused(tmp_path, data, "elements.ods")
    assert "éléments XML" in message


@pytest.mark.parametrize("where", ["between rows", "in a cell", "before the table"])
def test_the_parser_counts_every_element(tmp_path, where):
    """Past the bound, elements are refused wherever they sit (the worker's parser)."""
    many = b"<text:s/>" * 400
    body = {"between rows": ROWS + many,
            "in a cell": ROWS.replace(b"<text:p>nom</text:p>", b"<text:p>nom" + many
                                      + b"</text:p>"),
            "before the table": many + ROWS}[where]
    path = tmp_path / "t.ods"
    path.write_bytes(ods(content=Member("content.xml", CONTENT + body + END)))
    check_structure(path, ".ods", Limits(max_cells=1000))  # 3 000 elements: enough
    with pytest.raises(InputError, match="éléments XML"):
        check_structure(path, ".ods", Limits(max_cells=100))


def test_a_sheet_outside_the_worksheets_folder_is_found_by_the_relations(tmp_path):
    far = f'<row r="1048576">{cell("XFD1048576", "fin")}</row>'
    message = refused(tmp_path, xlsx(HEADER + far), "ailleurs.xlsx")
    assert "16\u202f384 colonnes : la limite est de 1\u202f000" in message
    # the same sheet, in bounds, is the one pandas reads: the relations name it
    import pandas as pd

    path = tmp_path / "sain.xlsx"
    path.write_bytes(xlsx(HEADER))
    check_structure(path, ".xlsx", Limits())
    assert pd.read_excel(path, dtype=str)["nom"].tolist() == ["Recyclerie"]
    # an absolute target too
    path.write_bytes(xlsx(HEADER + far, target="/ailleurs/f.xml", part="ailleurs/f.xml"))
    with pytest.raises(InputError, match="colonnes"):
        check_structure(path, ".xlsx", Limits())


def test_a_geojson_with_a_hundred_thousand_properties(tmp_path):
    properties = {f"p{i}": 1 for i in range(100_001)}
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.35, 48.85]},
         "properties": properties}]}).encode()
    message = refused(tmp_path, data, "proprietes.geojson")
    assert "100\u202f001 colonnes : la limite est de 1\u202f000" in message


def test_a_geopackage_with_too_many_fields(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame({f"c{i}": ["x"] for i in range(1001)},
                             geometry=[Point(2.35, 48.85)], crs=4326)
    frame.to_file(tmp_path / "source.gpkg")
    message = refused(tmp_path, (tmp_path / "source.gpkg").read_bytes(), "champs.gpkg")
    assert "colonnes : la limite est de 1\u202f000" in message


def test_only_deflate_and_few_members():
    bz2 = Member("content.xml", b"x")
    bz2.method = 12
    with pytest.raises(InputError, match="compressée autrement"):
        sniff(ods(bz2))
    many = [Member(f"m{i}") for i in range(10_001)]
    with pytest.raises(InputError, match="10\u202f004 fichiers"):
        sniff(ods(*many))


# --------------------------------------------------------------------------- CSV headers


@pytest.mark.parametrize("length", [131_073, 900_000, 3 * MB])
def test_a_csv_header_cell_of_any_length_is_named(length):
    data = b"nom;" + b"x" * length + b";adresse\nRecyclerie;1;rue\n"
    with pytest.raises(InputError) as caught:
        _csv_shape(data)
    message = str(caught.value)
    assert message.startswith("ligne 1") and "Traceback" not in message
    if length < MB:
        assert "colonne 2" in message and "131\u202f072" in message


def test_a_long_csv_header_cell_is_a_french_page_not_a_crash(tmp_path, isolated_cache):
    from tests.test_web import new_study
    from tests.web import WebServer

    server = WebServer(tmp_path / "etudes", isolated_cache)
    try:
        table = b"nom;" + b"=1+1" * 40_000 + b";adresse\nRecyclerie;1;rue\n"
        _, r = new_study(server.session(), "long", table, "en-tete.csv")
        assert r.status_code == 400, r.status_code
        assert "fichier en-tete.csv" in r.text and "ligne 1, colonne 2" in r.text
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text(encoding="utf-8")

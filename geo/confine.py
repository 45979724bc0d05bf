"""What a study may touch: files inside its own folder, and ordinary files only.

A study folder may come from someone else (a colleague's zip, a shared drive). Its study file
names the tables it reads and the files it writes; a hostile one could name
``../prive/beneficiaires.csv``, or its ``resultats/fiches`` could be a symbolic link to another
folder. Every path a study reads or writes is therefore resolved (symbolic links followed) and
refused when it leaves the study folder, unless the person running it allows it
(``ess-qpv run --autoriser-hors-dossier``). Devices, pipes and sockets are never read: a
``.csv`` that is a link to ``/dev/zero`` would fill the memory.
"""

from __future__ import annotations

import gzip
import re
import stat
import zipfile
from pathlib import Path

from ._errors import InputError

#: The parameter that allows a study to reach outside its folder (named in messages).
ALLOW_OUTSIDE = "allow_outside"


def inside(path: str | Path, folder: str | Path | None, *, what: str,
           allowed: bool = False) -> Path:
    """Return ``path`` if it stays inside ``folder`` once resolved (symbolic links
    followed, ``..`` removed); raise :class:`InputError` otherwise.

    ``folder`` ``None`` (a study with no folder, such as ``ess-qpv link``) or ``allowed``
    accepts every path.

    >>> inside("/tmp/etude/resultats/carte.html", "/tmp/etude", what="la carte").name
    'carte.html'
    """
    path = Path(path)
    if folder is None or allowed:
        return path
    root = Path(folder).expanduser().resolve()
    target = (root / path.expanduser()).resolve()
    if target == root or target.is_relative_to(root):
        return path
    link = _first_link(root, root / path.expanduser())
    how = f" (« {link} » est un lien symbolique vers {link.resolve()})" if link else ""
    raise InputError(f"{what} est hors du dossier de l'étude{how} : une étude ne lit et "
                     "n'écrit que dans son propre dossier ; rien n'a été lu ni écrit. Si ce "
                     "dossier vient de vous et que c'est voulu, autorisez-le explicitement.",
                     path=str(path), parameters=(ALLOW_OUTSIDE,))


def _first_link(root: Path, path: Path) -> Path | None:
    """The first symbolic link on the way from ``root`` to ``path`` (for the message)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def regular_file(path: str | Path, *, what: str = "ce fichier") -> Path:
    """Return ``path`` if it is an ordinary file (links followed); a device, a pipe, a
    socket or a folder raise :class:`InputError`. A missing file passes (its reader says
    so in its own words)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise InputError(f"{what} est illisible ({exc.strerror or exc}).",
                         path=str(path)) from exc
    if stat.S_ISDIR(mode):
        raise InputError(f"c'est un dossier : indiquez le fichier ({what}).", path=str(path))
    if not stat.S_ISREG(mode):
        kind = "un périphérique" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else \
            "un tube (FIFO)" if stat.S_ISFIFO(mode) else "une prise (socket)" \
            if stat.S_ISSOCK(mode) else "un fichier spécial"
        raise InputError(f"{what} n'est pas un fichier ordinaire mais {kind} : il n'est pas "
                         "lu.", path=str(path))
    return path


#: The files GDAL opens beside a shapefile: each must be checked like the ``.shp``.
SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def with_sidecars(path: str | Path) -> list[Path]:
    """``path``, and for a shapefile the files of the same name beside it that GDAL reads
    too (a ``.dbf`` may be a link to another folder's file)."""
    path = Path(path)
    if path.suffix.lower() != ".shp":
        return [path]
    found = {p for suffix in SIDECARS for p in (path.with_suffix(suffix),
                                               path.with_suffix(suffix.upper()))
             if p.exists() or p.is_symlink()}
    return [path, *sorted(found)]


#: What each format's file starts with: GDAL otherwise decides by the content, so a
#: ``.geojson`` holding a VRT would read any file or URL it names.
_MAGIC = {".gpkg": (b"SQLite format 3\x00",), ".shp": (b"\x00\x00\x27\x0a",),
          ".zip": (b"PK\x03\x04", b"PK\x05\x06")}
#: An old GeoJSON ``crs`` of type ``link``: GDAL fetches its ``href``.
_CRS_LINK = re.compile(rb'"type"\s*:\s*"link"')
_GEOJSON = (".geojson", ".json", ".geojson.gz", ".json.gz")


def check_format(path: str | Path, *, what: str = "ce fichier",
                 member: str | None = None) -> Path:
    """Refuse a geographic file (or the ``member`` of a zip) whose content is not its
    extension's format (a VRT or any other GDAL format renamed ``.geojson``), or a
    GeoJSON that names a link for GDAL to fetch (an old ``crs`` of type ``link``): reading
    it would reach other files or the network."""
    path = Path(path)
    name = (member or path.name).lower()

    def opened():
        if member is not None:
            return zipfile.ZipFile(path).open(member)
        return path.open("rb")

    try:
        with opened() as raw:
            head = raw.read(64)
        if name.endswith(_GEOJSON):
            with opened() as raw:
                text = raw.read()
            if head.startswith(b"\x1f\x8b"):
                text = gzip.decompress(text)
            _check_geojson(text, what, path)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{what} est illisible ({exc}).", path=str(path)) from exc
    suffix = Path(name).suffix
    if not name.endswith(_GEOJSON) and suffix in _MAGIC and not head.startswith(_MAGIC[suffix]):
        raise InputError(f"{what} n'est pas un fichier {suffix} (son contenu est d'un autre "
                         "format) : il n'est pas lu.", path=str(path))
    return path


def _check_geojson(text: bytes, what: str, path: Path) -> None:
    if not text.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        raise InputError(f"{what} n'est pas du GeoJSON (son contenu est d'un autre format) : "
                         "il n'est pas lu.", path=str(path))
    if _CRS_LINK.search(text):
        raise InputError(f"{what} désigne son système de coordonnées par un lien à télécharger "
                         "(« crs » de type « link », une forme abandonnée du GeoJSON) : il "
                         "n'est pas lu ; retirez ce « crs » (le GeoJSON est en degrés "
                         "WGS 84).", path=str(path))

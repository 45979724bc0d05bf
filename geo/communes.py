"""The communes of France by their INSEE code and name (IGN ADMIN EXPRESS COG 2018, bundled):
how a column of commune names or codes is recognised by its content."""

from __future__ import annotations

import functools
import re
import unicodedata

import pandas as pd

from .settings import bundled_path

_ARTICLE = re.compile(r"^(le|la|les|l)\s+")
#: « Paris 18e », « Lyon 3e arrondissement », « Marseille 1er » name their city.
_ARRONDISSEMENT = re.compile(r"\s+\d+\s*(e|er|eme|ème)?(\s+arrondissement)?$")


def name_key(name: object) -> str:
    """A commune name as compared: accents, case, hyphens and the leading article ignored,
    an arrondissement's number dropped.

    >>> name_key("La Courneuve"), name_key("Courneuve"), name_key("Paris 18e")
    ('courneuve', 'courneuve', 'paris')
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    text = " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())
    text = _ARRONDISSEMENT.sub("", text)
    return _ARTICLE.sub("", text)


@functools.cache
def communes() -> pd.DataFrame:
    """``code`` (INSEE, text) and ``nom`` of every commune of the 2018 geography."""
    return pd.read_csv(bundled_path("communes.csv.gz"), sep=";", dtype=str,
                       keep_default_na=False, encoding="utf-8")


@functools.cache
def codes() -> frozenset[str]:
    """The INSEE codes of the communes, and of the arrondissements of Paris, Lyon and
    Marseille (which addresses and registries use)."""
    arrondissements = ([f"751{n:02d}" for n in range(1, 21)]
                       + [f"6938{n}" for n in range(1, 10)]
                       + [f"132{n:02d}" for n in range(1, 17)])
    return frozenset(communes()["code"]) | frozenset(arrondissements)


@functools.cache
def name_keys() -> frozenset[str]:
    return frozenset(communes()["nom"].map(name_key))

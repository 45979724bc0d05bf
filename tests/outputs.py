"""Our tables as the tests read them: the French of every table a person opens, back to the
names and codes of the Python API (so that an assertion says the same thing whichever
door wrote the table)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.tables import HEADERS
from geo.vocabulary import VALUE_LABELS

_BACK_HEADERS = {fr: en for headers in HEADERS.values() for en, fr in headers.items()}
_COUNTS = {"Implantées": "implanted", "À proximité": "nearby", "Y intervenant": "served"}


def as_api(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with our French headers and values back to the API's."""
    def header(name: str) -> str:
        if name in _BACK_HEADERS:
            return _BACK_HEADERS[name]
        first, sep, theme = name.partition(" – ")
        return f"n_{_COUNTS[first]}:{theme}" if sep and first in _COUNTS else name

    out = table.rename(columns=header)
    for column, labels in VALUE_LABELS.items():
        if column in out:
            back = {fr: code for code, fr in labels.items()}
            out[column] = out[column].map(lambda v, back=back: back.get(v, v))
    return out


def read_output(path: str | Path, **kwargs) -> pd.DataFrame:
    """A CSV written by the tool (``;``, UTF-8 with BOM), in the API's names."""
    kwargs.setdefault("dtype", str)
    kwargs.setdefault("keep_default_na", False)
    return as_api(pd.read_csv(path, sep=";", encoding="utf-8-sig", **kwargs))

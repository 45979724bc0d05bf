"""An address as one line, from the parts a table gives (number, street, postcode,
commune…): the geocoder's query, the address a review or a fiche shows.

Real exports often hold the whole address in their « Adresse » column *and* its postcode
and commune in columns of their own; a part that the line already holds is not written
twice (« 98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT », not « … 75014 14e
Arrondissement » again).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_POSTCODE = re.compile(r"\d{5}")
#: « 14e », « 14ème », « 14EME », « 1er », « 2nd »: the number alone.
_ORDINAL = re.compile(r"(\d+)(?:e|eme|ieme|er|ere|nd|nde|me)")


def five_digits(code: object) -> str:
    """A postcode or INSEE code as typed, with the leading zero a spreadsheet dropped
    (French Excel reads ``01000`` as the number ``1000``); other text stripped, unchanged.

    >>> five_digits("1000"), five_digits(" 01053 "), five_digits("2A004"), five_digits(None)
    ('01000', '01053', '2A004', '')
    """
    text = "" if code is None else str(code).strip()
    return "0" + text if len(text) == 4 and text.isdigit() else text


def address_words(text: str) -> list[str]:
    """The words of ``text`` as compared: accents and case folded, punctuation dropped,
    an ordinal as its number (« 14EME » → ``14``).

    >>> address_words("PARIS 14ème Arrondissement, Saint-Denis")
    ['paris', '14', 'arrondissement', 'saint', 'denis']
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [m[1] if (m := _ORDINAL.fullmatch(w)) else w
            for w in re.findall(r"[a-z0-9]+", folded)]


def join_address(parts: Iterable[object]) -> str:
    """The non-empty ``parts`` joined by spaces (inner spaces made single), each part left
    out when the line before it already holds it: a postcode anywhere in it, other parts
    (the commune…) written after a postcode in it.

    The commune of a street named after a commune is kept (« 12 rue de Lyon » + « Lyon »),
    as is a part the line holds in other words (« ST DENIS » and « Saint-Denis »).

    >>> join_address(["98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT", "75014",
    ...               "14e Arrondissement"])
    '98 rue Didot 75014 PARIS 14EME ARRONDISSEMENT'
    >>> join_address(["12 rue de Lyon", "69003", "Lyon"])
    '12 rue de Lyon 69003 Lyon'
    >>> join_address(["47", "", "AV", "DE LA LIBERTE", "93100", "MONTREUIL"])
    '47 AV DE LA LIBERTE 93100 MONTREUIL'
    """
    line: list[str] = []
    words: list[str] = []
    for part in parts:
        text = " ".join(str(part).split()) if part is not None else ""
        if not text:
            continue
        own = address_words(text)
        if own and _already_there(own, words):
            continue
        line.append(text)
        words += own
    return " ".join(line)


def _already_there(part: list[str], line: list[str]) -> bool:
    """Whether the words of ``part`` stand in ``line``: a postcode anywhere, other words
    in a row after a postcode."""
    if len(part) == 1 and _POSTCODE.fullmatch(part[0]):
        return part[0] in line
    postcodes = [k for k, w in enumerate(line) if _POSTCODE.fullmatch(w)]
    if not postcodes:
        return False
    n = len(part)
    return any(line[k:k + n] == part for k in range(postcodes[0] + 1, len(line) - n + 1))

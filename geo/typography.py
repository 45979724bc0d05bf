r"""French typography for every text the tool writes: plurals that agree with their number,
numbers with thin no-break spaces, no-break spaces before « : ; ! ? » and inside « »,
typographic apostrophes, en dashes for ranges.

Pure functions on strings, no dependency: maps, prints, fiches and tables share them.

>>> plural(1, "site"), plural(3820, "site"), plural(2, "quartier prioritaire")
('1 site', '3\u202f820 sites', '2 quartiers prioritaires')
>>> french_spacing("Sites : 3 ; « Grand Mirail » ! l'équipe")
'Sites\xa0: 3\u202f; «\xa0Grand Mirail\xa0»\u202f! l’équipe'
"""

from __future__ import annotations

import re

#: No-break space (before « : » and inside « »), narrow no-break space (thousands, before
#: « ; ! ? »), en dash (ranges), typographic apostrophe.
NBSP, NNBSP, EN_DASH, APOSTROPHE = "\u00a0", "\u202f", "\u2013", "\u2019"

#: Plurals that do not take a plain « s ».
_IRREGULAR = {"local": "locaux", "national": "nationaux", "territorial": "territoriaux",
              "régional": "régionaux", "départemental": "départementaux", "autre": "autres",
              "bureau": "bureaux", "lieu": "lieux", "établissement": "établissements"}


#: Words that never agree: « non » in « sites non localisés », « très », « plus »…
_INVARIABLE = {"non", "très", "plus", "moins", "hors", "ni", "et", "ou"}


def _plural_word(word: str) -> str:
    if word in _INVARIABLE:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "z")):
        return word
    if word.endswith(("eau", "au", "eu")):
        return word + "x"
    return word + "s"


def plural_form(n: float, singular: str, plural: str | None = None) -> str:
    """The words that agree with ``n`` (French rule: 0 and 1 take the singular).

    Each word of ``singular`` is made plural unless ``plural`` is given; words after
    « de », « du », « des », « d’ » and « à » are left as they are (« site d’accueil » →
    « sites d’accueil »).

    >>> plural_form(0, "site localisé"), plural_form(2, "site localisé")
    ('site localisé', 'sites localisés')
    >>> plural_form(2, "lieu de vie"), plural_form(3, "site non localisé")
    ('lieux de vie', 'sites non localisés')
    """
    if abs(n) < 2:
        return singular
    if plural is not None:
        return plural
    words, out = singular.split(" "), []
    for k, word in enumerate(words):
        if word in ("de", "du", "des", "à", "au", "aux", "en") or word.startswith(("d’", "d'")):
            out.extend(words[k:])
            break
        out.append(_plural_word(word))
    return " ".join(out)


def plural(n: float, singular: str, plural: str | None = None) -> str:
    """``n`` and its noun, agreeing: ``plural(1, "site")`` → « 1 site », ``plural(3820,
    "site")`` → « 3 820 sites » (narrow no-break space in thousands)."""
    return f"{number(n)} {plural_form(n, singular, plural)}"


def number(value: float, decimals: int | None = None) -> str:
    r"""A number the French way: ``3820`` → « 3 820 », ``1234.5`` → « 1 234,5 »
    (narrow no-break space for thousands, decimal comma). Whole numbers have no
    decimals; otherwise at most ``decimals`` (default 2), trailing zeros dropped.

    >>> number(3820), number(1234.5), number(-0.25), number(2.0)
    ('3\u202f820', '1\u202f234,5', '-0,25', '2')
    """
    value = float(value)
    if decimals is None and value.is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.{2 if decimals is None else decimals}f}"
        if decimals is None and "." in text:
            text = text.rstrip("0").rstrip(".")
    return text.replace(",", NNBSP).replace(".", ",")


def degrees(value: float) -> str:
    r"""A coordinate in degrees the French way, to the micro-degree, trailing zeros
    dropped: ``43.5808`` → « 43,5808 », ``-0.5`` → « -0,5 ».

    >>> degrees(43.5808), degrees(-22.269377), degrees(55.0)
    ('43,5808', '-22,269377', '55')
    """
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def number_range(low: float, high: float) -> str:
    """A range with an en dash: « 10–24 »."""
    return f"{number(low)}{EN_DASH}{number(high)}"


_BEFORE_COLON = re.compile(r"[ \u00a0\u202f]*:(?=\s|$)")
_BEFORE_PUNCT = re.compile(r"(?<=\S)[ \u00a0\u202f]*([;!?])(?=\s|$|»|\))")
_OPEN_QUOTE = re.compile(r"«[ \u00a0\u202f]*")
_CLOSE_QUOTE = re.compile(r"[ \u00a0\u202f]*»")
_APOSTROPHE = re.compile(r"(?<=[A-Za-zÀ-ÿ])'(?=[A-Za-zÀ-ÿ])")


def french_spacing(text: str) -> str:
    """``text`` with French spaces and apostrophes: a no-break space before « : » and
    inside « », a narrow no-break space before « ; ! ? », ’ for an apostrophe between
    letters. Addresses (``http://``, ``?q=``), times (``10:30``) and ratios are left
    alone: only a colon followed by a space or the end is spaced, and « ; ! ? » followed by
    a space, the end, « » » or « ) » (« (pas de réseau ?) »)."""
    text = _BEFORE_COLON.sub(lambda m: f"{NBSP}:" if m.start() else ":", text)
    text = _BEFORE_PUNCT.sub(lambda m: NNBSP + m.group(1), text)
    text = _OPEN_QUOTE.sub("«" + NBSP, text)
    text = _CLOSE_QUOTE.sub(NBSP + "»", text)
    return _APOSTROPHE.sub(APOSTROPHE, text)


def capitalised(text: str) -> str:
    """The first letter in capital, the rest as written (« épicerie solidaire » →
    « Épicerie solidaire »; « ESS » stays)."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre")


def date_text(day) -> str:
    """A date the French way: « 1er mars 2026 », « 7 décembre 2026 ».

    >>> import datetime
    >>> date_text(datetime.date(2026, 3, 1)), date_text(datetime.date(2026, 12, 7))
    ('1er mars 2026', '7 décembre 2026')
    """
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {_MONTHS[day.month - 1]} {day.year}"


#: Small words written in lower case inside a French place name (« Porte de la Chapelle »,
#: « Saint-Jean-de-Luz »), unless they begin it.
_PARTICLES = {"de", "du", "des", "la", "le", "les", "et", "sur", "sous", "en", "au", "aux",
              "lès", "lez"}
_WORDS = re.compile(r"([\s\-–(/]+)")


def place_name(text: str) -> str:
    """A place name as official names write it: the small words inside it in lower case
    (« Porte De La Chapelle » → « Porte de la Chapelle », « D'Or » → « d’Or »); the first
    word of the name, or of a part after « - » or « ( », keeps its capital.

    >>> place_name("Porte De La Chapelle - Charles Hermite")
    'Porte de la Chapelle - Charles Hermite'
    >>> place_name("Saint-Jean-De-Luz"), place_name("Cité - La Noue"), place_name("Goutte D'Or")
    ('Saint-Jean-de-Luz', 'Cité - La Noue', 'Goutte d’Or')
    """
    parts = _WORDS.split(text)
    out, start = [], True
    for part in parts:
        if _WORDS.fullmatch(part):
            out.append(part)
            # a new name after « ( » or a spaced dash (« Cité - La Noue »), not after the
            # hyphen of a compound (« Saint-Jean-de-Luz »)
            start = start or "(" in part or (part.strip() in ("-", "–", "/")
                                             and part != part.strip())
            continue
        word = part
        if not start:
            if word.lower() in _PARTICLES:
                word = word.lower()
            elif re.match(r"^[DL]['’]\w", word):
                word = word[0].lower() + "’" + word[2:]
        out.append(word)
        if part:
            start = False
    return "".join(out)

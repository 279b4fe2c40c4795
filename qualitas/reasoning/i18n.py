"""Finding messages in every pack language, from templates kept as data.

The wording is in ``messages.yaml`` (templates with named parameters) and ``terms.yaml``
(words for the catalog's document and marking codes, and substance names), both beside
this module. Code only fills parameters, so adding a language or fixing a phrase is a
data change. Issue 13: "Finding messages exist in every pack language (en, de, fr, zh,
vi). A missing translation is a visible finding, never silent English."

So a template or a term missing for a language renders as a visible marker *in that
language* ("[Übersetzung fehlt]", "[术语未翻译]") and is recorded in ``untranslated``,
which the gap report carries on the finding; an internal code is never printed.

EU act names are built from their CELEX number in each language's official form
(``32011L0065`` -> "Directive 2011/65/EU", "Richtlinie 2011/65/EU", "directive
2011/65/UE"); see https://eur-lex.europa.eu/content/help/eurlex-content/celex-number.html
and the Interinstitutional Style Guide, section 10.1 (numbering of acts):
https://style-guide.europa.eu/en/content/-/isg/topic?identifier=10.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

from qualitas.ontology import units
from qualitas.regulations.catalog import Regulation

#: The pack languages: every message exists in each of them.
LANGUAGES: Final[tuple[str, ...]] = ("en", "de", "fr", "zh", "vi")

HERE = Path(__file__).parent
MESSAGES_FILE = HERE / "messages.yaml"
TERMS_FILE = HERE / "terms.yaml"


class Texts(Mapping[str, str]):
    """An immutable, hashable mapping from language code to text, so that the frozen
    result dataclasses holding it stay hashable."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: tuple[tuple[str, str], ...] = tuple(sorted(dict(pairs).items()))

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Texts):
            return self._items == other._items
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Texts({dict(self._items)!r})"

    def text(self, lang: str) -> str:
        """The text in ``lang``, or the visible missing-translation marker of ``lang``."""
        return self.get(lang) or missing_marker(lang)


@dataclass(frozen=True)
class Localized:
    """Texts per language and what could not be said in some of them."""

    texts: Texts
    #: ``template:<section>.<key>@<lang>`` or ``term:<kind>.<code>``, one per gap.
    untranslated: tuple[str, ...] = ()


Param = str | Texts | Localized


@cache
def _data() -> dict[str, Any]:
    with MESSAGES_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


@cache
def _terms() -> dict[str, Any]:
    with TERMS_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def missing_marker(lang: str) -> str:
    """The marker shown where a translation into ``lang`` is missing."""
    markers: dict[str, str] = _data()["markers"]["missing_translation"]
    return markers.get(lang) or f"{markers['en']} ({lang})"


def _untranslated_marker(lang: str) -> str:
    markers: dict[str, str] = _data()["markers"]["untranslated_term"]
    return markers.get(lang) or f"{markers['en']} ({lang})"


def _piece(name: str) -> dict[str, str]:
    piece: dict[str, str] = _data()["pieces"][name]
    return piece


def _merge(parts: Iterable[Localized]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for p in parts:
        out.update(dict.fromkeys(p.untranslated))
    return tuple(out)


def neutral(text: str) -> Localized:
    """A language-neutral value (an identifier) in every language."""
    return Localized(Texts({lang: text for lang in LANGUAGES}))


def _as_localized(value: Param) -> Localized:
    if isinstance(value, Localized):
        return value
    if isinstance(value, Texts):
        return Localized(value)
    return neutral(value)


def render(section: str, key: str, /, **params: Param) -> Localized:
    """Template ``section.key`` filled with ``params`` in every language.

    A language without a template gets the missing-translation marker; a parameter
    without text in a language gets the untranslated-term marker; both are recorded.
    """
    node: Any = _data()
    for name in (*section.split("."), key):
        node = node.get(name, {}) if isinstance(node, dict) else {}
    templates: Mapping[str, str] = node
    values = {name: _as_localized(v) for name, v in params.items()}
    flags = list(_merge(values.values()))
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        template = templates.get(lang)
        if template is None:
            out[lang] = missing_marker(lang)
            flags.append(f"template:{section}.{key}@{lang}")
            continue
        filled: dict[str, str] = {}
        for name, v in values.items():
            text = v.texts.get(lang)
            if text is None:
                text = _untranslated_marker(lang)
                flags.append(f"param:{section}.{key}.{name}@{lang}")
            filled[name] = text
        out[lang] = template.format_map(filled)
    return Localized(Texts(out), tuple(dict.fromkeys(flags)))


def term(kind: str, code: str) -> Localized:
    """The word for catalog code ``code`` of ``kind`` (``documents``, ``markings``)."""
    entry: Mapping[str, str] | None = _terms().get(kind, {}).get(code)
    if not entry:
        return Localized(Texts({lang: _untranslated_marker(lang) for lang in LANGUAGES}), (f"term:{kind}.{code}",))
    texts = {lang: entry[lang] for lang in LANGUAGES if entry.get(lang)}
    missing = tuple(f"term:{kind}.{code}@{lang}" for lang in LANGUAGES if lang not in texts)
    texts.update({lang: _untranslated_marker(lang) for lang in LANGUAGES if lang not in texts})
    return Localized(Texts(texts), missing)


def join(items: Sequence[Param], *, word: str = "list") -> Localized:
    """``items`` joined with the language's ``or``, ``and`` or list separator."""
    parts = [_as_localized(i) for i in items]
    if not parts:
        return Localized(Texts(_piece("none")))
    sep = _piece(word)
    return Localized(
        Texts({lang: sep[lang].join(p.texts.get(lang, _untranslated_marker(lang)) for p in parts)
               for lang in LANGUAGES}),
        _merge(parts),
    )


def none() -> Localized:
    return Localized(Texts(_piece("none")))


def has(section: str, key: str) -> bool:
    """Whether ``messages.yaml`` has templates for ``section.key``."""
    return key in _data().get(section, {})


# ---------------------------------------------------------------- numbers and units


def _number(value: Decimal, lang: str) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if lang in ("de", "fr", "vi") else text


def quantity(value: Decimal | None, unit: str = "", *, tolerance: Decimal | None = None) -> Localized:
    """A value with its unit symbol, decimal sign as the language writes it
    (``18.1 s``, ``18,1 s``); with ``tolerance``, ``20 ± 1 s``."""
    if value is None:
        return neutral("?")
    suffix = f" {unit}" if unit else ""
    out = {}
    for lang in LANGUAGES:
        text = _number(value, lang)
        if tolerance is not None:
            text += f" ± {_number(tolerance, lang)}"
        out[lang] = text + suffix
    return Localized(Texts(out))


def mass_fraction(fraction: Decimal) -> Localized:
    """A mass fraction (0.001) as a percentage by mass ("0.1 % w/w", "0,1 % (Massenanteil)")."""
    piece = _piece("mass_fraction")
    return Localized(Texts({lang: piece[lang].format(value=_number(fraction * 100, lang)) for lang in LANGUAGES}))


def unit_symbol(code: str | None) -> str:
    """The symbol of a QUDT unit local name as pint formats it (``DEG_C`` -> ``°C``,
    :func:`qualitas.ontology.units.unit_symbol`); unknown codes with an underscore are
    spelled with a space rather than printed as a code."""
    if not code:
        return ""
    return units.unit_symbol(code) or code.replace("_", " ")


# ---------------------------------------------------------------- substances


def substance(*, name: str | None, cas: str | None, symbol: str | None = None) -> Localized:
    """A substance in every language: its name from ``terms.yaml`` where known (by CAS or
    symbol), else the name in English and its CAS number (an identifier) elsewhere."""
    subs: dict[str, dict[str, str]] = _terms().get("substances", {})
    entry = subs.get(symbol or "") or next((e for e in subs.values() if cas and e.get("cas") == cas), None)
    if entry is not None:
        return Localized(Texts({lang: entry[lang] for lang in LANGUAGES}))
    abbrev = re.search(r"\(([A-Za-z0-9-]+)\)\s*$", name or "")
    cas_piece, only = _piece("cas"), _piece("cas_only")
    out: dict[str, str] = {}
    flags: list[str] = []
    for lang in LANGUAGES:
        if lang == "en" and name:
            out[lang] = cas_piece[lang].format(name=name, cas=cas) if cas and cas not in name else name
        elif cas:
            out[lang] = (cas_piece[lang].format(name=abbrev.group(1), cas=cas) if abbrev
                         else only[lang].format(cas=cas))
        elif abbrev:
            out[lang] = abbrev.group(1)
        else:
            out[lang] = _untranslated_marker(lang)
            flags.append(f"term:substances.{name}@{lang}")
    return Localized(Texts(out), tuple(flags))


# ---------------------------------------------------------------- regulations and clauses

_CELEX = re.compile(r"^3(\d{4})([LRD])(\d{4})$")
_ACT = {"L": "directive", "R": "regulation", "D": "decision"}


def act_name(identifier: str, lang: str) -> str | None:
    """The official name of the EU act with CELEX number ``identifier`` in ``lang``."""
    m = _CELEX.match(identifier)
    if not m:
        return None
    year, kind, number = int(m.group(1)), m.group(2), int(m.group(3))
    acts = _data()["acts"]
    union = acts["union"][lang]["EEC" if year < 1993 else "EC" if year < 2010 else "EU"]
    no = acts["number_no"][lang]
    yy = f"{year % 100:02d}" if year < 1999 else str(year)
    if kind == "L":
        num = f"{yy}/{number}/{union}"
    elif year >= 2015:
        num = f"({union}) {year}/{number}"
    elif kind == "R":
        num = f"({union}) {no}{number}/{year}"
    else:
        num = f"{no}{number}/{year}/{union}"
    template: str = acts[_ACT[kind]][lang]
    return template.format(number=num)


def _neutral_short_name(name: str) -> bool:
    """Whether a short name is an acronym or code ("RoHS 2", "REACH", "IATF 16949"),
    readable in any language, rather than English words ("Product Liability Directive")."""
    words = re.findall(r"[A-Za-z]+", name)
    return bool(words) and all(sum(c.isupper() for c in w) >= 2 or len(w) == 1 for w in words)


def regulation_name(reg: Regulation | None, rid: str | None = None) -> Localized:
    """How a message names a catalog record in each language: the record's official
    title in that language where the catalog has one, else its short name (in English,
    or in any language when it is an acronym) with the official identifier, the EU act
    number written in the language's form."""
    if reg is None:
        return neutral(rid or "")
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        title = next((t.text for t in reg.titles if t.lang == lang), None)
        if title and lang != "en":
            out[lang] = title
            continue
        ident = act_name(reg.identifier, lang) or reg.identifier
        short = reg.short_name
        if short and short != reg.identifier and (lang == "en" or _neutral_short_name(short)):
            out[lang] = ident if short in ident else short + _piece("named")[lang].format(name=ident)
        else:
            out[lang] = ident
    return Localized(Texts(out))


_CLAUSE_PARTS = (
    (re.compile(r"^Art(?:icle|\.)\s*([\w()]+(?:\s*-\s*\d+)?)$"), "article"),
    (re.compile(r"^Annex\s+([IVXLC]+)$"), "annex"),
    (re.compile(r"^(?:point|item)\s+([\w()]+)$"), "point"),
    (re.compile(r"^entry\s+(\d+)$"), "entry"),
    (re.compile(r"^(?:Sec\.|Section|§)\s*([\w.()]+)$"), "section"),
    (re.compile(r"^(\d+(?:\.\d+)*(?:\([a-z0-9]+\))*)$"), "clause"),
)


def clause_text(clause: str | None) -> Localized | None:
    """A clause reference ("Art. 33(1)", "Annex IV, point 6", "8.6.4") in each
    language; free text that is not a clause reference is left out (None)."""
    if not clause:
        return None
    text = re.sub(r"\([^()]*[a-z]{3,}[^()]*\)", "", clause)  # explanations in brackets
    pieces: list[tuple[str, str]] = []
    for raw in re.split(r",\s*|\s+(?=Annex\b)", text):
        part = raw.strip()
        if not part:
            continue
        hit = next(((kind, m.group(1)) for rx, kind in _CLAUSE_PARTS if (m := rx.match(part))), None)
        sub = re.match(r"^Annex\s+([IVXLC]+)\s+entry\s+(\d+)$", part)
        if sub:
            pieces += [("annex", sub.group(1)), ("entry", sub.group(2))]
        elif hit is None:
            return None
        else:
            pieces.append(hit)
    if not pieces:
        return None
    words = _data()["clauses"]
    return Localized(Texts({
        lang: ("" if lang == "zh" else ", ").join(words[kind][lang].format(n=n) for kind, n in pieces)
        for lang in LANGUAGES
    }))


def reference(regulation: Localized | None, clause: str | None = None) -> Localized:
    """``{ref}``: " (regulation, clause)" bracketed for each language, or empty."""
    if regulation is None:
        return neutral("")
    where = regulation
    cl = clause_text(clause)
    if cl is not None:
        where = render("pieces", "where", regulation=regulation, clause=cl)
    return render("pieces", "ref", where=where)


def named(name: str | None) -> Localized:
    """`` (name)`` bracketed for each language, or empty."""
    if not name:
        return neutral("")
    return render("pieces", "named", name=name)


__all__ = [
    "LANGUAGES",
    "Localized",
    "Texts",
    "act_name",
    "clause_text",
    "join",
    "mass_fraction",
    "missing_marker",
    "named",
    "neutral",
    "quantity",
    "reference",
    "regulation_name",
    "render",
    "substance",
    "term",
    "unit_symbol",
]

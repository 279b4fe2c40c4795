"""Every legal basis in routes.yaml is stated in each pack language, and the German and
French texts cite EU acts as EUR-Lex does in those languages (Richtlinie 2014/35/EU,
Verordnung (EG) Nr. 1907/2006; Directive 2014/35/UE, Règlement (CE) n° 1907/2006),
with the same article and annex numbers as the English text."""

from __future__ import annotations

import re

import pytest

from qualitas.regulations.routes import Based, load_routes

LANGS = ("en", "de", "fr", "zh", "vi")


def _bases() -> list[tuple[str, Based]]:
    routes = load_routes()
    out: list[tuple[str, Based]] = []
    for rid, act in routes.acts.items():
        if act.bases:
            out.append((f"act {rid}", act))
        out += [(f"act {rid} not_when[{i}]", nw) for i, nw in enumerate(act.not_when)]
    for market, rs in routes.markets.items():
        out += [(f"market {market} route {r.route}", r) for r in rs]
    return out


BASES = _bases()
IDS = [label for label, _ in BASES]


def test_every_act_that_must_cite_its_law_has_a_basis() -> None:
    routes = load_routes()
    missing = [rid for rid, a in routes.acts.items() if a.role in ("declaration", "type_approval") and not a.bases]
    assert not missing
    assert all(nw.bases for a in routes.acts.values() for nw in a.not_when)
    assert all(r.bases for rs in routes.markets.values() for r in rs)
    assert len(BASES) >= 100


@pytest.mark.parametrize(("label", "item"), BASES, ids=IDS)
def test_basis_in_every_language(label: str, item: Based) -> None:
    assert list(item.bases) == list(LANGS), label
    for lang in LANGS:
        assert item.basis_in(lang).strip(), f"{label}: no basis in {lang}"


_NUM = re.compile(r"\d+(?:[./]\d+)*")
_ROMAN = re.compile(r"(?<![A-Za-z])[IVXL]+(?![A-Za-z])")


@pytest.mark.parametrize(("label", "item"), BASES, ids=IDS)
def test_translations_keep_every_number(label: str, item: Based) -> None:
    """Article, annex and act numbers are the law cited: a translation keeps them all."""
    en = item.basis
    for lang in LANGS[1:]:
        text = item.basis_in(lang)
        for pat in (_NUM, _ROMAN):
            lost = set(pat.findall(en)) - set(pat.findall(text))
            assert not lost, f"{label} [{lang}] lost {sorted(lost)}: {text}"


_EU_ACT = re.compile(r"\b(Directive|Regulation|Decision)\b")
_OFFICIAL_NO = re.compile(r"\d+/\d+/(?:EU|EC|EEC)\b|\((?:EU|EC)\)(?: No)? \d+/\d+")

# (pattern in the English text, what the German text says instead, what it never says)
_DE = [
    (r"Directive ", "Richtlinie ", "Directive"),
    (r"Regulation \(E", "Verordnung (E", "Regulation"),
    (r"Decision No ", "Beschluss Nr. ", "Decision"),
    (r"UN Regulation No ", "UN-Regelung Nr. ", "UN Regulation"),
    (r"/EC\b", "/EG", "/EC"),
    (r"/EEC\b", "/EWG", "EEC"),
    (r"\(EC\)", "(EG)", "(EC)"),
    (r"Annex ", "Anhang ", "Annex"),
    (r"\) No \d", ") Nr. ", ") No "),
]
_FR = [
    (r"Directive ", "irective ", "Directive (EU)"),
    (r"Regulation \(E", "èglement (", "Regulation"),
    (r"Decision No ", "Décision n° ", "Decision"),
    (r"UN Regulation No ", "règlement ONU n° ", "UN Regulation"),
    (r"/EU\b", "/UE", "/EU"),
    (r"\(EU\)", "(UE)", "(EU)"),
    (r"/EC\b", "/CE", "/EC"),
    (r"/EEC\b", "/CEE", "EEC"),
    (r"\(EC\)", "(CE)", "(EC)"),
    (r"Annex ", "annexe ", "Annex"),
    (r"Art\. ", "article", "Art. "),
    (r"\) No \d", ") n° ", ") No "),
]


@pytest.mark.parametrize(
    ("label", "item"),
    [b for b in BASES if _EU_ACT.search(b[1].basis)],
    ids=[lbl for lbl, b in BASES if _EU_ACT.search(b.basis)],
)
def test_eu_acts_cited_as_eur_lex_cites_them(label: str, item: Based) -> None:
    en, de, fr = item.basis, item.basis_in("de"), item.basis_in("fr")
    for lang, text, rules in (("de", de, _DE), ("fr", fr, _FR)):
        assert text != en, f"{label}: {lang} is the English text"
        for pattern, must, never in rules:
            if re.search(pattern, en):
                assert must in text, f"{label} [{lang}] lacks {must!r}: {text}"
                assert never not in text, f"{label} [{lang}] has {never!r}: {text}"
    # zh and vi keep the official numbers as the Official Journal writes them
    for lang in ("zh", "vi"):
        text = item.basis_in(lang)
        for number in _OFFICIAL_NO.findall(en):
            core = re.sub(r" No ", " ", number)
            assert number in text or core.replace("(EU) ", "(EU) số ").replace("(EC) ", "(EC) số ") in text, (
                f"{label} [{lang}] lacks {number!r}: {text}"
            )

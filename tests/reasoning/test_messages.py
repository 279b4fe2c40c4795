"""Finding messages in every pack language (issue 13): "Finding messages exist in every
pack language (en, de, fr, zh, vi). A missing translation is a visible finding, never
silent English", and "the gap report phrases passed requirements as failures"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from lingua import Language, LanguageDetector, LanguageDetectorBuilder
from rdflib import Graph

from qualitas.reasoning import i18n
from qualitas.reasoning.gap import LANGUAGES, GapFinding, GapReport, Remediation, Texts, gap_report
from qualitas.reasoning.products import list_products
from qualitas.regulations import default_catalog
from qualitas.store import GraphStore

ON = dt.date(2025, 6, 1)
MARKETS = ("EU", "US", "CN", "VN")
SHAPES = Path(i18n.__file__).resolve().parents[1] / "regulations" / "shapes" / "requirements.ttl"
_CACHE: dict[tuple[str, str], GapReport] = {}

#: A code as code writes it: snake_case or an underscored unit (``safety_data_sheet``, ``DEG_C``).
SNAKE = re.compile(r"\b\w+_\w+\b")
LINGUA = {"en": Language.ENGLISH, "de": Language.GERMAN, "fr": Language.FRENCH, "zh": Language.CHINESE,
          "vi": Language.VIETNAMESE}


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*LINGUA.values()).build()


@pytest.fixture
def report(demo_store: GraphStore) -> Callable[[str, str], GapReport]:
    def get(product: str, market: str) -> GapReport:
        if (product, market) not in _CACHE:
            _CACHE[(product, market)] = gap_report(demo_store, product, market, on=ON)
        return _CACHE[(product, market)]

    return get


@pytest.fixture
def all_reports(demo_store: GraphStore, report: Callable[[str, str], GapReport]) -> Iterator[GapReport]:
    models = sorted(p.model_number for p in list_products(demo_store))
    assert len(models) >= 6
    return (report(m, market) for m in models for market in MARKETS)


def prose(text: str) -> str:
    """The words of a message without its identifiers: bracketed references (regulation
    names, clauses), and tokens with digits, ``+``, ``/`` or several capitals (part, lot
    and document numbers, material grades, acronyms)."""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\([^()]*\)|（[^（）]*）", " ", text)
    tokens = [t for t in re.split(r"\s+", text)
              if not re.search(r"[\d+/]", t) and sum(c.isupper() for c in t) < 2]
    return " ".join(tokens)


def long_enough(text: str, lang: str) -> bool:
    if lang == "zh":
        return len(re.findall(r"[\u4e00-\u9fff]", text)) >= 4
    return len(re.findall(r"[^\W\d_]", text)) >= 20


# ---------------------------------------------------------------- the wording data


def test_every_catalog_document_and_marking_code_has_words_in_every_language() -> None:
    terms = yaml.safe_load(i18n.TERMS_FILE.read_text(encoding="utf-8"))
    for record in default_catalog().records:
        for kind, codes in (("documents", record.required_documents), ("markings", record.markings)):
            for code in codes:
                entry = terms[kind].get(code)
                assert entry, f"{record.id}: no words for {kind} code {code!r} in terms.yaml"
                for lang in LANGUAGES:
                    assert entry.get(lang) and not SNAKE.search(entry[lang]), (code, lang)


def test_every_template_exists_in_every_language() -> None:
    data = yaml.safe_load(i18n.MESSAGES_FILE.read_text(encoding="utf-8"))
    assert tuple(data["languages"]) == LANGUAGES == ("en", "de", "fr", "zh", "vi")

    def leaves(node: object, path: str) -> Iterator[tuple[str, dict[str, str]]]:
        if isinstance(node, dict) and "en" in node:
            yield path, node
        elif isinstance(node, dict):
            for k, v in node.items():
                yield from leaves(v, f"{path}.{k}")

    for section in ("markers", "pieces", "findings", "actions", "requirements", "statements", "shapes"):
        for path, texts in leaves(data[section], section):
            assert set(texts) == set(LANGUAGES), path
            names = {frozenset(re.findall(r"{(\w+)}", t)) for t in texts.values()}
            assert len(names) == 1, f"{path}: the languages use different parameters {names}"


def test_every_curated_shape_states_its_requirement_in_every_language() -> None:
    shapes = Graph().parse(SHAPES, format="turtle")
    curated = {str(s).rsplit("#", 1)[-1] for s in shapes.subjects(predicate=None, object=None)
               if str(s).startswith("https://w3id.org/qualitas/regulations/shapes#")}
    missing = sorted(c for c in curated if not i18n.has("shapes", c))
    assert not missing


def test_eu_acts_are_named_in_each_languages_official_form() -> None:
    assert i18n.act_name("32011L0065", "de") == "Richtlinie 2011/65/EU"
    assert i18n.act_name("32011L0065", "fr") == "directive 2011/65/UE"
    assert i18n.act_name("32019R1020", "en") == "Regulation (EU) 2019/1020"
    assert i18n.act_name("32006R1907", "de") == "Verordnung (EG) Nr. 1907/2006"
    assert i18n.act_name("31985L0374", "fr") == "directive 85/374/CEE"
    assert i18n.act_name("32008D0768", "en") == "Decision No 768/2008/EC"
    assert i18n.act_name("GB/T 26572-2011", "zh") is None


# ---------------------------------------------------------------- missing translations are visible


def test_unknown_code_is_a_visible_marker_and_a_flag_never_the_code() -> None:
    doc = i18n.term("documents", "made_up_document")
    msg = i18n.render("findings", "missing_document", subject="X-1", document=doc, ref="")
    assert msg.untranslated == ("term:documents.made_up_document",)
    for lang in LANGUAGES:
        assert "made_up_document" not in msg.texts[lang]
    assert "[nicht übersetzter Begriff]" in msg.texts["de"] and "[术语未翻译]" in msg.texts["zh"]


def test_missing_template_is_a_marker_in_the_target_language_not_english() -> None:
    msg = i18n.render("findings", "no_such_finding", subject="X-1")
    assert msg.texts["de"] == "[Übersetzung fehlt]" and msg.texts["vi"] == "[thiếu bản dịch]"
    assert {f.rsplit("@", 1)[1] for f in msg.untranslated} == set(LANGUAGES)


def test_finding_message_falls_back_to_a_marker_not_to_english() -> None:
    en_only = GapFinding(
        kind="missing_document", severity="major", source="shacl", regulation_id=None, regulation=None, clause=None,
        subject="s", subject_label="s", offending="", expected="", message_en="English text", message_zh="",
        evidence=(), remediation=Remediation("compliance", "Do it", "", Texts({"en": "Do it"})),
        messages=Texts({"en": "English text"}),
    )
    assert en_only.message("en") == "English text"
    assert en_only.message("fr") == "[traduction manquante]"
    assert en_only.remediation.action("zh") == "[缺少译文]"
    assert hash(en_only) == hash(dataclasses.replace(en_only))  # frozen and hashable, Texts included
    assert en_only.messages == {"en": "English text"}


# ---------------------------------------------------------------- every demo finding, every language


def test_every_demo_finding_reads_in_every_language(
    all_reports: Iterator[GapReport], detector: LanguageDetector
) -> None:
    checked = 0
    for r in all_reports:
        for f in r.findings:
            where = f"{r.product.model}/{r.market} {f.kind} {f.subject_label}"
            assert set(f.messages) == set(LANGUAGES) and set(f.remediation.actions) == set(LANGUAGES), where
            assert f.untranslated == (), (where, f.untranslated)
            assert f.message_en == f.message("en") and f.message_zh == f.message("zh")
            for lang in LANGUAGES:
                for text in (f.message(lang), f.remediation.action(lang)):
                    assert text.strip(), (where, lang)
                    assert not SNAKE.search(text), (where, lang, text)
                    words = prose(text)
                    if long_enough(words, lang):
                        found = detector.detect_language_of(words)
                        assert found == LINGUA[lang], (where, lang, text, words, found)
                        checked += 1
    assert checked > 500


def test_passed_requirements_read_as_met_and_violated_ones_as_missing(
    report: Callable[[str, str], GapReport]
) -> None:
    r = report("CC-T2-32A", "EU")
    docs = [c for c in r.requirements if c.kind == "missing_document" and c.generated]
    assert docs and all(c.status == "passed" for c in docs)
    for c in docs:
        assert c.message("en").startswith("Document on file: "), c.message("en")
        assert c.message("de").startswith("Dokument liegt vor: ")
        assert not re.search(r"^No |missing", c.message("en"))
    for c in r.requirements:
        assert not SNAKE.search(c.message("en")), c.message("en")
    failing = report("CPC-200", "EU")
    violated = [c for c in failing.requirements if c.kind == "missing_document" and c.status == "violated"]
    assert violated and all(c.message("en").startswith("Document missing: ") for c in violated)
    assert all(c.message("fr").startswith("Document manquant : ") for c in violated)

"""Every demo product's pack for every market, read the way a reviewer reads it.

Issue 13's acceptance: no final document holds a placeholder, an internal snake_case
code, a "?" in an O/X table, an identifier failing its check digit, or an English
sentence in a de/fr/zh/vi document; every EU declaration names only CE-marking
legislation that applies; the passive vehicle part and the type-approved vehicle get
no CE declaration (Regulation (EC) No 765/2008 Art. 30(2): the CE marking is affixed
only where Union harmonisation legislation provides for it).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from qualitas.doc_templates.pack import Pack, build_pack
from qualitas.ontology.identifiers import gtin_is_valid
from qualitas.regulations.routes import load_routes
from qualitas.store import open_store
from tests.conftest import load_demo

ON = dt.date(2026, 12, 7)
PRODUCTS = ("CPC-200", "BP-75", "CC-T2-32A", "QX-EV5", "OX-50", "AG-125", "QP-6")
MARKETS = ("EU", "US", "CN", "VN")
PLACEHOLDERS = ("[not recorded", "[in Qualitas nicht", "[non enregistré", "[Qualitas 中无记录]", "[chưa có dữ liệu",
                "not translated", "nicht übersetzt", "non traduit", "未翻译", "chưa được dịch", "K000000", "Example")
# Acts that are obligations, never Union harmonisation legislation with CE marking.
OBLIGATIONS = ("1907/2006", "2019/1021", "2024/1781", "85/374", "2024/2853", "2019/1020", "765/2008",
               "2012/19", "2008/98", "2017/852", "2024/573", "2023/988", "768/2008/EC, Annex I")


_CITATION_WORDS = ("Directive", "Regulation", "Decision", "Commission", "together", "Richtlinie", "Verordnung",
                   "Delegierte", "zusammen", "Règlement", "Décision", "avec")


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Pack]:
    root = tmp_path_factory.mktemp("review")
    store = open_store(str(root / "store"))
    load_demo(store)
    out = {(p, m): build_pack(store, p, m, out_dir=root / "packs", on=ON) for p in PRODUCTS for m in MARKETS}
    store.close()
    return out


def _pdf_text(pack: Pack, member: str, tmp: Path) -> str:
    with zipfile.ZipFile(pack.path) as zf:
        data = zf.read(member)
    path = tmp / (Path(member).name)
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _documents(pack: Pack) -> list[tuple[str, str, str]]:
    return [(d["key"], d["language"], f) for d in pack.manifest["documents"] for f in d["files"] if f.endswith(".pdf")]


def _gs1_check(number: str) -> bool:
    return gtin_is_valid(number)


def test_final_documents_hold_no_placeholder_code_or_bad_identifier(packs: dict[tuple[str, str], Pack],
                                                                   tmp_path: Path) -> None:
    finals = [k for k, p in packs.items() if p.status == "final"]
    assert finals, "no demo product reaches a final pack: the review would have nothing to read"
    for key in finals:
        pack = packs[key]
        for _doc, _lang, member in _documents(pack):
            text = _pdf_text(pack, member, tmp_path)
            for marker in PLACEHOLDERS:
                assert marker not in text, (key, member, marker)
            codes = [c for c in re.findall(r"(?<![\w./-])[a-z]+(?:_[a-z0-9]+)+(?![\w./-])", text)]
            assert not codes, (key, member, codes[:5])
            for number in re.findall(r"(?<!\d)\d{14}(?!\d)", text):
                assert _gs1_check(number), (key, member, number)


def test_no_o_x_table_holds_a_question_mark(packs: dict[tuple[str, str], Pack], tmp_path: Path) -> None:
    """SJ/T 11364-2014 section 5.2: each cell is O or X; missing data is a finding."""
    tables = 0
    for key, pack in packs.items():
        for doc, _lang, member in _documents(pack):
            if doc != "sjt-11364-table":
                continue
            tables += 1
            text = _pdf_text(pack, member, tmp_path)
            assert not re.search(r"(^|\s)[?？](\s|$)", text), (key, member)
    assert tables


def _detector():  # type: ignore[no-untyped-def]
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.GERMAN, Language.FRENCH,
                                                  Language.CHINESE, Language.VIETNAMESE).build()


def test_no_english_sentence_in_a_german_french_chinese_or_vietnamese_document(
        packs: dict[tuple[str, str], Pack], tmp_path: Path) -> None:
    from lingua import Language

    detector = _detector()
    names = _data_names(packs)
    english = []
    for key, pack in packs.items():
        for _doc, lang, member in _documents(pack):
            if lang == "en":
                continue
            for line in _pdf_text(pack, member, tmp_path).splitlines():
                for cell in re.split(r"\s{2,}", line.strip()):
                    words = re.findall(r"[A-Za-zÀ-ÿ]{2,}", cell)
                    if len(words) < 7 or any(n and n in cell for n in names):
                        continue
                    if detector.compute_language_confidence(cell, Language.ENGLISH) >= 0.75:
                        english.append((key, member, cell))
    assert not english, english[:10]


def _data_names(packs: dict[tuple[str, str], Pack]) -> set[str]:
    """Proper names that stay as they are in any language: companies, addresses, people."""
    return {"Qualitas Demo", "GmbH", "Co., Ltd.", "Inc.", "B.V.", "Industriestraße", "Harbor Drive", "Xinghu Street",
            "Voorbeeldstraat", "Nguyễn Huệ"}


def test_every_declaration_lists_only_ce_marking_legislation_that_applies(packs: dict[tuple[str, str], Pack],
                                                                         tmp_path: Path) -> None:
    routes = load_routes()
    declarations = 0
    for key, pack in packs.items():
        route = pack.manifest["route"]
        applicable = {a.id for a in pack.report.applicable}
        for act in route["declared"]:
            assert routes.acts[act].role in ("declaration", "supplement"), (key, act)
            assert act in applicable, (key, act)
        for doc, _lang, member in _documents(pack):
            if doc != "eu-declaration-of-conformity":
                continue
            declarations += 1
            text = _pdf_text(pack, member, tmp_path)
            legislation = re.search(r"\n5\. .*?\n6\. ", text, re.S)
            assert legislation, (key, member)
            cells = [re.split(r"\s{2,}", line.strip())[0] for line in legislation.group(0).splitlines()]
            acts = [c for c in cells if c.startswith(_CITATION_WORDS)]
            assert acts, (key, member)
            for number in OBLIGATIONS:
                assert not any(number in act for act in acts), (key, member, number)
    assert declarations


@pytest.mark.parametrize("product", ["CPC-200", "QX-EV5"])
def test_vehicle_part_and_vehicle_get_no_ce_declaration(packs: dict[tuple[str, str], Pack], product: str) -> None:
    pack = packs[(product, "EU")]
    keys = {d["key"] for d in pack.manifest["documents"]}
    assert "eu-declaration-of-conformity" not in keys
    assert "ce-marking-checklist" not in keys
    assert pack.manifest["route"]["declared"] == []
    assert pack.manifest["route"]["code"] in ("eu_vehicle_part", "eu_vehicle_type_approval")


def test_china_documents_cite_ccc_provisions_as_revised(packs: dict[tuple[str, str], Pack], tmp_path: Path) -> None:
    """The CCC Provisions (AQSIQ Order No. 117 of 2009) were revised by SAMR Order
    No. 61 of 29 September 2022; a Chinese document cites the text in force, in Chinese."""
    routed = [p for (_product, market), p in packs.items()
              if market == "CN" and p.manifest["route"]["code"] == "cn_ccc"]
    assert routed, "no demo product takes the CCC route"
    for pack in routed:
        member = next(f for k, _lang, f in _documents(pack) if k == "ccc-dossier-summary")
        text = re.sub(r"\s+", "", _pdf_text(pack, member, tmp_path))
        assert "国家市场监督管理总局令第61号修订" in text, member
        assert "AQSIQ" not in text, member

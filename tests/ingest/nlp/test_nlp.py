"""Warning-letter NLP: citations, extraction, evaluation thresholds, Chinese notices, graph, CLI, GraphQL."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from qualitas.ingest.nlp import (
    chinese_number,
    extract_file,
    extract_letter,
    failure_modes_like_ours,
    find_citations,
    iso13485_clauses,
    list_letters,
    load_letter,
    normalise_citation,
)
from qualitas.ingest.nlp.evaluate import answer_key_sets, evaluate_corpus
from qualitas.store import open_store

REPO = Path(__file__).resolve().parents[3]
LETTERS = REPO / "tests" / "fixtures" / "warning_letters"
NOTICE = REPO / "tests" / "fixtures" / "nmpa" / "feijian-sample-notice.txt"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("21CFR 820.90(a)", "21 CFR 820.90(a)"),
        ("820.100 (a)", "21 CFR 820.100(a)"),
        ("§ 803.12(a)", "21 CFR 803.12(a)"),
        ("21 CFR § 820.30(h).", "21 CFR 820.30(h)"),
        ("21 C.F.R. 820.198(a)", "21 CFR 820.198(a)"),
        ("as required by 21 CR 820.250(a)", "21 CFR 820.250(a)"),
        ("found in 803.20(c)(1).", "21 CFR 803.20(c)(1)"),
        ("21 CFR Part 806 – Medical Devices", "21 CFR Part 806"),
        ("Title 21, Code of Federal Regulations (CFR), Part 820.", "21 CFR Part 820"),
        ("(21 CFR 862.1355(b)(1)(ii)).", "21 CFR 862.1355(b)(1)(ii)"),
    ],
)
def test_messy_citations_normalise(raw: str, norm: str) -> None:
    assert normalise_citation(raw) == norm


def test_statutes_and_numbers_are_not_citations() -> None:
    assert find_citations("21 U.S.C. § 360(k), a 2.25 mm stent, 4.0 mm, (b)(4)") == []


def test_letter_without_part_820_charge() -> None:
    amco = extract_file(LETTERS / "amco-international-manufacturing-design-inc-681557-06252024.txt")
    assert amco.violations == ()
    assert "21 CFR 870.5310" in amco.other_references
    baby = extract_file(LETTERS / "happiest-baby-inc-718306-06152026.txt")
    assert baby.charged == ("21 CFR 807.81(a)(3)",)
    assert baby.violations[0].subsystem == "premarket_notification"
    assert "21 CFR 807.81(a)(3)(i)" in baby.other_references


def test_charged_versus_advisory_and_messy_spacing() -> None:
    text = (
        "1. Failure to establish procedures for corrective and preventive action, as required by "
        "21CFR 820.100 (a). For example, see 21 CFR 820.198(a).\n"
        "2. Failure to develop MDR procedures as required by § 803.17(a)(1).\n"
        "Please note that per 21 CFR 803.50(a) reports are due within 30 days.\n"
    )
    letter = extract_letter(text)
    assert letter.charged == ("21 CFR 820.100(a)", "21 CFR 803.17(a)(1)")
    assert [v.subsystem for v in letter.violations] == ["capa", "medical_device_reporting"]
    assert set(letter.other_references) == {"21 CFR 820.198(a)", "21 CFR 803.50(a)"}
    assert letter.violations[0].iso13485 == ("8.5.2", "8.5.3", "8.4")


def test_letter_header_and_relations() -> None:
    letter = extract_file(LETTERS / "beta-bionics-inc-717927-01282026.txt")
    assert (letter.firm, letter.reference, str(letter.date)) == ("Beta Bionics, Inc.", "717927", "2026-01-28")
    assert "iLet ACE Pump" in letter.products
    pcba = [r for r in letter.relations if r.design_weakness == "printed circuit board assembly"]
    assert pcba and pcba[0].failure_mode == "malfunctions"


def test_evaluation_meets_acceptance_thresholds() -> None:
    ev = evaluate_corpus(LETTERS)
    assert ev.letters >= 10
    assert ev.f1 >= 0.95, ev.errors
    assert ev.subsystem_accuracy >= 0.9, ev.errors


def test_held_out_letters_meet_thresholds_on_their_own() -> None:
    sets = answer_key_sets(LETTERS)
    assert sets[0] == "dev" and "heldout" in sets
    held = evaluate_corpus(LETTERS, only="heldout")
    assert held.letters >= 3
    assert held.f1 >= 0.95, held.errors
    assert held.subsystem_accuracy >= 0.9, held.errors


def test_iso_clauses_sections_and_elided_siblings() -> None:
    assert find_citations("as required by ISO 13485:2016, Clause 7.1. See Section 7.2 of SOP-0060") == []
    assert [c.text for c in find_citations("new devices (21 CFR 807.81(a)(1), (2)) or")] == [
        "21 CFR 807.81(a)(1)", "21 CFR 807.81(a)(2)"]
    assert [c.text for c in find_citations("21 CFR 820.30(g), (b)(4) and 21 CFR 820.30(g) and (h)")] == [
        "21 CFR 820.30(g)", "21 CFR 820.30(g)", "21 CFR 820.30(h)"]


def test_charge_variants_of_newer_letters() -> None:
    text = (
        "1) Failure to validate processes, as required by 21 CFR 820.75(a). For example, x.\n"
        "2) Failure to report the information required by § 803.52 in accordance with the requirements "
        "of §803.12(a), no later than 30 calendar days, as required by 21 CFR 803.50(a)(1). For example, y.\n"
        "4. Failure to maintain records of complaints, as required by 21 CFR 820.35(a).\n"
        "The devices are misbranded within the meaning of section 502(c) of the Act, 21 U.S.C. § 352(c), because "
        "a statement required under section 519 was not on the label. In particular, 21 CFR 801.20(a), which was "
        "promulgated under section 519, requires that the label bears a UDI that meets 21 CFR Part 830.\n"
    )
    letter = extract_letter(text)
    assert letter.charged == ("21 CFR 820.75(a)", "21 CFR 803.50(a)(1)", "21 CFR 820.35(a)", "21 CFR 801.20(a)")
    assert [v.subsystem for v in letter.violations] == [
        "production_process_controls", "medical_device_reporting", "complaint_handling", "udi"]
    assert {"21 CFR 803.52", "21 CFR 803.12(a)"} <= set(letter.other_references)


def test_qmsr_mapping_most_specific_first() -> None:
    assert iso13485_clauses("21 CFR 820.30(g)") == ("7.3.7", "7.1")
    assert iso13485_clauses("21 CFR 820.30(c)(1)") == ("7.3.3",)
    assert iso13485_clauses("21 CFR 803.50(a)") == ()


def test_chinese_notice_yields_clauses_and_findings() -> None:
    assert (chinese_number("二十八"), chinese_number("一百零二"), chinese_number("十")) == (28, 102, 10)
    notice = extract_file(NOTICE)
    assert notice.language == "zh"
    assert notice.firm == "示例医疗器械有限公司"
    assert notice.charged == ("GMP Appendix Sterile 2.2.3", "GMP Art. 21", "GMP Art. 27", "GMP Art. 28",
                              "GMP Art. 47", "GMP Art. 64", "GMP Art. 72")
    by = {v.citation: v for v in notice.violations}
    assert by["GMP Art. 64"].subsystem == "nonconforming_product"
    assert "返工" in by["GMP Art. 64"].observation
    assert notice.relations[0].failure_mode == "脱落"


@pytest.fixture(scope="module")
def store():  # type: ignore[no-untyped-def]
    from qualitas.demo import demo_graph
    from qualitas.regulations import load_into_store

    s = open_store(None)
    s.load_triples(demo_graph(), source="qualitas-demo", sha256="demo", agent="pytest", format="generated")
    load_into_store(s, agent="pytest")
    for path in [*sorted(LETTERS.glob("*.txt")), NOTICE]:
        load_letter(s, extract_file(path), agent="pytest")
    yield s
    s.close()


def test_citations_link_to_catalog_requirements(store) -> None:  # type: ignore[no-untyped-def]
    rows = store.select("""
        PREFIX q: <https://w3id.org/qualitas/ontology#>
        PREFIX eli: <http://data.europa.eu/eli/ontology#>
        SELECT ?code ?clause ?id ?iso WHERE {
          ?letter q:documentNumber "717927" ; q:hasViolation/q:hasCitation ?c .
          ?c q:code ?code ; q:charged true ; q:citesRequirement ?req .
          ?req q:clause ?clause .
          ?reg q:hasRequirement ?req ; a q:Regulation ; eli:id_local ?id .
          OPTIONAL { ?req q:inForceAs/q:clause ?iso }
        }""")
    got = {(r["code"], r["id"], r.get("iso")) for r in rows}
    assert ("21 CFR 820.100(a)", "us-21cfr820-qmsr", "8.5.2") in got
    assert ("21 CFR 820.30(g)", "us-21cfr820-qmsr", "7.3.7") in got


def test_reload_is_idempotent_and_queries(store) -> None:  # type: ignore[no-untyped-def]
    path = LETTERS / "acrostak-schweiz-ag-668948-10312023.txt"
    assert load_letter(store, extract_file(path), agent="pytest").status == "unchanged"
    refs = {x.reference: x for x in list_letters(store)}
    assert refs["668948"].subsystems == ("design_controls", "production_process_controls", "nonconforming_product")
    assert any(h.ours_kind == "process_step" for h in failure_modes_like_ours(store))


def test_graphql_failure_modes_like_ours(store) -> None:  # type: ignore[no-untyped-def]
    from qualitas.graphql.schema import build_schema

    result = build_schema().execute_sync(
        "{ warningLetters(subsystem: \"capa\") { reference chargedCitations } "
        "failureModesLikeOurs(limit: 3) { letter failureMode ours oursKind sharedTerms } }",
        context_value={"store": store},
    )
    assert result.errors is None, result.errors
    assert {x["reference"] for x in result.data["warningLetters"]} >= {"717927"}
    assert len(result.data["failureModesLikeOurs"]) == 3


def test_cli_letter_json_and_letters(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qualitas.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["--store", str(tmp_path / "s"), "nlp", "letter", "--json",
                              str(LETTERS / "bmc-medical-co-ltd-725759-05202026.txt")])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [v["citation"] for v in data["violations"]] == ["21 CFR 807.81(a)(3)", "21 CFR 806.10"]
    out = runner.invoke(app, ["--store", str(tmp_path / "s"), "nlp", "letters", str(LETTERS)])
    assert out.exit_code == 0, out.output
    assert "happiest-baby-inc-718306-06152026.txt: added" in out.stdout
    # each letter loaded is one change with one audit record
    from qualitas.audit import open_audit_log
    from qualitas.settings import Settings

    trail = open_audit_log(Settings(store=tmp_path / "s"))
    recorded = [r.what["files"][0]["source"] for r in trail.records(action="load") if r.what["ok"]]
    assert len(recorded) == out.stdout.count(": added") and all(s.startswith("warning-letter:") for s in recorded)
    assert trail.verify().ok
    bad = runner.invoke(app, ["--store", str(tmp_path / "s"), "nlp", "letters", str(tmp_path / "none")])
    assert bad.exit_code == 64


def test_evaluation_script_runs() -> None:
    spec = importlib.util.spec_from_file_location("evaluate_nlp", REPO / "scripts" / "evaluate_nlp.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(LETTERS)]) == 0

# ruff: noqa: E501  (the letter texts below are quoted as one line per paragraph, as letters have them)
"""Issue 17: every charged citation (items, adulteration/misbranding paragraphs, MDR items),
combined and ranged forms split, references kept apart, evidence and offsets, letter facts,
IMDRF mapping, complaint classification, bulk load and the evaluation script."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml
from rdflib import RDF, Graph, Literal

from qualitas.ingest.nlp import (
    LibraryEntry,
    classify,
    extract_file,
    extract_letter,
    failure_modes_like_ours,
    find_citations,
    imdrf_codes,
    imdrf_term,
    load_letter,
    read_texts_csv,
)
from qualitas.ingest.nlp._imdrf import terminology
from qualitas.ingest.nlp._tables import _yaml
from qualitas.ontology import Q, mint
from qualitas.store import open_store

REPO = Path(__file__).resolve().parents[3]
LETTERS = REPO / "tests" / "fixtures" / "warning_letters"
REVIEWS = REPO / "tests" / "fixtures" / "reviews" / "device_reviews.csv"


# ---------------------------------------------------------------- citation patterns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("as required by 21 CFR 820.198(a)(b).", ["21 CFR 820.198(a)", "21 CFR 820.198(b)"]),
        ("as required by 21 CFR 820.30(i) and (j).", ["21 CFR 820.30(i)", "21 CFR 820.30(j)"]),
        ("as required by §§ 803.50 and 803.52.", ["21 CFR 803.50", "21 CFR 803.52"]),
        ("21 CFR 807.81(a)(3) and (a)(3)(i)", ["21 CFR 807.81(a)(3)", "21 CFR 807.81(a)(3)(i)"]),
        ("21 CFR 807.81(a)(1), (2)", ["21 CFR 807.81(a)(1)", "21 CFR 807.81(a)(2)"]),
        ("21 CFR 820.100(a)(1)-(3)", ["21 CFR 820.100(a)(1)", "21 CFR 820.100(a)(2)", "21 CFR 820.100(a)(3)"]),
        ("21 CFR 820.30(c) through (e)", ["21 CFR 820.30(c)", "21 CFR 820.30(d)", "21 CFR 820.30(e)"]),
        ("21 CFR 807.81(a)(3)(i)", ["21 CFR 807.81(a)(3)(i)"]),  # a proper nesting stays one
        ("21 CFR 820.75(a) and (b)(4) records", ["21 CFR 820.75(a)"]),  # (b)(4) is a redaction
    ],
)
def test_combined_and_ranged_forms_split(text: str, expected: list[str]) -> None:
    assert [c.text for c in find_citations(text)] == expected


ITEMS = """WARNING LETTER
CMS # 700001
March 3, 2025
Dear Mr. Doe:
1. Failure to establish and maintain procedures for receiving, reviewing, and evaluating complaints, as required by 21 CFR 820.198(a)(b). For example, complaints were not reviewed.
2. Failure to establish procedures for design changes, as required by 21 CFR 820.30(i) and (j). Specifically, changes were not validated.
3. Failure to report to the FDA no later than 30 calendar days after becoming aware of information that reasonably suggests that a device may have caused or contributed to a death or serious injury, as required by 21 CFR 803.50(a)(1). For example, complaint C-1 was not reported.
Your firm also failed to submit a report within 30 calendar days for a malfunction that would be likely to cause or contribute to a serious injury if it were to recur, as required by 21 CFR 803.50(a)(2). The term "serious injury" is defined in 21 CFR 803.3.
Please notify this office in writing within fifteen business days from the date you receive this letter. See also 21 CFR Part 820.
"""


def test_numbered_items_mdr_inner_charge_and_references_apart() -> None:
    letter = extract_letter(ITEMS)
    assert letter.charged == (
        "21 CFR 820.198(a)",
        "21 CFR 820.198(b)",
        "21 CFR 820.30(i)",
        "21 CFR 820.30(j)",
        "21 CFR 803.50(a)(1)",
        "21 CFR 803.50(a)(2)",
    )
    by = {v.citation: v for v in letter.violations}
    assert by["21 CFR 803.50(a)(2)"].subsystem == "medical_device_reporting"
    assert "as required by 21 CFR 803.50(a)(2)" in by["21 CFR 803.50(a)(2)"].sentence
    # the definition and the closing part-level mention are references, not charges
    assert {"21 CFR 803.3", "21 CFR Part 820"} <= set(letter.other_references)
    ref = next(r for r in letter.references if r.citation == "21 CFR 803.3")
    assert ITEMS[ref.start : ref.end] == "803.3" or ITEMS[ref.start : ref.end].endswith("803.3")
    assert ref.sentence.startswith('The term "serious injury"')
    for v in letter.violations:  # every charge points back into the text it was read from
        span = ITEMS[v.start : v.end]
        assert span.strip() and span in v.sentence
        assert re.search(r"\([^()]*\)$", v.citation).group(0) in span
    assert letter.response_business_days == 15
    assert letter.response_due == dt.date(2025, 3, 24)


STATUTE = """WARNING LETTER
April 1, 2025
Dear Ms. Roe:
Your firm's Model X pumps are adulterated under section 501(f)(1)(B) of the Act, 21 U.S.C. § 351(f)(1)(B), because your firm does not have an approved application for premarket approval in effect pursuant to section 515(a) of the Act. The devices are also misbranded under section 502(o) of the Act, 21 U.S.C. § 352(o), in that a notice or other information respecting the modification of the device was not provided to FDA as required by section 510(k) of the Act, 21 U.S.C. § 360(k), and 21 CFR 807.81(a)(3) and (a)(3)(i). See 21 CFR 807.81(b).
Our inspection revealed that your devices are misbranded under section 502(t)(2) of the Act, 21 U.S.C. § 352(t)(2), in that your firm failed to develop, maintain, and implement written MDR procedures, as required by 21 CFR 803.17.
Your website states that the pump is "FDA approved". Any representation that creates an impression of official approval of a device because of complying with the premarket notification regulations is misleading and constitutes misbranding, 21 CFR 807.97.
"""


def test_adulteration_and_misbranding_paragraphs_charge_their_sections() -> None:
    letter = extract_letter(STATUTE)
    assert letter.charged == ("21 CFR 807.81(a)(3)", "21 CFR 807.81(a)(3)(i)", "21 CFR 803.17", "21 CFR 807.97")
    kinds = {v.citation: (v.kind, v.subsystem) for v in letter.violations}
    assert kinds["21 CFR 807.81(a)(3)(i)"] == ("statute", "premarket_notification")
    assert kinds["21 CFR 803.17"] == ("statute", "medical_device_reporting")
    assert "21 CFR 807.81(b)" in letter.other_references  # "See ..." support stays a reference
    v = next(v for v in letter.violations if v.citation == "21 CFR 807.81(a)(3)(i)")
    assert STATUTE[v.start : v.end] == "(a)(3)(i)" and "misbranded under section 502(o)" in v.sentence


def test_page_layout_facts_on_a_tuning_letter() -> None:
    letter = extract_file(LETTERS / "cardinal-health-679404-04242024.txt")
    assert (letter.firm, letter.reference, letter.date) == ("Cardinal Health", "679404", dt.date(2024, 4, 24))
    assert letter.issuing_office == "Center for Devices and Radiological Health"
    assert letter.address == "7000 Dublin Place, Dublin, OH 43017, United States"
    assert [(i.start, i.end) for i in letter.inspections] == [(dt.date(2023, 12, 11), dt.date(2023, 12, 20))]
    assert letter.qmsr_era is False


def test_qmsr_letter_cites_iso_13485_clauses() -> None:
    koven = extract_file(LETTERS / "koven-technologies-inc-734643-07212026.txt")
    assert koven.qmsr_era is True
    assert {"7.3.9", "7.1", "7.4.1"} <= set(koven.iso13485_cited)
    assert koven.charged == ("21 CFR 820.35(a)",)


# ---------------------------------------------------------------- IMDRF


def test_imdrf_terminology_is_data_with_version_and_source() -> None:
    data = terminology()
    assert data["version"]["A"]["release"].startswith("2023") and data["sources"]
    a = data["annex_a"]
    assert len({r["code"] for r in a}) == len(a)
    families = [r for r in a if len(r["code"]) == 3]
    assert [r["code"] for r in families] == [f"A{i:02d}" for i in range(1, 28)]
    assert imdrf_term("A0504").term == "Leak/Splash" and imdrf_term("A0504").fda_code == "1354"
    assert imdrf_term("A24").term == "Adverse Event Without Identified Device or Use Problem"
    for code in _yaml("imdrf_keywords.yaml")["annex_a"]:
        assert imdrf_term(code) is not None, code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Customer reports the cassette leaked at the port.", "A0504"),
        ("Die Kassette ist undicht.", "A0504"),
        ("设备漏液", "A0504"),
        ("The pump shuts off by itself during therapy.", "A0719"),
    ],
)
def test_imdrf_mapping_of_complaints(text: str, code: str) -> None:
    assert code in [h.code for h in imdrf_codes(text)]


def test_imdrf_mapping_of_a_letter_finding_and_its_chain() -> None:
    letter = extract_file(LETTERS / "unomedical-device-sa-de-cv-719428-01082026.txt")
    leak = next(r for r in letter.relations if r.failure_mode == "leak")
    assert "A0504" in leak.imdrf and leak.weakness_kind == "process"
    bmc = extract_file(LETTERS / "bmc-medical-co-ltd-725759-05202026.txt")
    shut = next(r for r in bmc.relations if r.failure_mode == "shut down")
    assert "A0719" in shut.imdrf and "Software Problem Identified" in shut.causes


# ---------------------------------------------------------------- complaint classification

LIBRARY = [
    LibraryEntry("fm-leak", "Seal leak at cassette port", "fluid leaks where the cassette seal meets the port"),
    LibraryEntry("fm-batt", "Battery overheating", "battery gets hot while charging"),
    LibraryEntry("fm-disp", "Display blank", "screen stays blank after start"),
    LibraryEntry("fm-occl", "Occlusion not detected", "downstream occlusion alarm missing"),
]


def test_reviews_in_three_languages_classified_or_sent_to_review() -> None:
    items = read_texts_csv(REVIEWS)
    got = {c.id: c for c in classify(items, LIBRARY)}
    assert got["r-en-1"].failure_mode == "fm-leak" and "leak" in got["r-en-1"].evidence
    assert got["r-de-1"].failure_mode == "fm-leak" and got["r-de-1"].language == "de"
    assert got["r-de-2"].failure_mode == "fm-batt" and "akku" in got["r-de-2"].evidence
    assert got["r-zh-1"].failure_mode == "fm-disp" and got["r-zh-1"].language == "zh"
    assert got["r-zh-2"].failure_mode == "fm-occl"
    for low in ("r-en-3", "r-zh-3"):  # no device problem: a review item, not a guess
        assert got[low].review and got[low].failure_mode is None and "below" in got[low].reason
    assert all(0 <= c.score <= 1 for c in got.values())


def test_bad_review_csv_names_file_row_and_column(tmp_path: Path) -> None:
    from qualitas.errors import InputError

    bad = tmp_path / "r.csv"
    bad.write_text("id,text,lang\n1,ok text,en\n2,,en\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"r\.csv:3: column 'text' is empty"):
        read_texts_csv(bad)
    with pytest.raises(InputError, match="expected en, de or zh"):
        classify(read_texts_csv(_write(tmp_path / "l.csv", "id,text,lang\n1,x,fr\n")), LIBRARY)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- store: chains and matching


def test_failure_modes_like_ours_through_codes_and_text() -> None:
    store = open_store(None)
    try:
        load_letter(store, extract_file(LETTERS / "unomedical-device-sa-de-cv-719428-01082026.txt"), agent="pytest")
        g = Graph()
        fm = mint("failuremode", "fmea-seal-leak")
        g.add((fm, RDF.type, Q.FailureMode))
        g.add((fm, Q.name, Literal("Cassette seal leak")))
        c = mint("complaint", "C-9")
        g.add((c, RDF.type, Q.Complaint))
        g.add((c, Q.complaintId, Literal("C-9")))
        g.add((c, Q.text, Literal("Die Kassette ist undicht", lang="de")))
        store.load_triples(iter(g), source="pytest-ours", sha256="1", agent="pytest", format="generated")
        chain = store.select(
            "PREFIX q: <https://w3id.org/qualitas/ontology#> PREFIX dcterms: <http://purl.org/dc/terms/> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "SELECT ?code ?ev ?kind WHERE { ?f dcterms:subject/skos:notation ?code ; q:hasMechanism ?m . "
            "?m q:evidence ?ev ; q:dueToWeakness/dcterms:type ?kind }"
        )
        assert any(r["code"] == "A0504" and r["kind"] == "process" and "leak" in r["ev"] for r in chain)
        hits = failure_modes_like_ours(store)
        ours = {h.ours: h for h in hits if h.failure_mode == "leak"}
        fmea = ours["Cassette seal leak"]
        assert fmea.via == "codes+text" and "A0504" in fmea.reason and fmea.score >= 0.6
        complaint = ours["Die Kassette ist undicht"]
        assert complaint.ours_kind == "complaint" and complaint.imdrf == ("A0504",)
        assert fmea.evidence and "leak" in fmea.evidence
    finally:
        store.close()


# ---------------------------------------------------------------- bulk load


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with ``lines`` in Helvetica (built by hand: no PDF writer needed)."""
    esc = [s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for s in lines]
    content = "BT /F1 10 Tf 12 TL 40 760 Td " + " ".join(f"({s}) Tj T*" for s in esc) + " ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_nlp_load_folder_txt_html_pdf_and_rerun_changes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qualitas.cli import app
    from qualitas.settings import Settings

    folder = tmp_path / "letters"
    (folder / "sub").mkdir(parents=True)
    (folder / "beta.txt").write_bytes((LETTERS / "beta-bionics-inc-717927-01282026.txt").read_bytes())
    body = (LETTERS / "acrostak-schweiz-ag-668948-10312023.txt").read_text(encoding="utf-8")
    html = (
        "<html><head><style>p{}</style><script>var x=1;</script></head><body>"
        + "".join(f"<p>{line}</p>" for line in body.splitlines() if line.strip())
        + "</body></html>"
    )
    (folder / "sub" / "acrostak.html").write_text(html, encoding="utf-8")
    (folder / "pdfco.pdf").write_bytes(
        _pdf(
            [
                "Recipient: PdfCo Medical, Inc.",
                "WARNING LETTER",
                "CMS # 700777",
                "January 6, 2025",
                "Dear Sir:",
                "1. Failure to establish and maintain procedures for implementing corrective and preventive action,",
                "as required by 21 CFR 820.100(a). For example, CAPA-1 was not verified.",
            ]
        )
    )
    (folder / "notes.md").write_text("not a letter", encoding="utf-8")
    store = tmp_path / "store"
    runner = CliRunner()
    first = runner.invoke(app, ["--store", str(store), "nlp", "load", "--json", str(folder)])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["counts"] == {"added": 3}
    assert [f["file"] for f in data["files"]] == ["beta.txt", "pdfco.pdf", "sub/acrostak.html"]
    assert {f["firm"] for f in data["files"]} == {"Beta Bionics, Inc.", "PdfCo Medical, Inc.", "Acrostak (Schweiz) AG"}

    def state() -> tuple[int, int]:
        from qualitas.audit import open_audit_log

        with open_store(store) as s:
            gen = s.generation()
        return gen, len(open_audit_log(Settings(store=store)).records(action="load"))

    before = state()
    again = runner.invoke(app, ["--store", str(store), "nlp", "load", "--json", str(folder)])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["counts"] == {"unchanged": 3}
    assert state() == before  # nothing written, nothing recorded
    with open_store(store) as s:
        rows = s.select(
            "PREFIX q: <https://w3id.org/qualitas/ontology#> SELECT ?c WHERE { "
            '?l q:documentNumber "700777" ; q:hasViolation/q:hasCitation/q:code ?c }'
        )
    assert [r["c"] for r in rows] == ["21 CFR 820.100(a)"]
    (folder / "beta.txt").write_text(body, encoding="utf-8")  # a changed file is read again
    third = runner.invoke(app, ["--store", str(store), "nlp", "load", "--json", str(folder)])
    assert json.loads(third.stdout)["counts"] == {"replaced": 1, "unchanged": 2}
    bad = runner.invoke(app, ["--store", str(store), "nlp", "load", str(tmp_path / "nowhere")])
    assert bad.exit_code == 64 and "is not a folder" in bad.output

    # bulk mode: files in hashed buckets, one batch and one audit record per bucket
    bulk = tmp_path / "bulk-store"
    cmd = ["--store", str(bulk), "nlp", "load", "--buckets", "2", "--json", str(folder)]
    first = runner.invoke(app, cmd)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["counts"] == {"added": 3}
    with open_store(bulk) as s:
        sources = sorted(b.source for b in s.batches() if b.source.startswith("warning-letter-files:"))
        gen = s.generation()
    assert sources and all(src.startswith("warning-letter-files:2:") for src in sources)
    assert json.loads(runner.invoke(app, cmd).stdout)["counts"] == {"unchanged": 3}
    with open_store(bulk) as s:
        assert s.generation() == gen
    (folder / "pdfco.pdf").write_bytes(_pdf(["Recipient: PdfCo Medical, Inc.", "CMS # 700778", "May 2, 2025"]))
    counts = json.loads(runner.invoke(app, cmd).stdout)["counts"]
    assert counts.get("replaced", 0) >= 1 and sum(counts.values()) == 3


def test_cli_classify_reviews_with_library_and_review_list(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qualitas.cli import app

    lib = tmp_path / "lib.yaml"
    lib.write_text(yaml.safe_dump([{"key": e.key, "name": e.name, "description": e.description} for e in LIBRARY]))
    review = tmp_path / "review.csv"
    out = CliRunner().invoke(
        app,
        [
            "--store",
            str(tmp_path / "s"),
            "nlp",
            "classify",
            str(REVIEWS),
            "--library",
            str(lib),
            "--review-out",
            str(review),
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    assert rows["r-de-1"]["failure_mode"] == "fm-leak" and rows["r-en-3"]["review"] is True
    assert review.read_text(encoding="utf-8").count("\n") == 1 + sum(r["review"] for r in rows.values())


# ---------------------------------------------------------------- evaluation script


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("evaluate_nlp", REPO / "scripts" / "evaluate_nlp.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluation_split_frozen_and_empty(capsys: pytest.CaptureFixture[str]) -> None:
    module = _script()
    assert module.main([str(LETTERS), "--only", "no-such-set"]) == 1
    assert "nothing to score: no letter in this split" in capsys.readouterr().out
    module.main([str(LETTERS), "--frozen"])
    out = capsys.readouterr().out
    assert "== frozen held-out split" in out and "letters: 21" in out and "firm " in out
    split = yaml.safe_load((LETTERS / "heldout_split.yaml").read_text(encoding="utf-8"))
    key = {e["file"]: e for e in yaml.safe_load((LETTERS / "answer_key.yaml").read_text())["letters"]}
    assert all(key[f].get("set") in split["sets"] for f in split["files"])  # never a tuning letter

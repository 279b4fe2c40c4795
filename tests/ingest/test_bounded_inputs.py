"""Bounded inputs (issue 14, items 4-7): entity bombs and DTDs in every XML format, XLSX
zip bombs, inputs Python cannot read, and data that must be refused — each refused with
one line naming the file and the place, the documented exit code, and the store unchanged.

The bombs run in a subprocess under an address-space limit, so a regression shows up as
a failed test rather than a machine out of memory."""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from ingest_helpers import refused, write_xlsx

from qualitas.errors import ERROR_TABLE, InputError, ParseError
from qualitas.ingest import bom, epcis, ipc1752, load_paths, mes, rdf
from qualitas.ingest._bounds import MAX_XLSX_MEMBER_BYTES, MAX_XLSX_RATIO
from qualitas.store import GraphStore

REPO = Path(__file__).resolve().parents[2]
EXIT_PARSE = ERROR_TABLE[ParseError].exit_code  # 65, the CLI's documented code for a file that does not parse
#: The CLI runs under this address-space limit: the refused bombs need under 200 MB,
#: the old code needed 1 GB (8 levels of billion laughs) and 3 GB (the zip bomb).
CLI_MEMORY_LIMIT = 1536 << 20


def billion_laughs(path: Path, *, levels: int = 9, root: str = "rdf:RDF") -> Path:
    """The classic entity bomb: 10**(levels-1) copies of a 30-character entity."""
    entities = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, levels)
    ]
    body = (
        f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">\n'
        f'  <rdf:Description rdf:about="http://example.org/a"><ex:p>&lol{levels - 1};</ex:p></rdf:Description>\n'
        "</rdf:RDF>\n"
    )
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n' + "\n".join(entities) + "\n]>\n" + body)
    return path


def xlsx_bomb(path: Path, *, inflated_mb: int, declared: int | None = None) -> Path:
    """A BOM workbook whose sheet is padded with ``inflated_mb`` MiB of spaces (deflate
    packs those about 1000:1). ``declared`` rewrites the sheet's declared size (a lying
    header), leaving its data as it is."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Level", "Part Number", "Description", "Qty"])
    sheet.append([0, "TOP", "Top", None])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as zin:
        items = {name: zin.read(name) for name in zin.namelist()}
    head, tag, tail = items["xl/worksheets/sheet1.xml"].partition(b"<sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for name, data in items.items():
            if name != "xl/worksheets/sheet1.xml":
                zout.writestr(name, data)
        with zout.open("xl/worksheets/sheet1.xml", "w", force_zip64=inflated_mb > 3000) as member:
            member.write(head + tag)
            block = b" " * (1 << 20)
            for _ in range(inflated_mb):
                member.write(block)
            member.write(tail)
    if declared is not None:
        _set_declared_size(path, "xl/worksheets/sheet1.xml", declared)
    return path


def _set_declared_size(path: Path, member: str, size: int) -> None:
    """Rewrite ``member``'s uncompressed size in its local header and central directory entry."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for signature, size_at, name_length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        start = data.find(signature)
        while start != -1:
            (length,) = struct.unpack_from("<H", data, start + name_length_at)
            if data[start + name_at : start + name_at + length] == name:
                struct.pack_into("<I", data, start + size_at, size)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def cli(*args: str, store: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """``qualitas --store STORE ARGS`` in a subprocess under :data:`CLI_MEMORY_LIMIT`;
    returns the result and the child's peak resident memory in MiB."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY_LIMIT, CLI_MEMORY_LIMIT))

    # The CLI runs under a small Python wrapper that reports its one child's peak: a child
    # forked straight from this (large) test process would count the parent's resident
    # pages until it execs, and RUSAGE_CHILDREN here would be the largest of every child.
    peak_file = Path(tempfile.mkdtemp()) / "peak"
    command = [sys.executable, "-c", _MEASURED, str(peak_file),
               sys.executable, "-m", "qualitas.cli", "--store", str(store), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO, preexec_fn=limit,
                          timeout=300)
    done.args = command[3:]
    return done, int(peak_file.read_text()) / 1024


_MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def one_line_error(done: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The CLI failed with ``code`` and one line on stderr holding every fragment, no traceback."""
    assert done.returncode == code, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    message = " ".join(done.stderr.split())  # rich wraps long lines for the terminal
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# ---------------------------------------------------------------- item 4: DTDs and entities


def test_rdfxml_billion_laughs_is_refused_before_parsing(store: GraphStore, tmp_path: Path) -> None:
    # 7 levels (30 million characters) in-process: the old code stored them; the CLI test
    # below runs the bigger bomb in a subprocess under a memory limit
    path = billion_laughs(tmp_path / "laughs.rdf", levels=7)
    assert path.stat().st_size < 1000
    refused(store, lambda: rdf.execute(store, path, agent="pytest"), "laughs.rdf:3", "declares the entity 'lol0'")
    plan = rdf.simulate(path, store)
    assert plan.status == "refused"
    assert "laughs.rdf:3" in (plan.message or "")


def test_rdfxml_with_any_dtd_or_external_entity_is_refused(store: GraphStore, tmp_path: Path) -> None:
    plain = tmp_path / "plain-dtd.rdf"
    plain.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
    )
    refused(store, lambda: rdf.execute(store, plain, agent="pytest"), "plain-dtd.rdf:2", "document type declaration")
    external = tmp_path / "xxe.xml"
    external.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n  <!ENTITY % remote SYSTEM "http://example.org/evil.dtd">\n]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
    )
    refused(
        store,
        lambda: rdf.execute(store, external, agent="pytest", format="rdfxml"),
        "xxe.xml:3",
        "external entity '%remote'",
    )


def test_rdfxml_without_dtd_still_loads(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "fine.rdf"
    path.write_text(
        '<?xml version="1.0"?>\n<!-- a comment before the root -->\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">\n'
        '  <rdf:Description rdf:about="http://example.org/a"><ex:p>&lt;DOCTYPE&gt;</ex:p></rdf:Description>\n'
        "</rdf:RDF>\n"
    )
    assert rdf.execute(store, path, agent="pytest").triples == 1


def test_ipc1752_with_a_dtd_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "decl.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE MainDeclaration SYSTEM "ipc1752.dtd">\n'
        '<MainDeclaration><BusinessInfo><Response date="2025-01-01"/></BusinessInfo></MainDeclaration>\n'
    )
    refused(store, lambda: ipc1752.execute(store, path, agent="pytest"), "decl.xml:2", "DTDs are not allowed")


def test_xlsx_part_with_an_entity_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "bom.xlsx", [["Level", "Part Number", "Qty"], [0, "TOP", None], [1, "A", 1]])
    with zipfile.ZipFile(path) as zin:
        items = {name: zin.read(name) for name in zin.namelist()}
    sheet = items["xl/worksheets/sheet1.xml"]
    items["xl/worksheets/sheet1.xml"] = b'<!DOCTYPE worksheet [<!ENTITY lol "lollollol">]>' + sheet
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items.items():
            zout.writestr(name, data)
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "bom.xlsx",
        "workbook part 'xl/worksheets/sheet1.xml'",
        "declares the entity 'lol'",
    )


def test_cli_refuses_the_rdfxml_bomb_in_bounded_memory(tmp_path: Path) -> None:
    # 8 levels: 300 million characters; the old code stored them and peaked near 1 GB
    path = billion_laughs(tmp_path / "laughs.rdf", levels=8)
    done, peak = cli("load", str(path), store=tmp_path / "store")
    one_line_error(done, EXIT_PARSE, "laughs.rdf:3", "declares the entity 'lol0'")
    assert peak < 400, f"peak {peak:.0f} MiB"


# ---------------------------------------------------------------- item 5: XLSX zip bombs


def test_xlsx_zip_bomb_is_refused_by_its_declared_size(store: GraphStore, tmp_path: Path) -> None:
    path = xlsx_bomb(tmp_path / "bomb.xlsx", inflated_mb=(MAX_XLSX_MEMBER_BYTES >> 20) + 8)
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "bomb.xlsx",
        "workbook part 'xl/worksheets/sheet1.xml' declares",
        "zip bomb",
    )


def test_xlsx_zip_bomb_is_refused_by_its_ratio(store: GraphStore, tmp_path: Path) -> None:
    path = xlsx_bomb(tmp_path / "dense.xlsx", inflated_mb=40)
    message = refused(store, lambda: bom.execute(store, path, agent="pytest"), "dense.xlsx", "zip bomb")
    assert f"at most {MAX_XLSX_RATIO}x" in message


def test_xlsx_member_that_lies_about_its_size_is_refused(store: GraphStore, tmp_path: Path) -> None:
    # declared 1 MiB (ratio under the limit), really 40 MiB: zipfile alone would stop at
    # 1 MiB and call it a CRC error; the check inflates the raw data and says what it is
    path = xlsx_bomb(tmp_path / "liar.xlsx", inflated_mb=40, declared=1 << 20)
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "liar.xlsx",
        "inflates past its declared size",
    )


def test_cli_refuses_the_xlsx_zip_bomb_in_bounded_memory(tmp_path: Path) -> None:
    # 1.5 MB on disk, 1.5 GB inflated: the old code peaked at 3 GB and loaded an empty BOM
    path = xlsx_bomb(tmp_path / "bomb.xlsx", inflated_mb=1500)
    assert path.stat().st_size < 2_000_000
    done, peak = cli("load", str(path), store=tmp_path / "store")
    one_line_error(done, EXIT_PARSE, "bomb.xlsx", "zip bomb")
    assert peak < 400, f"peak {peak:.0f} MiB"


# ---------------------------------------------------------------- item 6: no tracebacks


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("text.xlsx", b"Level,Part Number,Qty\n0,TOP,\n", ("text.xlsx", "not an XLSX workbook", "not a ZIP archive")),
        ("deep.json", b'{"runs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ("deep.json:1", "nested deeper")),
        ("big.json", b'{"runs": [{"run_id": ' + b"9" * 100_000 + b"}]}", ("big.json:1", "100000 digits")),
        (
            "surrogate.json",
            b'{"complaints": [{"complaint_id": "C-\\ud800", "received": "2025-04-01", "channel": "web",'
            b' "market": "EU", "text": "burnt"}]}',
            ("surrogate.json", "complaints[0].complaint_id", "lone UTF-16 surrogate (U+D800)"),
        ),
    ],
)
def test_cli_unreadable_input_gets_the_documented_code_and_one_line(
    tmp_path: Path, name: str, content: bytes, fragments: tuple[str, ...]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    args = ["load", str(path), *(["--format", "bom"] if name.endswith(".xlsx") else [])]
    done, _ = cli(*args, store=tmp_path / "store")
    one_line_error(done, EXIT_PARSE, *fragments)


def test_empty_xlsx_is_refused_with_a_message(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    message = refused(store, lambda: load_paths(store, [path], agent="pytest", format="bom"), "empty.xlsx")
    assert "empty" in message


# ---------------------------------------------------------------- item 7: refused data


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_bom_cycle_across_rows_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = _csv(tmp_path / "cycle.csv", ["Parent,Part Number,Qty", "TOP,A,1", "A,B,1", "B,A,1"])
    refused(store, lambda: bom.execute(store, path, agent="pytest"), "cycle.csv", "row 4", "BOM cycle A → B → A")


def test_bom_cycle_in_indented_layout_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "levels.csv",
        ["Level,Part Number,Qty", "0,A,", "1,B,1", "0,B,", "1,C,1", "2,A,1"],
    )
    refused(store, lambda: bom.execute(store, path, agent="pytest"), "levels.csv", "row 6", "BOM cycle A → B → C → A")


def test_one_part_number_with_two_names_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "names.csv",
        ["Level,Part Number,Description,Qty", "0,TOP,Top,", "1,BOLT-1,Bolt M4,2", "1,SUB,Sub,1", "2,BOLT-1,Screw M4,1"],
    )
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "names.csv",
        "row 5",
        "field 'name'",
        "'Screw M4' here but 'Bolt M4' in row 3",
    )


@pytest.mark.parametrize("quantity", ["1e400", "1e-400", "NaN"])
def test_quantity_out_of_range_is_refused(store: GraphStore, tmp_path: Path, quantity: str) -> None:
    path = _csv(tmp_path / "qty.csv", ["Level,Part Number,Qty", "0,TOP,", f"1,A,{quantity}"])
    message = refused(store, lambda: bom.execute(store, path, agent="pytest"), "qty.csv", "row 3", "field 'quantity'")
    assert "finite" in message or "out of range" in message or "expected a quantity" in message


def test_infinite_json_number_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    run = {
        "run_id": "R-1",
        "step": "S",
        "equipment": "E",
        "start": "2025-01-01T06:00:00+00:00",
        "end": "2025-01-01T07:00:00+00:00",
        "produced_lots": ["LOT-1"],
        "part": "P-1",
        "actuals": [{"parameter": "TEMP", "value": 1e400, "unit": "°C"}],
    }
    path.write_text(json.dumps({"runs": [run]}))  # json writes the float as Infinity
    refused(store, lambda: mes.execute(store, path, agent="pytest"), "runs.json", "runs[0]", "TEMP", "finite")


@pytest.mark.parametrize("char", ["\x00", "\x1b"])
def test_control_characters_in_identifiers_are_refused(store: GraphStore, tmp_path: Path, char: str) -> None:
    path = _csv(tmp_path / "nul.csv", ["Level,Part Number,Qty", "0,TOP,", f"1,A{char}B,1"])
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "nul.csv",
        "row 3",
        "field 'part'",
        f"control character (U+{ord(char):04X})",
    )


def test_control_character_in_json_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "complaints.json"
    path.write_text(
        '{"complaints": [{"complaint_id": "C-\\u0000-1", "received": "2025-04-01", "channel": "web",'
        ' "market": "EU", "text": "burnt"}]}'
    )
    refused(
        store,
        lambda: load_paths(store, [path], agent="pytest"),
        "complaints.json",
        "complaints[0].complaint_id",
        "control character (U+0000)",
    )


def test_epcis_aggregation_whose_parent_is_itself_is_refused(store: GraphStore, tmp_path: Path) -> None:
    sscc = "urn:epc:id:sscc:4012345.0000000001"
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "AggregationEvent",
                    "eventTime": "2025-01-01T00:00:00Z",
                    "eventTimeZoneOffset": "+00:00",
                    "action": "ADD",
                    "parentID": sscc,
                    "childEPCs": ["urn:epc:id:sgtin:4012345.011122.25", sscc],
                }
            ]
        },
    }
    path = tmp_path / "self.jsonld"
    path.write_text(json.dumps(document, indent=1))
    refused(
        store,
        lambda: epcis.execute(store, path, agent="pytest"),
        "self.jsonld:",
        "field 'childEPCs[1]'",
        "is also one of its own children",
    )


def test_xml_in_an_unknown_encoding_is_refused_without_a_traceback(store: GraphStore, tmp_path: Path) -> None:
    # expat cannot read it, so the DTD is found in the raw bytes
    hidden = tmp_path / "hidden.rdf"
    hidden.write_text(
        '<?xml version="1.0" encoding="X-UNKNOWN-9"?>\n<!DOCTYPE rdf:RDF [<!ENTITY a "b">]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
    )
    refused(store, lambda: rdf.execute(store, hidden, agent="pytest"), "hidden.rdf", "DTD or entity declaration")
    declaration = tmp_path / "decl.xml"
    declaration.write_text('<?xml version="1.0" encoding="X-UNKNOWN-9"?>\n<MainDeclaration/>\n')
    refused(store, lambda: ipc1752.execute(store, declaration, agent="pytest"), "decl.xml:1", "unknown encoding")


def test_xlsx_with_one_far_cell_reads_only_the_cells_it_holds(tmp_path: Path) -> None:
    # one cell at C1048576 stretches a 5 KB sheet to a million rows: the old code created a
    # cell object for every position (1.9 GB and a minute) before it reached that row
    path = tmp_path / "far.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Level", "Part Number", "Qty"], [0, "TOP", None], [1, "A", 1]):
        sheet.append(row)
    sheet.cell(1_048_576, 3).value = 1
    book.save(path)
    done, peak = cli("load", "--format", "bom", str(path), store=tmp_path / "store")
    one_line_error(done, EXIT_PARSE, "far.xlsx", "row 1048576", "field 'level'")
    assert peak < 400, f"peak {peak:.0f} MiB"


def test_xlsx_merged_range_over_the_whole_sheet_is_refused(store: GraphStore, tmp_path: Path) -> None:
    # 30 bytes of XML; openpyxl makes an object per covered cell (17 billion) on opening
    path = write_xlsx(tmp_path / "merged.xlsx", [["Level", "Part Number", "Qty"], [0, "TOP", None], [1, "A", 1]])
    with zipfile.ZipFile(path) as zin:
        items = {name: zin.read(name) for name in zin.namelist()}
    sheet = items["xl/worksheets/sheet1.xml"]
    merge = b'<mergeCells count="1"><mergeCell ref="D2:XFD1048576"/></mergeCells>'
    items["xl/worksheets/sheet1.xml"] = sheet.replace(b"</sheetData>", b"</sheetData>" + merge, 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items.items():
            zout.writestr(name, data)
    refused(
        store,
        lambda: bom.execute(store, path, agent="pytest"),
        "merged.xlsx",
        "worksheet part 'xl/worksheets/sheet1.xml' merges ranges covering 17,176,707,075 cells",
    )


def test_cli_argument_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert cli("init", store=store)[0].returncode == 0
    # the bytes of a lone surrogate (U+D800 in CESU-8): Python sees '\udced\udca0\udc80'
    done, _ = cli("trace", "complaint", os.fsdecode(b"C-\xed\xa0\x80"), store=store)
    one_line_error(done, ERROR_TABLE[InputError].exit_code, r"the argument 'C-\xed\xa0\x80' is not valid UTF-8 text")

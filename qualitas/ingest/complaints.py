"""Customer and field complaints (service systems, dealer portals, call centres).

Format ``complaint``; CSV, XLSX, or JSON ``{"complaints": [...]}``. Per complaint:
``complaint_id``, ``received`` (date), ``channel``, ``serial`` or ``vin`` (a plain
serial, a VIN, an SGTIN EPC or a GS1 Digital Link), ``market`` (``EU``, ``CN``...),
``text`` in the customer's own words and language, optionally ``lang`` (a BCP 47
tag such as ``zh``, ``de``, ``pt-BR``; guessed from the script when absent: Han ->
``zh``, kana -> ``ja``, Hangul -> ``ko``, Cyrillic -> ``ru``, else ``und``) and
``failure_mode`` (a code). In JSON, ``text`` may be ``{"en": "...", "de": "..."}``.

The text is kept verbatim as an ``rdf:langString`` (``q:text``), so later NLP and
search work on what the customer wrote.

Use::

    from qualitas.ingest import complaints
    complaints.execute(store, Path("complaints-2025-03.csv"), agent="service")
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rdflib import RDF, Literal

from qualitas.ingest._core import Record, Source, TableLoader, Triple
from qualitas.ingest._gs1 import parse, unit_iri
from qualitas.ingest._tabular import ColumnMap, json_document, json_records, merge_mapping, table_records
from qualitas.ontology import Q, mint
from qualitas.ontology.builder import Builder

FORMAT = "complaint"

COLUMNS: dict[str, tuple[str, ...]] = {
    "complaint_id": ("id", "complaint", "complaint number", "case", "case id", "ticket", "投诉编号", "案例编号"),
    "received": ("date", "received on", "reported on", "opened", "接收日期", "投诉日期"),
    "channel": ("source", "reported via", "渠道", "来源"),
    "serial": ("serial number", "sn", "unit", "unit serial", "epc", "序列号"),
    "vin": ("vehicle identification number", "vehicle", "车架号", "车辆识别代号"),
    "market": ("country", "region", "市场", "国家"),
    "text": ("description", "complaint text", "customer verbatim", "verbatim", "comment", "描述", "投诉内容"),
    "lang": ("language", "lang tag", "语言"),
    "failure_mode": ("failure mode", "defect code", "失效模式"),
}
REQUIRED = ("complaint_id", "received", "channel", "market", "text")

_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_SCRIPTS = (
    (re.compile(r"[\u3040-\u30ff]"), "ja"),
    (re.compile(r"[\uac00-\ud7af]"), "ko"),
    (re.compile(r"[\u4e00-\u9fff]"), "zh"),
    (re.compile(r"[\u0400-\u04ff]"), "ru"),
    (re.compile(r"[\u0600-\u06ff]"), "ar"),
    (re.compile(r"[\u0e00-\u0e7f]"), "th"),
    (re.compile(r"[\u0370-\u03ff]"), "el"),
)


def guess_language(text: str) -> str:
    """A BCP 47 tag from the script of ``text`` (``und`` when Latin or unknown)."""
    for pattern, tag in _SCRIPTS:
        if pattern.search(text):
            return tag
    return "und"


def _records(src: Source, columns: ColumnMap) -> Iterator[Record]:
    if src.path.suffix.lower() == ".json":
        return json_records(src, json_document(src), "complaints", required=REQUIRED, aliases=columns)
    return table_records(src, columns, required=REQUIRED, encoding=src.options.get("encoding"))  # type: ignore[arg-type]


def _texts(rec: Record) -> dict[str, str]:
    value = rec.values.get("text")
    if isinstance(value, dict):
        texts = {str(k): str(v).strip() for k, v in value.items() if str(v).strip()}
        if not texts:
            raise rec.error("is empty; the customer's words are required", "text")
    else:
        text = rec.need("text")
        lang = rec.text("lang", required=False) or guess_language(text)
        texts = {lang: text}
    for lang in texts:
        if not _LANG.match(lang):
            raise rec.error(
                f"{lang!r} is not a BCP 47 language tag (e.g. en, zh, pt-BR)",
                "text" if isinstance(value, dict) else "lang",
            )
    return texts


def triples(src: Source) -> Iterator[Triple]:
    """The triples of a complaint export, row by row."""
    columns = merge_mapping(COLUMNS, src.options.get("columns"))  # type: ignore[arg-type]
    buf: list[Triple] = []
    b = Builder(buf.append)
    src.rescan_keys(lambda: (("complaint", r.text("complaint_id") or "", r.where) for r in _records(src, columns)))
    for rec in _records(src, columns):
        cid = rec.need("complaint_id")
        src.unique("complaint", cid, where=rec.where, field="complaint_id")
        serial = rec.text("serial", required=False)
        vin = rec.text("vin", required=False)
        if not serial and not vin:
            raise rec.error("a complaint names the unit: give a serial number or a VIN", "serial")
        key = serial or vin
        assert key is not None
        received = rec.date("received")
        assert received is not None
        market, channel = rec.need("market"), rec.need("channel")
        texts = _texts(rec)
        with rec.identifiers("serial" if serial else "vin", key):
            unit, gs1 = unit_iri(key), parse(key)
        buf.extend(
            [(unit, RDF.type, Q.SerialUnit), (unit, Q.serialNumber, Literal(gs1.serial if gs1 and gs1.serial else key))]
        )
        if vin and not serial:
            buf.append((unit, Q.vin, Literal(vin)))
        m = mint("market", market)
        buf.extend([(m, RDF.type, Q.Market), (m, Q.code, Literal(market))])
        failure_mode = rec.text("failure_mode", required=False)
        if failure_mode:
            fm = mint("failuremode", failure_mode)
            buf.extend([(fm, RDF.type, Q.FailureMode), (fm, Q.code, Literal(failure_mode))])
        complaint = b.complaint(
            cid, serial=key, received=received, channel=channel, market=market, texts=texts, failure_mode=failure_mode
        )
        if unit != mint("unit", key):  # a GS1 identifier: point at the canonical unit node
            buf.remove((complaint, Q.concernsUnit, mint("unit", key)))
            buf.append((complaint, Q.concernsUnit, unit))
        yield from buf
        buf.clear()


_COMPLAINTS = TableLoader(FORMAT, triples)
simulate = _COMPLAINTS.simulate
execute = _COMPLAINTS.execute

"""GS1 EPCIS 2.0 JSON / JSON-LD documents: trace events, offline.

EPCIS 2.0 (https://ref.gs1.org/standards/epcis/) fixes the JSON structure of its
events, so the fields are mapped here by name and the GS1 ``@context`` is never
fetched: a document naming ``https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld``
loads with no network. Inline context objects (``{"example": "http://..."}``) are
honoured for user extension fields such as ``example:myField``.

Mapping (terms from the EPCIS 2.0 / CBV 2.0 web vocabularies, ``epcis:`` and ``cbv:``):

* every event: its ``eventID`` as IRI (a stable ``urn:uuid`` from its content when
  absent), ``rdf:type epcis:<EventType>``, ``epcis:eventTime``, ``epcis:action``,
  ``epcis:bizStep cbv:BizStep-<step>``, ``epcis:disposition cbv:Disp-<disp>``,
  ``epcis:readPoint`` / ``epcis:bizLocation`` (SGLN URIs), business transactions,
  sources and destinations, ILMD, and quantity elements (``epcis:epcClass``,
  ``epcis:quantity``, QUDT ``q:unit`` from the UN/CEFACT ``uom``);
* identifiers: SGTIN EPCs and GS1 Digital Link URIs become ``q:SerialUnit`` s, LGTIN
  classes ``q:Lot`` s, SSCCs logistic units, each keyed by its canonical Digital
  Link (``q:epc``, ``q:digitalLink``, ``q:gtin``, ``q:ofPart`` the GTIN's part); a
  Digital Link whose GTIN or SSCC fails its GS1 check digit, or an EPC URI whose
  company prefix and reference do not make a GTIN or SSCC, is refused with the file,
  line, event and field;
* ObjectEvent: ``epcis:epcList``; AggregationEvent: ``epcis:parentID``,
  ``epcis:childEPCs`` and ``q:packedIn`` (child -> parent) unless the action is DELETE
  (a parent listed among its own children is refused);
* TransformationEvent: also a ``q:ProductionRun`` that ``q:consumed`` its inputs and
  ``q:produced`` its outputs (PROV-O used / generated), so
  ``qualitas.reasoning.trace`` follows lot-level lineage through it;
* sensor data: each ``sensorReport`` is a ``sosa:Observation`` (``sosa:observedProperty``
  ``gs1:<type>``, ``q:value``, ``q:unit``, ``sosa:resultTime``, ``sosa:madeBySensor``
  the device, ``sosa:hasFeatureOfInterest`` the event's objects).

Use::

    from qualitas.ingest import epcis
    epcis.execute(store, Path("Example_9.6.4-TransformationEvent.jsonld"), agent="epcis-repo")
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import RDF, XSD, Literal, Namespace, URIRef
from rdflib.namespace import SOSA

from qualitas.errors import ValidationError
from qualitas.ingest._bounds import number_problem
from qualitas.ingest._core import PlannedLoad, Source, Triple
from qualitas.ingest._core import execute as _execute
from qualitas.ingest._core import simulate as _simulate
from qualitas.ingest._gs1 import Gs1Id, parse
from qualitas.ingest._tabular import json_document
from qualitas.ingest._units import UnknownUnitError, unece_unit
from qualitas.ontology import CBV, EPCIS, UNIT, Q, mint
from qualitas.store import GraphStore, LoadResult, Progress

FORMAT = "epcis"
GS1 = Namespace("https://gs1.org/voc/")
GS1_CONTEXTS = (
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    "https://gs1.github.io/EPCIS/epcis-context.jsonld",
)
EVENT_TYPES = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent", "AssociationEvent"}
)

#: Event fields handled explicitly; other standard fields are kept as epcis: literals.
_HANDLED = {
    "type",
    "eventID",
    "eventTime",
    "eventTimeZoneOffset",
    "recordTime",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "epcList",
    "quantityList",
    "parentID",
    "childEPCs",
    "childQuantityList",
    "inputEPCList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "ilmd",
    "sensorElementList",
    "@context",
    "certificationInfo",
    "errorDeclaration",
    "persistentDisposition",
}


def is_epcis(document: object) -> bool:
    return isinstance(document, dict) and (
        document.get("type") in ("EPCISDocument", "EPCISQueryDocument") or "epcisBody" in document
    )


def _events(src: Source, document: object) -> list[object]:
    if not isinstance(document, dict):
        raise src.invalid("expected a JSON object (an EPCISDocument)", where="document")
    if document.get("type") in EVENT_TYPES:
        return [document]
    if not is_epcis(document):
        raise src.invalid(
            "not an EPCIS document: no type EPCISDocument and no epcisBody", where="document", field="type"
        )
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        raise src.invalid("expected an object", where="document", field="epcisBody")
    events = body.get("eventList")
    if events is None and isinstance(body.get("queryResults"), dict):
        events = (body["queryResults"].get("resultsBody") or {}).get("eventList")
    if not isinstance(events, list):
        raise src.invalid("expected an array of events", where="epcisBody", field="eventList")
    return events


def _prefixes(document: object) -> dict[str, str]:
    prefixes = {"gs1": str(GS1), "cbv": str(CBV), "epcis": str(EPCIS)}
    context = document.get("@context") if isinstance(document, dict) else None
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            prefixes.update({k: v for k, v in item.items() if isinstance(v, str)})
    return prefixes


class _Event:
    def __init__(self, src: Source, where: str, event: dict[str, object], prefixes: dict[str, str]) -> None:
        self.src, self.where, self.event, self.prefixes = src, where, event, prefixes
        self.out: list[Triple] = []
        self.described: set[str] = set()

    def fail(self, message: str, field: str) -> ValidationError:
        return self.src.invalid(message, where=self.where, field=field)

    # ---------------------------------------------------------- identifiers

    def item(self, text: object, field: str) -> URIRef:
        if not isinstance(text, str) or ":" not in text:
            raise self.fail(f"expected an EPC or GS1 Digital Link URI, got {text!r}", field)
        with self.src.identifiers(where=self.where, field=field, value=text):
            gs1 = parse(text)
        if gs1 is None and text.startswith(("urn:epc:id:sgtin:", "urn:epc:class:lgtin:", "urn:epc:id:sscc:")):
            raise self.fail(f"malformed EPC URI {text!r}", field)
        if gs1 is None:
            return URIRef(text)
        iri = gs1.iri
        if str(iri) not in self.described:
            self.described.add(str(iri))
            self._describe(iri, gs1)
        return iri

    def _describe(self, iri: URIRef, gs1: Gs1Id) -> None:
        out = self.out
        if gs1.epc:
            out.append((iri, Q.epc, Literal(gs1.epc)))
        if gs1.kind in ("unit", "logistic", "lot"):
            out.append((iri, Q.digitalLink, Literal(gs1.digital_link, datatype=XSD.anyURI)))
        if gs1.kind in ("unit", "logistic"):
            out.extend([(iri, RDF.type, Q.SerialUnit), (iri, Q.serialNumber, Literal(gs1.serial))])
        elif gs1.kind == "lot":
            out.extend([(iri, RDF.type, Q.Lot), (iri, Q.lotNumber, Literal(gs1.lot))])
        if gs1.gtin and gs1.kind in ("unit", "lot"):
            part = mint("part", gs1.gtin)
            out.extend(
                [
                    (iri, Q.ofPart, part),
                    (part, RDF.type, Q.Part),
                    (part, Q.partNumber, Literal(gs1.gtin)),
                    (part, Q.gtin, Literal(gs1.gtin)),
                ]
            )
        if gs1.kind == "class" and gs1.gtin:
            out.append((iri, Q.gtin, Literal(gs1.gtin)))

    def term(self, value: object, field: str, vocabulary: str) -> URIRef:
        """A CBV code (``shipping``, ``urn:epcglobal:cbv:bizstep:shipping``) or a URI."""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"expected a CBV code or URI, got {value!r}", field)
        text = value.strip()
        for prefix in (
            "urn:epcglobal:cbv:bizstep:",
            "urn:epcglobal:cbv:disp:",
            "urn:epcglobal:cbv:btt:",
            "urn:epcglobal:cbv:sdt:",
        ):
            if text.startswith(prefix):
                return CBV[f"{vocabulary}-{text[len(prefix) :]}"]
        if ":" in text:
            return URIRef(self.expand(text))
        return CBV[f"{vocabulary}-{text}"]

    def expand(self, name: str) -> str:
        prefix, _, local = name.partition(":")
        if prefix in self.prefixes and not local.startswith("//"):
            return self.prefixes[prefix] + local
        return name

    def number(self, value: object, field: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(f"expected a number, got {value!r}", field)
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        except InvalidOperation:
            raise self.fail(f"expected a number, got {value!r}", field) from None
        problem = number_problem(number)
        if problem:
            raise self.fail(problem, field)
        return number

    def time(self, value: object, field: str) -> Literal:
        if not isinstance(value, str):
            raise self.fail(f"expected a date and time (ISO 8601), got {value!r}", field)
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(f"expected a date and time (ISO 8601), got {value!r}", field) from None
        if parsed.tzinfo is None:
            raise self.fail(f"{value!r} has no time zone offset", field)
        return Literal(parsed.isoformat(), datatype=XSD.dateTime)

    def unit(self, code: object, field: str) -> str | None:
        try:
            return unece_unit(str(code))
        except UnknownUnitError as exc:
            raise self.fail(str(exc), field) from None

    # ---------------------------------------------------------- structures

    def quantities(self, subject: URIRef, field: str) -> list[URIRef]:
        """Quantity elements; returns the lots among their classes (for lineage)."""
        entries = self.event.get(field) or []
        if not isinstance(entries, list):
            raise self.fail("expected an array of quantity elements", field)
        lots = []
        for i, entry in enumerate(entries):
            here = f"{field}[{i}]"
            if not isinstance(entry, dict) or "epcClass" not in entry:
                raise self.fail("a quantity element needs an epcClass", here)
            cls = self.item(entry["epcClass"], f"{here}.epcClass")
            node = URIRef(f"{subject}#{field}-{i + 1}")
            self.out.extend(
                [(subject, EPCIS[field], node), (node, RDF.type, EPCIS.QuantityElement), (node, EPCIS.epcClass, cls)]
            )
            if "quantity" in entry:
                self.out.append(
                    (
                        node,
                        EPCIS.quantity,
                        Literal(self.number(entry["quantity"], f"{here}.quantity"), datatype=XSD.decimal),
                    )
                )
            if "uom" in entry:
                unit = self.unit(entry["uom"], f"{here}.uom")
                if unit:
                    self.out.append((node, Q.unit, UNIT[unit]))
            gs1 = parse(str(entry["epcClass"]))
            if gs1 is not None and gs1.kind == "lot":
                lots.append(cls)
        return lots

    def epcs(self, subject: URIRef, field: str) -> list[URIRef]:
        values = self.event.get(field) or []
        if not isinstance(values, list):
            raise self.fail("expected an array of EPC URIs", field)
        items = [self.item(v, f"{field}[{i}]") for i, v in enumerate(values)]
        self.out.extend((subject, EPCIS[field], item) for item in items)
        return items

    def typed_list(self, subject: URIRef, field: str, key: str, vocabulary: str) -> None:
        entries = self.event.get(field) or []
        if not isinstance(entries, list):
            raise self.fail("expected an array", field)
        for i, entry in enumerate(entries):
            here = f"{field}[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
                raise self.fail(f"each entry needs a {key} URI", here)
            node = URIRef(f"{subject}#{field}-{i + 1}")
            self.out.extend([(subject, EPCIS[field], node), (node, EPCIS[key], URIRef(entry[key]))])
            if "type" in entry:
                self.out.append((node, EPCIS.type, self.term(entry["type"], f"{here}.type", vocabulary)))

    def extensions(self, subject: URIRef, values: dict[str, object], depth: int = 0) -> None:
        for key, value in values.items():
            if ":" not in key or key.startswith("@"):
                continue
            prop = URIRef(self.expand(key))
            if str(prop) == key and key.split(":", 1)[0] not in self.prefixes:
                continue  # an undeclared prefix: JSON-LD would drop it too
            self._value(subject, prop, value, depth)

    def _value(self, subject: URIRef, prop: URIRef, value: object, depth: int) -> None:
        if isinstance(value, dict) and depth < 4:
            node = URIRef(f"{subject}#{prop.split('/')[-1].split('#')[-1]}")
            self.out.append((subject, prop, node))
            self.extensions(node, value, depth + 1)
        elif isinstance(value, list):
            for item in value:
                self._value(subject, prop, item, depth)
        elif isinstance(value, bool | int | float | str):
            self.out.append((subject, prop, Literal(value)))

    def sensors(self, subject: URIRef, objects: list[URIRef], event_time: Literal) -> None:
        elements = self.event.get("sensorElementList") or []
        if not isinstance(elements, list):
            raise self.fail("expected an array of sensor elements", "sensorElementList")
        for i, element in enumerate(elements):
            here = f"sensorElementList[{i}]"
            if not isinstance(element, dict):
                raise self.fail("expected an object", here)
            node = URIRef(f"{subject}#sensorElement-{i + 1}")
            self.out.extend([(subject, EPCIS.sensorElementList, node), (node, RDF.type, EPCIS.SensorElement)])
            meta = element.get("sensorMetadata") or {}
            if not isinstance(meta, dict):
                raise self.fail("expected an object", f"{here}.sensorMetadata")
            device = meta.get("deviceID")
            meta_time = self.time(meta["time"], f"{here}.sensorMetadata.time") if "time" in meta else None
            for key in ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"):
                if isinstance(meta.get(key), str):
                    self.out.append((node, EPCIS[key], URIRef(meta[key])))
            reports = element.get("sensorReport") or []
            if not isinstance(reports, list):
                raise self.fail("expected an array of sensor reports", f"{here}.sensorReport")
            for j, report in enumerate(reports):
                r_here = f"{here}.sensorReport[{j}]"
                if not isinstance(report, dict):
                    raise self.fail("expected an object", r_here)
                obs = URIRef(f"{subject}#sensorReport-{i + 1}-{j + 1}")
                self.out.extend([(node, EPCIS.sensorReport, obs), (obs, RDF.type, SOSA.Observation)])
                kind = report.get("type")
                if isinstance(kind, str):
                    prop = URIRef(self.expand(kind)) if ":" in kind else GS1[kind]
                    self.out.append((obs, SOSA.observedProperty, prop))
                when = self.time(report["time"], f"{r_here}.time") if "time" in report else meta_time or event_time
                self.out.append((obs, SOSA.resultTime, when))
                if isinstance(device, str):
                    self.out.append((obs, SOSA.madeBySensor, URIRef(device)))
                for target in objects:
                    self.out.append((obs, SOSA.hasFeatureOfInterest, target))
                if "value" in report:
                    self.out.append(
                        (obs, Q.value, Literal(self.number(report["value"], f"{r_here}.value"), datatype=XSD.decimal))
                    )
                for key in ("minValue", "maxValue", "meanValue", "sDev", "percValue", "percRank"):
                    if key in report:
                        self.out.append(
                            (
                                obs,
                                EPCIS[key],
                                Literal(self.number(report[key], f"{r_here}.{key}"), datatype=XSD.decimal),
                            )
                        )
                for key in ("stringValue", "booleanValue", "hexBinaryValue"):
                    if key in report:
                        self.out.append((obs, EPCIS[key], Literal(report[key])))
                if "uom" in report:
                    unit = self.unit(report["uom"], f"{r_here}.uom")
                    if unit:
                        self.out.append((obs, Q.unit, UNIT[unit]))


def _event_iri(event: dict[str, object]) -> URIRef:
    event_id = event.get("eventID")
    if isinstance(event_id, str) and ":" in event_id:
        return URIRef(event_id)
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return URIRef(f"urn:uuid:{uuid.UUID(bytes=hashlib.sha256(canonical).digest()[:16], version=5)}")


def triples(src: Source) -> Iterator[Triple]:
    """The triples of one EPCIS 2.0 JSON(-LD) document, event by event."""
    document = json_document(src)
    events = _events(src, document)
    prefixes = _prefixes(document)
    src.rescan_keys(
        lambda: (
            ("eventID", str(e.get("eventID")), f"epcisBody.eventList[{i}]")
            for i, e in enumerate(events)
            if isinstance(e, dict) and e.get("eventID")
        )
    )
    for i, raw in enumerate(events):
        where = f"epcisBody.eventList[{i}]"
        if not isinstance(raw, dict):
            raise src.invalid("expected an event object", where=where)
        ev = _Event(src, where, raw, prefixes)
        kind = raw.get("type")
        if kind not in EVENT_TYPES:
            raise ev.fail(f"unknown event type {kind!r}; expected one of {sorted(EVENT_TYPES)}", "type")
        if "eventTime" not in raw:
            raise ev.fail("missing required field", "eventTime")
        if raw.get("eventID"):
            src.unique("eventID", str(raw["eventID"]), where=where, field="eventID")
        iri = _event_iri(raw)
        event_time = ev.time(raw["eventTime"], "eventTime")
        out = ev.out
        out.extend([(iri, RDF.type, EPCIS[str(kind)]), (iri, EPCIS.eventTime, event_time)])
        if isinstance(raw.get("eventID"), str):
            out.append((iri, EPCIS.eventID, Literal(raw["eventID"])))
        if isinstance(raw.get("eventTimeZoneOffset"), str):
            out.append((iri, EPCIS.eventTimeZoneOffset, Literal(raw["eventTimeZoneOffset"])))
        if "recordTime" in raw:
            out.append((iri, EPCIS.recordTime, ev.time(raw["recordTime"], "recordTime")))
        action = raw.get("action")
        if action is not None:
            if action not in ("ADD", "OBSERVE", "DELETE"):
                raise ev.fail(f"expected ADD, OBSERVE or DELETE, got {action!r}", "action")
            out.append((iri, EPCIS.action, Literal(action)))
        elif kind in ("ObjectEvent", "AggregationEvent", "TransactionEvent", "AssociationEvent"):
            raise ev.fail("missing required field", "action")
        if "bizStep" in raw:
            out.append((iri, EPCIS.bizStep, ev.term(raw["bizStep"], "bizStep", "BizStep")))
        if "disposition" in raw:
            out.append((iri, EPCIS.disposition, ev.term(raw["disposition"], "disposition", "Disp")))
        for field in ("readPoint", "bizLocation"):
            if field in raw:
                place = raw[field]
                if not isinstance(place, dict) or not isinstance(place.get("id"), str):
                    raise ev.fail("expected an object with an id URI", field)
                out.append((iri, EPCIS[field], URIRef(place["id"])))
        ev.typed_list(iri, "bizTransactionList", "bizTransaction", "BTT")
        ev.typed_list(iri, "sourceList", "source", "SDT")
        ev.typed_list(iri, "destinationList", "destination", "SDT")

        objects = ev.epcs(iri, "epcList")
        objects += ev.quantities(iri, "quantityList")
        if kind == "AggregationEvent":
            parent = ev.item(raw["parentID"], "parentID") if "parentID" in raw else None
            if parent is not None:
                out.append((iri, EPCIS.parentID, parent))
            children = ev.epcs(iri, "childEPCs")
            children_lots = ev.quantities(iri, "childQuantityList")
            if parent is not None and parent in children + children_lots:
                at = (children + children_lots).index(parent)
                field = f"childEPCs[{at}]" if at < len(children) else f"childQuantityList[{at - len(children)}]"
                raise src.invalid(
                    f"the parent {raw['parentID']!r} is also one of its own children; an object cannot "
                    "be packed in itself",
                    where=ev.where,
                    field=field,
                    line=src.line_of(str(raw["parentID"])),
                )
            if parent is not None and action != "DELETE":
                out.extend((child, Q.packedIn, parent) for child in children + children_lots)
            objects += ([parent] if parent is not None else []) + children
        if kind == "TransformationEvent":
            inputs = ev.epcs(iri, "inputEPCList") + ev.quantities(iri, "inputQuantityList")
            outputs = ev.epcs(iri, "outputEPCList") + ev.quantities(iri, "outputQuantityList")
            if not outputs:
                raise ev.fail("a TransformationEvent needs outputs", "outputEPCList")
            run_id = str(raw.get("eventID") or raw.get("transformationID") or iri)
            out.extend(
                [
                    (iri, RDF.type, Q.ProductionRun),
                    (iri, Q.runId, Literal(run_id)),
                    (iri, Q.startedAt, event_time),
                    (iri, Q.endedAt, event_time),
                ]
            )
            out.extend((iri, Q.consumed, item) for item in inputs)
            out.extend((iri, Q.produced, item) for item in outputs)
            if isinstance(raw.get("transformationID"), str):
                out.append((iri, EPCIS.transformationID, URIRef(raw["transformationID"])))
            objects += outputs
        if isinstance(raw.get("ilmd"), dict):
            node = URIRef(f"{iri}#ilmd")
            out.append((iri, EPCIS.ilmd, node))
            ev.extensions(node, raw["ilmd"])  # type: ignore[arg-type]
        ev.sensors(iri, objects, event_time)
        ev.extensions(iri, {k: v for k, v in raw.items() if k not in _HANDLED})
        yield from out


def simulate(path: Path, store: GraphStore, *, source: str | None = None, replace: bool = False) -> PlannedLoad:
    """Dry run of an EPCIS document."""
    return _simulate(path, store, format=FORMAT, triples=triples, source=source, replace=replace)


def execute(
    store: GraphStore,
    path: Path,
    *,
    agent: str,
    progress: Progress | None = None,
    source: str | None = None,
    replace: bool = False,
) -> LoadResult:
    """Load an EPCIS document as one batch."""
    return _execute(
        store, path, format=FORMAT, triples=triples, agent=agent, progress=progress, source=source, replace=replace
    )

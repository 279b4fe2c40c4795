"""IPC-1752A material declarations (XML), classes C and D.

IPC-1752A ("Materials Declaration Management", schema version 2.0, target namespace
``http://webstds.ipc.org/175x/2.0``) carries, under the root ``MainDeclaration``:

* ``BusinessInfo/Response`` (``@date``) with ``SupplyCompany`` (``@name``;
  ``CompanyID@identity``/``@authority``) - the supplier;
* ``Product`` with ``ProductID`` (``@itemNumber``, ``@itemName``, ``@version``) and
  ``MaterialInfo``:

  - class D (homogeneous-material composition): ``HomogeneousMaterialList/
    HomogeneousMaterial`` (``@name``, ``Amount@value``/``@UOM``) with
    ``SubstanceCategoryList/SubstanceCategory/Substance`` (``@name``,
    ``SubstanceID@identity`` with ``@authority="CAS"``, ``Amount`` or
    ``Concentration``);
  - class C (RoHS yes/no): ``SubstanceCategoryList`` (``SubstanceCategoryListID``)
    with ``SubstanceCategory@name`` and ``Threshold@overThreshold``;
  - exemptions: ``Exemption`` elements (``@identity``, ``@description``) within a
    material, substance or substance category, optionally grouped in an
    ``ExemptionList`` with an ``ExemptionListID``.

Element names are matched by local name, so documents with or without the namespace
(and 1752B-style wrappers) parse. The declaration becomes a ``q:SupplierDeclaration``
(as ``Builder.declaration`` writes it) with ``q:CompositionEntry`` s for materials,
substances (CAS, mass, mass fraction) and substance categories, and ``q:Exemption`` s.
A CAS number (``@authority="CAS"``) or EC number (``EC``/``EINECS``/``ELINCS``) whose
check digit is wrong is refused, naming the file, its line and the element
(``qualitas.ontology.identifiers``).

Safety: a DTD (``<!DOCTYPE``) is refused before the document is parsed
(``qualitas.ingest._bounds``), and the XML is then parsed with defusedxml, so neither
external entities (XXE: reading local files or URLs) nor entity-expansion bombs
("billion laughs") can do harm. https://pypi.org/project/defusedxml/

Use::

    from qualitas.ingest import ipc1752
    ipc1752.execute(store, Path("NPP-CLIP-7731.xml"), agent="srm")
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import RDF, XSD, Literal, URIRef

from qualitas.errors import ParseError
from qualitas.ingest._bounds import check_xml_file, number_problem
from qualitas.ingest._core import PlannedLoad, Source, Triple
from qualitas.ingest._core import execute as _execute
from qualitas.ingest._core import simulate as _simulate
from qualitas.ingest._units import UnknownUnitError, qudt_unit
from qualitas.ontology import UNIT, Q, mint
from qualitas.ontology.builder import Builder
from qualitas.ontology.identifiers import check_cas, check_ec
from qualitas.store import GraphStore, LoadResult, Progress

FORMAT = "ipc1752"
NAMESPACE = "http://webstds.ipc.org/175x/2.0"

#: ``SubstanceID@authority`` values that name an EC number (EINECS, ELINCS, NLP or ECHA list number).
_EC_AUTHORITIES = {"EC", "EINECS", "ELINCS", "NLP", "EC NUMBER", "EC-NUMBER"}
_MASS_UNITS = {"mg", "g", "kg", "ug", "µg", "t"}
_FRACTION_UNITS = {
    "ppm": Decimal("0.000001"),
    "masspercent": Decimal("0.01"),
    "%": Decimal("0.01"),
    "percent": Decimal("0.01"),
}


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _descendants(element: ET.Element, name: str) -> Iterator[ET.Element]:
    for child in element.iter():
        if child is not element and _local(child.tag) == name:
            yield child


def parse_xml(path: Path) -> ET.Element:
    """Parse safely: no DTD, no entities (so no XXE and no entity-expansion bombs)."""
    import defusedxml
    import defusedxml.ElementTree as DET

    check_xml_file(path)  # names the entity or the DTD, with its line
    try:
        return DET.parse(str(path), forbid_dtd=True, forbid_entities=True, forbid_external=True).getroot()
    except defusedxml.EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            raise ParseError(
                f"refused: the XML declares the external entity {exc.name!r} ({exc.sysid or exc.pubid}); "
                "external entities (XXE) can read local files or URLs and are never resolved",
                file=path,
            ) from exc
        raise ParseError(
            f"refused: the XML declares the entity {exc.name!r}; entity declarations "
            "(entity expansion, 'billion laughs') are not allowed in a declaration",
            file=path,
        ) from exc
    except defusedxml.ExternalReferenceForbidden as exc:
        raise ParseError(
            f"refused: the XML references the external resource {exc.sysid or exc.pubid!r}; "
            "external references are never fetched",
            file=path,
        ) from exc
    except defusedxml.DTDForbidden as exc:  # pragma: no cover - check_xml_file refuses a DTD first
        raise ParseError("refused: the XML has a document type declaration; DTDs are not allowed", file=path) from exc
    except LookupError as exc:  # an encoding declaration Python has no codec for
        raise ParseError(f"cannot read the XML: {exc}", file=path, line=1) from exc
    except ET.ParseError as exc:
        line, column = exc.position
        raise ParseError(f"column {column}: malformed XML ({exc.msg})", file=path, line=line) from exc


@dataclass
class _Ctx:
    src: Source
    number: str
    buf: list[Triple]

    def fail(self, message: str, where: str, field: str | None = None) -> Exception:
        return self.src.invalid(message, where=f"element {where}", field=field)


def _path(parent: str, element: ET.Element, index: int) -> str:
    name = element.get("name")
    label = f"{_local(element.tag)}[{index + 1}]"
    if name:
        label += f" ({name!r})"
    return f"{parent}/{label}"


def _amount(ctx: _Ctx, element: ET.Element | None, where: str) -> tuple[Decimal | None, str | None, Decimal | None]:
    """(mass value, QUDT unit, mass fraction) of an ``Amount`` or ``Concentration``."""
    if element is None:
        return None, None, None
    here = f"{where}/{_local(element.tag)}"
    raw = element.get("value")
    if raw is None:
        raise ctx.fail("has no value attribute", here, "value")
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ctx.fail(f"expected a number, got {raw!r}", here, "value") from None
    problem = number_problem(value)
    if problem:
        raise ctx.fail(problem, here, "value")
    if value < 0:
        raise ctx.fail(f"an amount cannot be negative ({value})", here, "value")
    uom = (element.get("UOM") or element.get("unitOfMeasure") or "").strip()
    if _local(element.tag) == "Concentration" and not uom:
        uom = "massPercent"
    key = uom.lower()
    if key in _FRACTION_UNITS:
        return None, None, value * _FRACTION_UNITS[key]
    if key not in _MASS_UNITS:
        raise ctx.fail(f"unknown unit {uom!r}; IPC-1752A uses mg, g, kg, ppm or massPercent", here, "UOM")
    try:
        return value, qudt_unit(uom), None
    except UnknownUnitError as exc:  # pragma: no cover - the set above is all known
        raise ctx.fail(str(exc), here, "UOM") from None


def _exemptions(ctx: _Ctx, element: ET.Element, where: str, subject: URIRef, declaration: URIRef) -> None:
    for i, exemption in enumerate(_descendants(element, "Exemption")):
        here = f"{where}//Exemption[{i + 1}]"
        identity = (exemption.get("identity") or exemption.get("name") or "").strip()
        if not identity:
            raise ctx.fail("has no identity", here, "identity")
        listing = exemption.get("exemptionList") or ""
        parent_list = None
        for holder in _descendants(element, "ExemptionList"):
            if exemption in list(holder.iter()):
                parent_list = _child(holder, "ExemptionListID")
        if parent_list is not None:
            listing = parent_list.get("identity") or listing
        iri = mint("declaration", ctx.number, "exemption", listing or "-", identity)
        ctx.buf.extend(
            [
                (iri, RDF.type, Q.Exemption),
                (iri, Q.code, Literal(identity)),
                (subject, Q.claimsExemption, iri),
                (declaration, Q.claimsExemption, iri),
            ]
        )
        if listing:
            ctx.buf.append((iri, Q.identifier, Literal(listing)))
        if description := exemption.get("description"):
            ctx.buf.append((iri, Q.name, Literal(description)))


def _dec(value: Decimal) -> Literal:
    return Literal(value, datatype=XSD.decimal)


def triples(src: Source) -> Iterator[Triple]:
    """The triples of one IPC-1752A file (one declaration per ``Product``)."""
    if src.progress is not None:
        src.progress(0, src.size)
    root = parse_xml(src.path)
    if _local(root.tag) != "MainDeclaration":
        raise src.invalid(
            f"not an IPC-1752A declaration: the root element is {_local(root.tag)!r}, expected 'MainDeclaration'",
            where=f"element /{_local(root.tag)}",
        )
    buf: list[Triple] = []
    b = Builder(buf.append)
    response = next(_descendants(root, "Response"), None)
    company = next(_descendants(root, "SupplyCompany"), None)
    if company is None:
        company = next(_descendants(root, "Company"), None)
    if company is None:
        raise src.invalid(
            "names no supplier (BusinessInfo/Response/SupplyCompany)",
            where="element /MainDeclaration/BusinessInfo",
            field="SupplyCompany",
        )
    company_id = _child(company, "CompanyID")
    identity = company_id.get("identity") if company_id is not None else None
    supplier_id = (identity or company.get("name") or "").strip()
    if not supplier_id:
        raise src.invalid(
            "has neither CompanyID@identity nor @name",
            where="element /MainDeclaration/BusinessInfo/Response/SupplyCompany",
            field="name",
        )
    supplier = mint("supplier", supplier_id)
    buf.extend([(supplier, RDF.type, Q.Supplier), (supplier, Q.supplierId, Literal(supplier_id))])
    if company.get("name"):
        buf.append((supplier, Q.name, Literal(company.get("name"))))
    date_text = (response.get("date") if response is not None else None) or ""
    try:
        issued = dt.date.fromisoformat(date_text.strip()[:10])
    except ValueError:
        raise src.invalid(
            f"expected a date (YYYY-MM-DD), got {date_text!r}",
            where="element /MainDeclaration/BusinessInfo/Response",
            field="date",
        ) from None
    sub_sections = {s.get("name", "").upper() for s in _descendants(root, "SubSectional")}

    products = _children(root, "Product") or list(_descendants(root, "Product"))
    if not products:
        raise src.invalid("declares no Product", where="element /MainDeclaration", field="Product")
    seen_products: set[str] = set()
    for p_index, product in enumerate(products):
        where = _path("/MainDeclaration", product, p_index)
        product_id = _child(product, "ProductID")
        item = (product_id.get("itemNumber") if product_id is not None else "") or ""
        if not item.strip():
            raise src.invalid("has no itemNumber", where=f"element {where}/ProductID", field="itemNumber")
        item = item.strip()
        if item in seen_products:
            raise src.invalid(f"duplicate product {item!r}", where=f"element {where}/ProductID", field="itemNumber")
        seen_products.add(item)
        version = (product_id.get("version") or "").strip() if product_id is not None else ""
        number = f"IPC1752/{supplier_id}/{item}/{version or issued.isoformat()}"
        ctx = _Ctx(src, number, buf)
        part = b.part_iri(item)
        buf.extend([(part, RDF.type, Q.Part), (part, Q.partNumber, Literal(item)), (part, Q.suppliedBy, supplier)])
        if product_id is not None and product_id.get("itemName"):
            buf.append((part, Q.name, Literal(product_id.get("itemName"))))
        declaration = b.declaration(number, supplier=supplier_id, part=item, issued=issued)
        info = _child(product, "MaterialInfo")
        if info is None:
            raise src.invalid("has no MaterialInfo", where=f"element {where}", field="MaterialInfo")
        materials = [
            hm for hl in _children(info, "HomogeneousMaterialList") for hm in _children(hl, "HomogeneousMaterial")
        ]
        categories = _children(info, "SubstanceCategoryList")
        found = ({"D"} if materials else set()) | ({"C"} if categories else set())
        classes = sorted((sub_sections & {"C", "D"}) or found)
        for cls in classes:
            buf.append((declaration, Q.declarationClass, Literal(cls)))
        _class_d(ctx, materials, f"{where}/MaterialInfo/HomogeneousMaterialList", declaration)
        _class_c(ctx, categories, f"{where}/MaterialInfo", declaration)
        yield from buf
        buf.clear()


def _class_d(ctx: _Ctx, materials: list[ET.Element], where: str, declaration: URIRef) -> None:
    names: set[str] = set()
    for m_index, hm in enumerate(materials):
        here = _path(where, hm, m_index)
        name = (hm.get("name") or "").strip()
        if not name:
            raise ctx.fail("has no name", here, "name")
        if name in names:
            raise ctx.fail(f"duplicate homogeneous material {name!r}", here, "name")
        names.add(name)
        material = mint("material", name)
        entry = mint("declaration", ctx.number, "material", name)
        ctx.buf.extend(
            [
                (material, RDF.type, Q.Material),
                (material, Q.grade, Literal(name)),
                (declaration, Q.declaresMaterial, material),
                (declaration, Q.hasCompositionEntry, entry),
                (entry, RDF.type, Q.CompositionEntry),
                (entry, Q.material, material),
            ]
        )
        mass, unit, _ = _amount(ctx, _child(hm, "Amount"), here)
        if mass is not None and unit is not None:
            ctx.buf.extend([(entry, Q.quantity, _dec(mass)), (entry, Q.unit, UNIT[unit])])
        own = [e for e in hm.iter() if _local(e.tag) == "Exemption" and not _within_substance(hm, e)]
        if own:
            _exemptions(ctx, _wrap(own), here, entry, declaration)
        cas_seen: set[str] = set()
        substances = list(_descendants(hm, "Substance"))
        for s_index, substance in enumerate(substances):
            s_here = _path(here + "/SubstanceCategoryList/SubstanceCategory", substance, s_index)
            grams = _in_grams(mass, unit) if mass is not None and unit is not None else None
            _substance(ctx, substance, s_here, material, name, grams, cas_seen, declaration)


def _within_substance(hm: ET.Element, element: ET.Element) -> bool:
    return any(element in list(s.iter()) for s in _descendants(hm, "Substance"))


def _wrap(elements: list[ET.Element]) -> ET.Element:
    holder = ET.Element("holder")
    holder.extend(elements)
    return holder


def _substance(
    ctx: _Ctx,
    substance: ET.Element,
    here: str,
    material: URIRef,
    material_name: str,
    material_grams: Decimal | None,
    cas_seen: set[str],
    declaration: URIRef,
) -> None:
    name = (substance.get("name") or "").strip()
    ident = _child(substance, "SubstanceID")
    if ident is None:
        ident = _child(substance, "UniqueID")
    authority = (ident.get("authority") or "").strip().upper() if ident is not None else ""
    identity = (ident.get("identity") or "").strip() if ident is not None else ""
    if authority == "CAS":
        with ctx.src.identifiers(where=f"element {here}/SubstanceID", field="identity", value=identity):
            check_cas(identity)
        key = identity
    elif authority in _EC_AUTHORITIES:
        with ctx.src.identifiers(where=f"element {here}/SubstanceID", field="identity", value=identity):
            check_ec(identity)
        key = f"EC:{identity}"
    elif identity:
        key = f"{authority or 'ID'}:{identity}"
    elif name:
        key = f"name:{name}"
    else:
        raise ctx.fail("has neither a SubstanceID nor a name", here, "SubstanceID")
    if key in cas_seen:
        raise ctx.fail(f"duplicate substance {key!r} in material {material_name!r}", here + "/SubstanceID", "identity")
    cas_seen.add(key)
    iri = mint("substance", key)
    ctx.buf.extend([(iri, RDF.type, Q.Substance), (material, Q.containsSubstance, iri)])
    if authority == "CAS":
        ctx.buf.append((iri, Q.casNumber, Literal(identity)))
    elif authority in _EC_AUTHORITIES:
        ctx.buf.append((iri, Q.ecNumber, Literal(identity)))
    if name:
        ctx.buf.append((iri, Q.name, Literal(name)))
    entry = mint("declaration", ctx.number, "material", material_name, "substance", key)
    ctx.buf.extend(
        [
            (declaration, Q.hasCompositionEntry, entry),
            (entry, RDF.type, Q.CompositionEntry),
            (entry, Q.material, material),
            (entry, Q.substance, iri),
        ]
    )
    mass, unit, fraction = _amount(ctx, _child(substance, "Amount"), here)
    _, _, concentration = _amount(ctx, _child(substance, "Concentration"), here)
    fraction = fraction if fraction is not None else concentration
    if mass is not None and unit is not None:
        ctx.buf.extend([(entry, Q.quantity, _dec(mass)), (entry, Q.unit, UNIT[unit])])
        if fraction is None and material_grams:
            fraction = _in_grams(mass, unit) / material_grams
    if fraction is not None:
        if fraction > 1:
            raise ctx.fail(f"a mass fraction above 100 % ({fraction * 100} %)", here, "Amount")
        ctx.buf.append((entry, Q.massFraction, _dec(fraction.normalize())))
    _exemptions(ctx, substance, here, entry, declaration)


_GRAMS = {"MilliGM": Decimal("0.001"), "GM": Decimal(1), "KiloGM": Decimal(1000), "TONNE": Decimal(1000000)}


def _in_grams(value: Decimal, unit: str) -> Decimal:
    return value * _GRAMS.get(unit, Decimal(1))


def _class_c(ctx: _Ctx, lists: list[ET.Element], where: str, declaration: URIRef) -> None:
    for l_index, category_list in enumerate(lists):
        l_here = _path(where, category_list, l_index)
        list_id = _child(category_list, "SubstanceCategoryListID")
        listing = (list_id.get("identity") if list_id is not None else None) or "-"
        names: set[str] = set()
        for c_index, category in enumerate(_children(category_list, "SubstanceCategory")):
            here = _path(l_here, category, c_index)
            name = (category.get("name") or "").strip()
            if not name:
                raise ctx.fail("has no name", here, "name")
            if name in names:
                raise ctx.fail(f"duplicate substance category {name!r} in list {listing!r}", here, "name")
            names.add(name)
            entry = mint("declaration", ctx.number, "category", listing, name)
            ctx.buf.extend(
                [
                    (declaration, Q.hasCompositionEntry, entry),
                    (entry, RDF.type, Q.CompositionEntry),
                    (entry, Q.substanceCategory, Literal(name)),
                ]
            )
            threshold = _child(category, "Threshold")
            if threshold is not None and threshold.get("overThreshold") is not None:
                flag = threshold.get("overThreshold", "").strip().lower()
                if flag not in ("true", "false", "1", "0"):
                    raise ctx.fail(f"expected true or false, got {flag!r}", here + "/Threshold", "overThreshold")
                ctx.buf.append((entry, Q.aboveThreshold, Literal(flag in ("true", "1"))))
            _exemptions(ctx, category, here, entry, declaration)


def simulate(path: Path, store: GraphStore, *, source: str | None = None, replace: bool = False) -> PlannedLoad:
    """Dry run of an IPC-1752A declaration."""
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
    """Load an IPC-1752A declaration as one batch."""
    return _execute(
        store, path, format=FORMAT, triples=triples, agent=agent, progress=progress, source=source, replace=replace
    )

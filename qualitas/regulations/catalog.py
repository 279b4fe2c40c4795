"""The regulation catalog: load the YAML records, validate them, turn them into ELI RDF.

A catalog *version* is a folder with a ``catalog.yaml`` (version, vocabulary,
applicability rules) and either a ``catalog/`` folder of record files (format:
``catalog/README.md``) or an overlay on another version::

    version: "2026.12"
    base: "2026.11"
    changes:
      upsert: [ {full record}, ... ]      # added or replaced records, by id
      remove: [ id, ... ]

so a new version is a small, reviewable diff and old versions stay reproducible.
Records become ``q:Regulation`` (a subclass of ``eli:LegalResource``) with ELI
properties (https://op.europa.eu/en/web/eu-vocabularies/eli): ``eli:id_local``,
``eli:title``, ``eli:date_document``, ``eli:first_date_entry_in_force``,
``eli:date_applicability``, ``eli:date_no_longer_in_force``, ``eli:in_force``,
``eli:is_about``, ``eli:amends``, ``eli:repeals``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from qualitas.errors import NotFoundError, ParseError, ValidationError
from qualitas.ontology.namespaces import ELI, mint
from qualitas.ontology.vocab import Q
from qualitas.store import GraphStore, LoadResult

HERE = Path(__file__).parent
#: The catalog shipped with the package (the current version).
CATALOG_ROOT = HERE
#: Where other catalog versions shipped with the package live, one folder each.
VERSIONS_DIR = HERE / "versions"

_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CAS = re.compile(r"^\d{2,7}-\d{2}-\d$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_DATE_KEYS = ("adopted", "entry_into_force", "application", "end_of_transition", "repealed")

#: Official identifier formats, by identifier type and (optionally) jurisdiction.
#: A pattern keyed ``(type, None)`` applies to any jurisdiction without its own entry.
IDENTIFIER_PATTERNS: dict[tuple[str, str | None], re.Pattern[str]] = {
    # CELEX sector 3 (legislation): year, L/R/D/H, number (https://eur-lex.europa.eu/content/tools/HowtoUseCELEX.html)
    ("celex", None): re.compile(r"^3\d{4}[LRDH]\d{4}$"),
    ("cfr", None): re.compile(
        r"^\d+ CFR (Part \d+[A-Z]?( Subpart [A-Z]+)?|\d+\.\d+[a-z]?(\([a-z0-9]+\))*)$"
    ),
    ("usc", None): re.compile(r"^\d+ U\.S\.C\. \d+[a-z]*(-\d+)?$"),
    ("us_public_law", None): re.compile(r"^Pub\. ?L\. \d{2,3}-\d+$"),
    ("us_state_code", None): re.compile(r"^Cal\. .*\d"),
    ("gb_standard", None): re.compile(r"^(GB|GB/T|GB/Z|[A-Z]{2}/T|[A-Z]{2}) \d+(\.\d+)*-\d{4}$"),
    ("decree", "VN"): re.compile(r"^\d+/\d{4}/(ND-CP|QD-TTg)$"),
    ("decree", "CN"): re.compile(
        r"^[A-Za-z][A-Za-z ]* (Order No\. \d+|Announcement \d{4} No\. \d+)$"
    ),
    ("law", "VN"): re.compile(r"^\d+/\d{4}/QH\d+$"),
    ("law", "JP"): re.compile(r"^Act No\. \d+ of \d{4}$"),
    ("law", "KR"): re.compile(r"^Act No\. \d+$"),
    ("law", "IN"): re.compile(r"^Act No\. \d+ of \d{4}$"),
    ("law", "UK"): re.compile(r"^\d{4} c\. \d+$"),
    ("law", "ID"): re.compile(r"^Law No\. \d+ of \d{4}$"),
    ("national_regulation", "UK"): re.compile(r"^SI \d{4}/\d+$"),
    ("national_regulation", "VN"): re.compile(
        r"^(QCVN \d+(-\d+)?:\d{4}/[A-Z]+|\d+/\d{4}/TT-[A-Z]+)$"
    ),
    ("standard", None): re.compile(
        r"^(EN|IEC|ISO|ISO/IEC|EN IEC|EN ISO|EN ISO/IEC|ETSI EN|CISPR) \d+( \d{3})?(-\d+)*"
        r"(:\d{4}(\+(A|AMD|AC)\d+:\d{4})*| V\d+\.\d+\.\d+)$"
    ),
    ("industry_standard", None): re.compile(r"^(UL|IATF|AS|SAE|IPC|JEDEC|IEEE)[ ]?\d+[A-Z]?(-\d+)*(:\d{4})?$"),
}


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Title:
    lang: str
    text: str


@dataclass(frozen=True)
class Dates:
    adopted: dt.date | None = None
    entry_into_force: dt.date | None = None
    application: dt.date | None = None
    end_of_transition: dt.date | None = None
    repealed: dt.date | None = None

    @property
    def applies_from(self) -> dt.date | None:
        """The day obligations start: application, else entry into force, else adoption."""
        return self.application or self.entry_into_force or self.adopted


@dataclass(frozen=True)
class LimitScope:
    """Which articles a limit binds, where the law narrows it below the record's scope.

    ``features``: the product must have all of them (REACH Annex XVII entry 63(7):
    supplied to the general public and mouthable by children); ``excluded_categories``:
    products in any of them are outside it (entry 63(8)(j) and 63(16): articles within
    the scope of RoHS 2011/65/EU, the Toy Safety Directive, packaging);
    ``material_pattern``: a regular expression the grade of the declared material must
    match (entry 63(14): PVC material).
    """

    features: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()
    material_pattern: str | None = None


@dataclass(frozen=True)
class Limit:
    """A maximum concentration (e.g. RoHS Annex II), in percent by weight."""

    substance: str
    cas: str | None
    max_percent_w_w: Decimal
    basis: str
    scope: LimitScope | None = None


@dataclass(frozen=True)
class Exemption:
    id: str
    description: str
    scope: str | None
    expires: str | None


@dataclass(frozen=True)
class ListedSubstance:
    """A substance on a list a record carries, e.g. a REACH Candidate List (SVHC) entry."""

    name: str
    cas: tuple[str, ...]
    ec: str | None
    date_included: dt.date | None


@dataclass(frozen=True)
class Regulation:
    id: str
    identifier: str
    identifier_type: str
    short_name: str | None
    titles: tuple[Title, ...]
    jurisdiction: str
    markets: tuple[str, ...]
    instrument_type: str
    status: str
    dates: Dates
    amends: tuple[str, ...]
    repeals: tuple[str, ...]
    superseded_by: str | None
    categories: tuple[str, ...]
    features: tuple[str, ...]
    scope_note: str | None
    conformity_route: tuple[str, ...]
    required_documents: tuple[str, ...]
    markings: tuple[str, ...]
    manual_languages: tuple[str, ...]
    source_url: str
    verified: bool
    verification_note: str | None
    limits: tuple[Limit, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    substances: tuple[ListedSubstance, ...] = ()
    file: str = ""
    #: A standard's citation data (edition, OJ reference or FDA recognition, the date
    #: presumption of conformity ends), as the record's ``standard:`` mapping holds it.
    standard: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def title(self, lang: str = "en") -> str:
        for t in self.titles:
            if t.lang == lang:
                return t.text
        return self.titles[0].text if self.titles else ""

    @property
    def iri(self) -> URIRef:
        return mint("regulation", self.id)


@dataclass(frozen=True)
class ApplicabilityRules:
    manufacturer_category: str = "quality_management_system"
    implied_categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    implied_features: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    substance_list_feature: str | None = None
    #: The records whose ``substances:`` lists set that feature (the REACH Candidate
    #: List); other lists, such as Proposition 65, do not make a product "contain SVHC".
    substance_list_records: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    jurisdictions: frozenset[str]
    markets: frozenset[str]
    identifier_types: frozenset[str]
    instrument_types: frozenset[str]
    statuses: frozenset[str]
    categories: frozenset[str]
    features: frozenset[str]


@dataclass(frozen=True)
class Catalog:
    version: str
    released: dt.date | None
    records: tuple[Regulation, ...]
    vocabulary: Vocabulary
    rules: ApplicabilityRules
    root: str
    expected_count: int | None = None
    base: str | None = None

    def __iter__(self) -> Iterator[Regulation]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def by_id(self) -> dict[str, Regulation]:
        return {r.id: r for r in self.records}

    def get(self, regulation_id: str) -> Regulation:
        for r in self.records:
            if r.id == regulation_id:
                return r
        raise NotFoundError(
            f"no regulation {regulation_id!r} in catalog {self.version}",
            regulation=regulation_id, version=self.version,
        )


@dataclass(frozen=True)
class CatalogIssue:
    """One problem in the catalog, located by file, record id and field."""

    file: str
    record: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.record:
            where += f" [{self.record}]"
        if self.field:
            where += f" {self.field}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    version: str
    count: int
    expected_count: int | None
    issues: tuple[CatalogIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues


# ---------------------------------------------------------------- loading


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ParseError(str(exc.problem or exc), file=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ParseError(str(exc), file=path) from exc


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _limit_scope(raw: Any) -> LimitScope | None:
    if not isinstance(raw, dict):
        return None
    pattern = raw.get("material_pattern")
    return LimitScope(
        features=_tuple(raw.get("features")), excluded_categories=_tuple(raw.get("excluded_categories")),
        material_pattern=None if pattern is None else str(pattern),
    )


def _record(raw: Mapping[str, Any], file: str) -> Regulation:
    """Build a record; assumes :func:`_record_issues` found nothing fatal."""
    dates = raw.get("dates") or {}
    scope = raw.get("scope") or {}
    title = raw.get("title") or {}
    titles = tuple(Title(str(k), str(v)) for k, v in title.items() if v) if isinstance(title, dict) else ()
    return Regulation(
        id=str(raw["id"]),
        identifier=str(raw.get("identifier", "")),
        identifier_type=str(raw.get("identifier_type", "")),
        short_name=raw.get("short_name"),
        titles=titles,
        jurisdiction=str(raw.get("jurisdiction", "")),
        markets=_tuple(raw.get("markets")),
        instrument_type=str(raw.get("instrument_type", "")),
        status=str(raw.get("status", "")),
        dates=Dates(**{k: _date(dates.get(k)) for k in _DATE_KEYS}),
        amends=_tuple(raw.get("amends")),
        repeals=_tuple(raw.get("repeals")),
        superseded_by=raw.get("superseded_by") or None,
        categories=_tuple(scope.get("categories")),
        features=_tuple(scope.get("features")),
        scope_note=scope.get("note"),
        conformity_route=_tuple(raw.get("conformity_route")),
        required_documents=_tuple(raw.get("required_documents")),
        markings=_tuple(raw.get("markings")),
        manual_languages=_tuple(raw.get("manual_languages")),
        source_url=str(raw.get("source_url") or ""),
        verified=raw.get("verified") is True,
        verification_note=raw.get("verification_note"),
        limits=tuple(
            Limit(
                substance=str(x.get("substance", "")),
                cas=(str(x["cas"]).strip() or None) if x.get("cas") else None,
                max_percent_w_w=_decimal(x.get("max_percent_w_w")),
                basis=str(x.get("basis") or ""),
                scope=_limit_scope(x.get("scope")),
            )
            for x in raw.get("limits") or ()
        ),
        exemptions=tuple(
            Exemption(
                id=str(x.get("id")), description=str(x.get("description") or ""),
                scope=x.get("scope"), expires=None if x.get("expires") is None else str(x["expires"]),
            )
            for x in raw.get("exemptions") or ()
        ),
        substances=tuple(
            ListedSubstance(
                name=str(x.get("name", "")),
                cas=tuple(c.strip() for c in str(x.get("cas") or "").split(";") if c.strip()),
                ec=None if x.get("ec") is None else str(x["ec"]),
                date_included=_date(x.get("date_included")),
            )
            for x in raw.get("substances") or ()
        ),
        file=file,
        standard=dict(raw.get("standard") or {}),
    )


@dataclass(frozen=True)
class _RawCatalog:
    meta: Mapping[str, Any]
    records: tuple[tuple[str, Mapping[str, Any]], ...]  # (file, raw record)
    issues: tuple[CatalogIssue, ...]
    root: Path


def _version_roots(search: Iterable[Path]) -> Iterator[Path]:
    for base in search:
        base = Path(base)
        if (base / "catalog.yaml").is_file():
            yield base
        if base.is_dir():
            for child in sorted(base.iterdir()):
                if child.is_dir() and (child / "catalog.yaml").is_file():
                    yield child


def find_version(version: str, *, search: Iterable[Path] = ()) -> Path:
    """The folder holding catalog ``version``: the package catalog, a folder under
    ``versions/``, or one of ``search`` (a version folder or a folder of them)."""
    for root in _version_roots([*search, CATALOG_ROOT, VERSIONS_DIR]):
        meta = _read_yaml(root / "catalog.yaml") or {}
        if str(meta.get("version")) == version:
            return root
    raise NotFoundError(f"no catalog version {version!r} found", version=version)


def list_versions(*, search: Iterable[Path] = ()) -> list[str]:
    """Every catalog version found in the package and in ``search``."""
    found: list[str] = []
    for root in _version_roots([*search, CATALOG_ROOT, VERSIONS_DIR]):
        v = str((_read_yaml(root / "catalog.yaml") or {}).get("version"))
        if v not in found:
            found.append(v)
    return found


def _read_raw(root: Path, search: tuple[Path, ...], depth: int = 0) -> _RawCatalog:
    meta_file = root / "catalog.yaml"
    meta = _read_yaml(meta_file) or {}
    issues: list[CatalogIssue] = []
    if not isinstance(meta, dict) or not meta.get("version"):
        raise ValidationError(
            f"{meta_file}: missing 'version'", file=str(meta_file), field="version"
        )
    base_version = meta.get("base")
    records: list[tuple[str, Mapping[str, Any]]] = []
    if base_version:
        if depth > 20:
            raise ValidationError(f"{meta_file}: 'base' chain too deep", file=str(meta_file))
        base = _read_raw(find_version(str(base_version), search=(*search, root.parent)), search, depth + 1)
        issues.extend(base.issues)
        records = list(base.records)
        merged_meta = {**base.meta, **{k: v for k, v in meta.items() if k != "changes"}}
        changes = meta.get("changes") or {}
        removed = set(_tuple(changes.get("remove")))
        known = {str(r.get("id")) for _, r in records}
        for rid in sorted(removed - known):
            issues.append(CatalogIssue(str(meta_file), rid, "changes.remove",
                                       "removes an id that the base version does not have"))
        records = [(f, r) for f, r in records if str(r.get("id")) not in removed]
        for raw in changes.get("upsert") or ():
            if not isinstance(raw, dict):
                issues.append(CatalogIssue(str(meta_file), None, "changes.upsert", "each entry must be a mapping"))
                continue
            pos = next((i for i, (_, r) in enumerate(records) if r.get("id") == raw.get("id")), None)
            if pos is None:
                records.append((str(meta_file), raw))
            else:
                records[pos] = (str(meta_file), raw)
        meta = merged_meta
    else:
        folder = root / str(meta.get("records", "catalog"))
        files = sorted(folder.glob("*.yaml"))
        if not files:
            issues.append(CatalogIssue(str(folder), None, None, "no record files (*.yaml)"))
        for path in files:
            data = _read_yaml(path)
            name = str(path)
            if not isinstance(data, dict) or not isinstance(data.get("regulations"), list):
                issues.append(CatalogIssue(
                    name, None, "regulations",
                    "the file must be a mapping with one key 'regulations' holding a list"))
                continue
            for i, raw in enumerate(data["regulations"]):
                if not isinstance(raw, dict):
                    issues.append(CatalogIssue(name, f"#{i}", None, "a record must be a mapping"))
                    continue
                records.append((name, raw))
    return _RawCatalog(meta=meta, records=tuple(records), issues=tuple(issues), root=root)


def _vocabulary(meta: Mapping[str, Any]) -> Vocabulary:
    v = meta.get("vocabulary") or {}
    return Vocabulary(**{k: frozenset(_tuple(v.get(k))) for k in (
        "jurisdictions", "markets", "identifier_types", "instrument_types", "statuses",
        "categories", "features",
    )})


def _rules(meta: Mapping[str, Any]) -> ApplicabilityRules:
    a = meta.get("applicability") or {}
    return ApplicabilityRules(
        manufacturer_category=str(a.get("manufacturer_category") or "quality_management_system"),
        implied_categories={str(k): _tuple(v) for k, v in (a.get("implied_categories") or {}).items()},
        implied_features={str(k): _tuple(v) for k, v in (a.get("implied_features") or {}).items()},
        substance_list_feature=a.get("substance_list_feature"),
        substance_list_records=_tuple(a.get("substance_list_records") or ()),
    )


# ---------------------------------------------------------------- validation


def _record_issues(file: str, raw: Mapping[str, Any], vocab: Vocabulary) -> list[CatalogIssue]:
    rid = str(raw.get("id")) if raw.get("id") is not None else None
    out: list[CatalogIssue] = []

    def bad(field_name: str, message: str) -> None:
        out.append(CatalogIssue(file, rid, field_name, message))

    if not rid or not _ID.match(rid):
        bad("id", f"must match [a-z0-9-]+, got {raw.get('id')!r}")
    for key in ("identifier", "identifier_type", "jurisdiction", "instrument_type", "status"):
        if not raw.get(key):
            bad(key, "is required")
    itype, ident, juris = raw.get("identifier_type"), str(raw.get("identifier") or ""), raw.get("jurisdiction")
    if itype and itype not in vocab.identifier_types:
        bad("identifier_type", f"unknown identifier type {itype!r}")
    pattern = IDENTIFIER_PATTERNS.get((str(itype), str(juris))) or IDENTIFIER_PATTERNS.get((str(itype), None))
    if ident and pattern is not None and not pattern.match(ident):
        bad("identifier", f"{ident!r} is not a well-formed {itype} identifier for {juris} "
                          f"(expected /{pattern.pattern}/)")
    if ident and ident != ident.strip():
        bad("identifier", "has leading or trailing spaces")
    title = raw.get("title")
    if not isinstance(title, dict) or not title.get("en"):
        bad("title.en", "an English title is required")
    if juris and juris not in vocab.jurisdictions:
        bad("jurisdiction", f"unknown jurisdiction {juris!r}")
    markets = _tuple(raw.get("markets"))
    if not markets:
        bad("markets", "at least one market (or GLOBAL) is required")
    for m in markets:
        if m not in vocab.markets:
            bad("markets", f"unknown market {m!r}")
    if raw.get("instrument_type") and raw["instrument_type"] not in vocab.instrument_types:
        bad("instrument_type", f"unknown instrument type {raw['instrument_type']!r}")
    if raw.get("status") and raw["status"] not in vocab.statuses:
        bad("status", f"unknown status {raw['status']!r}")
    dates = raw.get("dates") or {}
    if not isinstance(dates, dict):
        bad("dates", "must be a mapping")
        dates = {}
    for k, v in dates.items():
        if k not in _DATE_KEYS:
            bad(f"dates.{k}", f"unknown date key; expected one of {', '.join(_DATE_KEYS)}")
        elif v is not None and not isinstance(v, dt.date):
            try:
                dt.date.fromisoformat(str(v))
            except ValueError:
                bad(f"dates.{k}", f"not an ISO date: {v!r}")
    if raw.get("status") == "adopted_not_yet_applicable" and not dates.get("application"):
        bad("dates.application", "a record adopted but not yet applicable needs its date of application")
    scope = raw.get("scope") or {}
    cats = _tuple(scope.get("categories"))
    if not cats:
        bad("scope.categories", "at least one category is required")
    for c in cats:
        if c not in vocab.categories:
            bad("scope.categories", f"{c!r} is not in the category vocabulary")
    for f in _tuple(scope.get("features")):
        if f not in vocab.features:
            bad("scope.features", f"{f!r} is not in the feature vocabulary")
    url = str(raw.get("source_url") or "")
    if not _URL.match(url):
        bad("source_url", f"an http(s) source URL is required, got {url!r}")
    if not isinstance(raw.get("verified"), bool):
        bad("verified", "must be true or false")
    for i, lim in enumerate(raw.get("limits") or ()):
        if not isinstance(lim, dict):
            bad(f"limits[{i}]", "must be a mapping")
            continue
        try:
            value = Decimal(str(lim.get("max_percent_w_w")))
            if not Decimal(0) < value <= Decimal(100):
                bad(f"limits[{i}].max_percent_w_w", f"must be in (0, 100], got {value}")
        except InvalidOperation:
            bad(f"limits[{i}].max_percent_w_w", f"not a number: {lim.get('max_percent_w_w')!r}")
        if lim.get("cas") and not _CAS.match(str(lim["cas"]).strip()):
            bad(f"limits[{i}].cas", f"not a CAS number: {lim['cas']!r}")
        lscope = lim.get("scope")
        if lscope is not None:
            if not isinstance(lscope, dict):
                bad(f"limits[{i}].scope", "must be a mapping")
                continue
            for f in _tuple(lscope.get("features")):
                if f not in vocab.features:
                    bad(f"limits[{i}].scope.features", f"{f!r} is not in the feature vocabulary")
            for c in _tuple(lscope.get("excluded_categories")):
                if c not in vocab.categories:
                    bad(f"limits[{i}].scope.excluded_categories", f"{c!r} is not in the category vocabulary")
            if lscope.get("material_pattern") is not None:
                try:
                    re.compile(str(lscope["material_pattern"]))
                except re.error as exc:
                    bad(f"limits[{i}].scope.material_pattern", f"not a regular expression: {exc}")
    for i, sub in enumerate(raw.get("substances") or ()):
        if not isinstance(sub, dict):
            bad(f"substances[{i}]", "must be a mapping")
            continue
        for cas in str(sub.get("cas") or "").split(";"):
            if cas.strip() and not _CAS.match(cas.strip()):
                bad(f"substances[{i}].cas", f"not a CAS number: {cas.strip()!r}")
    return out


def _link_issues(records: list[Regulation], vocab: Vocabulary) -> list[CatalogIssue]:
    by_id = {r.id: r for r in records}
    out: list[CatalogIssue] = []
    for r in records:
        for name, targets in (("amends", r.amends), ("repeals", r.repeals),
                              ("superseded_by", (r.superseded_by,) if r.superseded_by else ())):
            for t in targets:
                if t not in by_id:
                    out.append(CatalogIssue(r.file, r.id, name, f"refers to {t!r}, which is not in the catalog"))
                elif t == r.id:
                    out.append(CatalogIssue(r.file, r.id, name, "refers to the record itself"))
        for t in r.repeals:
            old = by_id.get(t)
            if old is not None and old.superseded_by not in (None, r.id):
                out.append(CatalogIssue(old.file, old.id, "superseded_by",
                                        f"is repealed by {r.id!r} but names {old.superseded_by!r} as successor"))
        if r.status == "repealed":
            out.extend(_successor_issues(r, by_id))
    return out


def _successor_issues(r: Regulation, by_id: Mapping[str, Regulation]) -> list[CatalogIssue]:
    """A repealed record must lead, through ``superseded_by``, to a live successor whose
    markets and categories cover the repealed one's, so no product loses coverage."""
    out: list[CatalogIssue] = []
    if not r.superseded_by:
        return [CatalogIssue(r.file, r.id, "superseded_by",
                             "a repealed record needs its successor (superseded_by), "
                             "or applicability would silently end")]
    seen = {r.id}
    cur = by_id.get(r.superseded_by)
    while cur is not None and cur.status == "repealed" and cur.superseded_by and cur.id not in seen:
        seen.add(cur.id)
        cur = by_id.get(cur.superseded_by)
    if cur is None:
        return out  # reported as a dangling link
    if cur.status == "repealed":
        return [CatalogIssue(r.file, r.id, "superseded_by", f"successor chain ends in repealed {cur.id!r}")]
    if "GLOBAL" not in cur.markets and not set(r.markets) <= set(cur.markets):
        out.append(CatalogIssue(r.file, r.id, "superseded_by",
                                f"successor {cur.id!r} does not cover markets "
                                f"{sorted(set(r.markets) - set(cur.markets))}"))
    missing = set(r.categories) - set(cur.categories) - {"article"}
    if missing and "article" not in cur.categories:
        out.append(CatalogIssue(r.file, r.id, "superseded_by",
                                f"successor {cur.id!r} does not cover categories {sorted(missing)}"))
    return out


def _assemble(raw: _RawCatalog) -> tuple[Catalog, list[CatalogIssue]]:
    vocab = _vocabulary(raw.meta)
    issues = list(raw.issues)
    seen: dict[str, str] = {}
    records: list[Regulation] = []
    for file, r in raw.records:
        rec_issues = _record_issues(file, r, vocab)
        issues.extend(rec_issues)
        rid = str(r.get("id"))
        if rid in seen:
            issues.append(CatalogIssue(file, rid, "id", f"duplicate id (first in {seen[rid]})"))
            continue
        seen[rid] = file
        if any(i.field == "id" for i in rec_issues):
            continue
        try:
            records.append(_record(r, file))
        except (ValueError, TypeError, InvalidOperation) as exc:
            issues.append(CatalogIssue(file, rid, None, f"cannot be read: {exc}"))
    issues.extend(_link_issues(records, vocab))
    expected = raw.meta.get("expected_count")
    catalog = Catalog(
        version=str(raw.meta["version"]),
        released=_date(raw.meta.get("released")),
        records=tuple(records),
        vocabulary=vocab,
        rules=_rules(raw.meta),
        root=str(raw.root),
        expected_count=int(expected) if expected is not None else None,
        base=raw.meta.get("base"),
    )
    if catalog.expected_count is not None and len(records) != catalog.expected_count:
        issues.append(CatalogIssue(str(raw.root / "catalog.yaml"), None, "expected_count",
                                   f"the catalog holds {len(records)} records, expected {catalog.expected_count}"))
    return catalog, issues


def validate_catalog(root: Path | str | None = None, *, search: Iterable[Path] = ()) -> ValidationReport:
    """Check every record of the catalog at ``root`` (default: the package catalog).

    Checks: the record count, unique ids, identifiers well-formed for their type and
    jurisdiction (:data:`IDENTIFIER_PATTERNS`), an http(s) source URL on every record,
    the controlled vocabulary, that every referenced id exists, and that no repealed
    record is left without a live successor covering its markets and categories.
    """
    raw = _read_raw(Path(root) if root else CATALOG_ROOT, tuple(Path(s) for s in search))
    catalog, issues = _assemble(raw)
    return ValidationReport(catalog.version, len(catalog), catalog.expected_count, tuple(issues))


def load_catalog(
    root: Path | str | None = None, *, strict: bool = True, search: Iterable[Path] = ()
) -> Catalog:
    """Load the catalog at ``root`` (default: the package catalog).

    With ``strict`` (the default) any validation issue raises :class:`ValidationError`
    whose message lists every issue (file, record id, field); without it, records
    that could be read are returned and issues are left to :func:`validate_catalog`.
    """
    raw = _read_raw(Path(root) if root else CATALOG_ROOT, tuple(Path(s) for s in search))
    catalog, issues = _assemble(raw)
    if strict and issues:
        first = issues[0]
        raise ValidationError(
            f"catalog {catalog.version}: {len(issues)} problem(s):\n" + "\n".join(str(i) for i in issues),
            file=first.file, record=first.record, field=first.field,
        )
    return catalog


def load_version(version: str, *, search: Iterable[Path] = (), strict: bool = False) -> Catalog:
    """Load catalog ``version`` found by :func:`find_version`."""
    search = tuple(Path(s) for s in search)
    return load_catalog(find_version(version, search=search), strict=strict, search=search)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The package catalog, loaded once (not strict: the count check must not stop a server)."""
    return load_catalog(strict=False)


# ---------------------------------------------------------------- RDF


_IN_FORCE = ELI["InForce-inForce"]
_NOT_IN_FORCE = ELI["InForce-notInForce"]


def catalog_graph(catalog: Catalog) -> Graph:
    """The catalog as RDF aligned with ELI (one ``q:Regulation`` per record)."""
    g = Graph()
    g.bind("eli", ELI)
    g.bind("q", str(Q))
    add = g.add
    for r in catalog.records:
        s = r.iri
        add((s, RDF.type, Q.Regulation))
        add((s, RDF.type, ELI.LegalResource))
        add((s, ELI.id_local, Literal(r.id)))
        add((s, Q.identifier, Literal(r.identifier)))
        add((s, Q.code, Literal(r.id)))
        add((s, Q.instrumentType, Literal(r.instrument_type)))
        add((s, DCTERMS.coverage, Literal(r.jurisdiction)))
        for t in r.titles:
            add((s, ELI.title, Literal(t.text, lang=t.lang)))
        if r.short_name:
            add((s, ELI.title_short, Literal(r.short_name)))
        d = r.dates
        for prop, value in (
            (ELI.date_document, d.adopted), (ELI.first_date_entry_in_force, d.entry_into_force),
            (ELI.date_applicability, d.application), (ELI.date_no_longer_in_force, d.repealed),
        ):
            if value is not None:
                add((s, prop, Literal(value, datatype=XSD.date)))
        add((s, ELI.in_force, _NOT_IN_FORCE if r.status == "repealed" else _IN_FORCE))
        for m in r.markets:
            add((s, Q.market, mint("market", m)))
        for c in r.categories:
            add((s, ELI.is_about, mint("category", c)))
        for f in r.features:
            add((s, ELI.is_about, mint("category", "feature", f)))
        for amended in r.amends:
            add((s, ELI.amends, mint("regulation", amended)))
        for repealed in r.repeals:
            add((s, ELI.repeals, mint("regulation", repealed)))
        if r.superseded_by:
            add((s, DCTERMS.isReplacedBy, mint("regulation", r.superseded_by)))
        for mk in r.markings:
            add((s, Q.marking, Literal(mk)))
        add((s, DCTERMS.source, URIRef(r.source_url)))
    return g


def load_into_store(store: GraphStore, catalog: Catalog | None = None, *, agent: str) -> LoadResult:
    """Load the catalog's RDF into ``store`` as one batch (source ``catalog:<version>``);
    reloading the same version is a no-op, a new version replaces the old batch."""
    catalog = catalog or default_catalog()
    graph = catalog_graph(catalog)
    data = graph.serialize(format="nt", encoding="utf-8")
    digest = hashlib.sha256(b"".join(sorted(data.splitlines()))).hexdigest()
    return store.load_triples(iter(graph), source="qualitas:regulation-catalog", sha256=digest,
                              agent=agent, format="nt")

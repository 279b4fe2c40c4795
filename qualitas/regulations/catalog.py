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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
DATE_KEYS = ("adopted", "entry_into_force", "application", "end_of_transition", "repealed")
_DATE_KEYS = DATE_KEYS
#: The fields a ``verified_fields`` list may name (catalog/README.md, "Verification").
VERIFIABLE_FIELDS = frozenset({
    "identifier", "title", "jurisdiction", "instrument_type", "markets", "scope",
    "amends", "repeals", "superseded_by", "limits", "exemptions", "substances",
    "article_dates", *(f"dates.{k}" for k in DATE_KEYS),
})
#: A page with no path beyond a language code or an index file is a homepage.
_HOME_PATH = re.compile(
    r"^/?((?:[a-z]{2}(?:[-_][a-z]{2})?/?)?(?:(?:index|home|homepage|default|main)\.(?:html?|aspx?|php|jsp))?)?$",
    re.IGNORECASE,
)
#: Portals whose path names a search or a listing, not a document.
_PORTAL_PATHS = {
    "openstd.samr.gov.cn": ("/bzgk/gb/", "/bzgk/gb"),
}

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

    def status_on(self, on: dt.date) -> str:
        """``repealed`` once the repeal date is reached; ``adopted_not_yet_applicable``
        before the day obligations start; ``in_force`` otherwise."""
        if self.repealed is not None and self.repealed <= on:
            return "repealed"
        start = self.applies_from
        if start is not None and start > on:
            return "adopted_not_yet_applicable"
        return "in_force"

    def items(self) -> Iterator[tuple[str, dt.date]]:
        """The dates that are set, as ``(key, date)`` in :data:`DATE_KEYS` order."""
        for key in DATE_KEYS:
            value = getattr(self, key)
            if value is not None:
                yield key, value


@dataclass(frozen=True)
class ArticleDates:
    """Dates that hold for some articles only, where they differ from the record's own
    (MDR Art. 120 transition periods, CPR 305/2011 provisions kept by Art. 94 of
    Regulation (EU) 2024/3110); ``source`` is the page stating them."""

    articles: str
    dates: Dates
    source: str | None = None
    note: str | None = None


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
    #: Dates holding for some articles only (``article_dates:``).
    article_dates: tuple[ArticleDates, ...] = ()
    #: The page stating each date, by date key (``date_sources:``); a date not listed
    #: is stated by ``source_url``.
    date_sources: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    #: The fields checked on ``source_url`` when ``verified`` (``verified_fields:``).
    verified_fields: tuple[str, ...] = ()
    #: A standard's citation data (edition, OJ reference or FDA recognition, the date
    #: presumption of conformity ends), as the record's ``standard:`` mapping holds it.
    standard: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: The act's official citation per language where the identifier alone is not how the
    #: act is cited (``citation:``): a Chinese order cited by its issuing body and number
    #: in Chinese, or a text cited with the amendment that gives its current wording.
    citations: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def status_on(self, on: dt.date) -> str:
        """The record's status on ``on``, derived from its dates (:meth:`Dates.status_on`)."""
        return self.dates.status_on(on)

    @property
    def status(self) -> str:
        """The status today; use :meth:`status_on` for any other date."""
        return self.status_on(dt.date.today())

    def date_source(self, key: str) -> str:
        """The page stating date ``key`` (``date_sources``, else ``source_url``)."""
        return self.date_sources.get(key) or self.source_url

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
        dates=_dates(dates),
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
        article_dates=tuple(
            ArticleDates(
                articles=str(x.get("articles") or ""), dates=_dates(x),
                source=None if x.get("source") is None else str(x["source"]),
                note=None if x.get("note") is None else str(x["note"]),
            )
            for x in raw.get("article_dates") or () if isinstance(x, dict)
        ),
        date_sources={str(k): str(v) for k, v in (raw.get("date_sources") or {}).items()},
        verified_fields=_tuple(raw.get("verified_fields")),
        standard=dict(raw.get("standard") or {}),
        citations={str(k): str(v) for k, v in (raw.get("citation") or {}).items() if v},
    )


def _dates(raw: Mapping[str, Any]) -> Dates:
    return Dates(**{k: _date(raw.get(k)) for k in DATE_KEYS})


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


def is_homepage(url: str) -> bool:
    """True when ``url`` names a site, not a document: no path beyond a language code or
    an index file (``https://www.cnca.gov.cn/``, ``https://eur-lex.europa.eu/homepage.html``,
    ``https://example.org/en/``), or a known search portal's bare listing path."""
    parts = urlsplit(url)
    if parts.query and parts.path not in ("", "/"):
        return False
    if _HOME_PATH.match(parts.path) and not parts.query:
        return True
    return parts.path in _PORTAL_PATHS.get(parts.netloc.lower(), ()) and not parts.query


def _date_issues(raw: Mapping[str, Any], prefix: str, bad: Callable[[str, str], None]) -> None:
    for k, v in raw.items():
        if k not in DATE_KEYS:
            if prefix == "dates":
                bad(f"{prefix}.{k}", f"unknown date key; expected one of {', '.join(DATE_KEYS)}")
        elif v is not None and not isinstance(v, dt.date):
            try:
                dt.date.fromisoformat(str(v))
            except ValueError:
                bad(f"{prefix}.{k}", f"not an ISO date: {v!r}")


_ARTICLE_KEYS = frozenset({"articles", "source", "note", *DATE_KEYS})


def _article_date_issues(items: Any, bad: Callable[[str, str], None]) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        bad("article_dates", "must be a list")
        return
    for i, item in enumerate(items):
        where = f"article_dates[{i}]"
        if not isinstance(item, dict):
            bad(where, "must be a mapping")
            continue
        if not item.get("articles"):
            bad(f"{where}.articles", "name the articles these dates hold for")
        for k in sorted(set(item) - _ARTICLE_KEYS):
            bad(f"{where}.{k}", f"unknown key; expected articles, source, note or one of {', '.join(DATE_KEYS)}")
        if not any(item.get(k) for k in DATE_KEYS):
            bad(where, "gives no date")
        _date_issues(item, where, bad)
        if item.get("source") is not None and not _URL.match(str(item["source"])):
            bad(f"{where}.source", f"an http(s) URL is required, got {item['source']!r}")


#: Words in a verification note that say the fact was not read on a source.
_UNCHECKED = re.compile(r"from memory|copied from an? example|as in catalog README example|not re-?checked",
                        re.IGNORECASE)


def _verified_issues(raw: Mapping[str, Any], url: str, dates: Mapping[str, Any],
                     bad: Callable[[str, str], None]) -> None:
    """``verified: true`` means the page at ``source_url`` states the fields named in
    ``verified_fields`` (catalog/README.md, "Verification")."""
    if url and is_homepage(url):
        bad("source_url", f"a verified record must cite the page stating its facts, not a homepage ({url})")
    note = str(raw.get("verification_note") or "").strip()
    if not note:
        bad("verification_note", "a verified record needs a note saying where its facts were read")
    elif _UNCHECKED.search(note):
        bad("verification_note", "says some facts were not read on a source; set verified: false or re-check")
    fields = _tuple(raw.get("verified_fields"))
    if not fields:
        bad("verified_fields", "a verified record must name the fields checked on its source "
                               "(e.g. [identifier, title, dates.adopted])")
    for f in fields:
        if f not in VERIFIABLE_FIELDS:
            bad("verified_fields", f"{f!r} is not a checkable field ({', '.join(sorted(VERIFIABLE_FIELDS))})")
        elif f.startswith("dates.") and not dates.get(f.split(".", 1)[1]):
            bad("verified_fields", f"names {f} but the record has no such date")


def _record_issues(file: str, raw: Mapping[str, Any], vocab: Vocabulary) -> list[CatalogIssue]:
    rid = str(raw.get("id")) if raw.get("id") is not None else None
    out: list[CatalogIssue] = []

    def bad(field_name: str, message: str) -> None:
        out.append(CatalogIssue(file, rid, field_name, message))

    if not rid or not _ID.match(rid):
        bad("id", f"must match [a-z0-9-]+, got {raw.get('id')!r}")
    for key in ("identifier", "identifier_type", "jurisdiction", "instrument_type"):
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
    citation = raw.get("citation")
    if citation is not None and (not isinstance(citation, dict)
                                 or not all(isinstance(v, str) and v.strip() for v in citation.values())):
        bad("citation", "must map a language code to the act's official citation in that language")
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
    _date_issues(dates, "dates", bad)
    if raw.get("status") == "repealed" and not dates.get("repealed"):
        bad("dates.repealed", "a repealed record needs its repeal date (status is derived from the dates)")
    _article_date_issues(raw.get("article_dates"), bad)
    sources = raw.get("date_sources")
    if sources is not None:
        if not isinstance(sources, dict):
            bad("date_sources", "must be a mapping from a date key to the URL stating it")
        else:
            for k, v in sources.items():
                if k not in DATE_KEYS:
                    bad(f"date_sources.{k}", f"unknown date key; expected one of {', '.join(DATE_KEYS)}")
                elif not _URL.match(str(v or "")):
                    bad(f"date_sources.{k}", f"an http(s) URL is required, got {v!r}")
                elif not dates.get(k):
                    bad(f"date_sources.{k}", "cites a source for a date the record does not have")
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
    if raw.get("verified") is True:
        _verified_issues(raw, url, dates, bad)
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
        if r.dates.repealed is not None or r.superseded_by:
            out.extend(_successor_issues(r, by_id))
    repealed_by = {t: r.id for r in records for t in r.repeals}
    for r in records:
        if r.dates.repealed is None and (r.superseded_by or r.id in repealed_by):
            why = f"superseded by {r.superseded_by!r}" if r.superseded_by else f"repealed by {repealed_by[r.id]!r}"
            out.append(CatalogIssue(r.file, r.id, "dates.repealed",
                                    f"is {why} but has no repeal date, so its status cannot be derived"))
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
    while cur is not None and cur.dates.repealed is not None and cur.superseded_by and cur.id not in seen:
        seen.add(cur.id)
        cur = by_id.get(cur.superseded_by)
    if cur is None:
        return out  # reported as a dangling link
    if cur.dates.repealed is not None and cur.id != r.id:
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
    released = _date(raw.meta.get("released"))
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
            rec = _record(r, file)
        except (ValueError, TypeError, InvalidOperation) as exc:
            issues.append(CatalogIssue(file, rid, None, f"cannot be read: {exc}"))
            continue
        records.append(rec)
        stored = r.get("status")
        if stored and stored in vocab.statuses and not rec_issues:
            # A leftover stored status is only a cross-check of the dates, on the release date.
            on = released or dt.date.today()
            if stored != rec.status_on(on):
                issues.append(CatalogIssue(file, rid, "status",
                                           f"stored status {stored!r} contradicts the dates "
                                           f"({rec.status_on(on)!r} on {on}); drop the key"))
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
    """The catalog as RDF aligned with ELI (one ``q:Regulation`` per record); ``eli:in_force``
    is the status on the catalog's release date, so the graph does not change with the clock."""
    on = catalog.released or dt.date.today()
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
        add((s, ELI.in_force, _NOT_IN_FORCE if r.status_on(on) == "repealed" else _IN_FORCE))
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


# ---------------------------------------------------------------- dates over time


@dataclass(frozen=True)
class DateChange:
    """One date in the catalog on which something starts or stops applying: a record's
    application, entry into force, end of transition or repeal, or one of its
    ``article_dates``; ``status_before`` / ``status_after`` are the record's status the
    day before and on that date."""

    on: dt.date
    regulation_id: str
    identifier: str
    kind: str  # a key of DATE_KEYS
    articles: str | None
    status_before: str
    status_after: str
    source: str
    note: str | None = None


def date_changes(catalog: Catalog, start: dt.date, end: dt.date) -> tuple[DateChange, ...]:
    """Every dated change with ``start <= date <= end``, in date order. Adoption dates
    are left out: nothing starts to apply on the day an act is adopted."""
    out: list[DateChange] = []
    for r in catalog.records:
        entries: list[tuple[str, dt.date, str | None, str, str | None]] = [
            (k, d, None, r.date_source(k), None) for k, d in r.dates.items()
        ]
        for a in r.article_dates:
            entries += [(k, d, a.articles, a.source or r.source_url, a.note) for k, d in a.dates.items()]
        for kind, on, articles, source, note in entries:
            if kind == "adopted" or not start <= on <= end:
                continue
            out.append(DateChange(
                on=on, regulation_id=r.id, identifier=r.identifier, kind=kind, articles=articles,
                status_before=r.status_on(on - dt.timedelta(days=1)), status_after=r.status_on(on),
                source=source, note=note,
            ))
    return tuple(sorted(out, key=lambda c: (c.on, c.regulation_id, c.kind, c.articles or "")))

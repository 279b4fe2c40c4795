"""The legal route of a product in a market on a date, and the reasons for it.

Applicability (``applicability.py``) says which catalog records match a product. A
reviewer asks more: *which* of them provide for a declaration of conformity and a
conformity marking, which are obligations only, which are excluded by their own scope
articles, and so which documents the market expects. That reading is data
(``routes.yaml``: each act's role, its declaration model and its exclusions, each with
its article) and this module applies it:

* :func:`exclusions` takes acts off a product where the act's own scope article says so
  (EMC Directive Art. 2(2)(a) for radio equipment, RoHS Art. 2(4)(f) for vehicles ...);
  applicability calls it, so gap reports never check an excluded act.
* :func:`decide_route` picks the market route (EU: vehicle type-approval, CE marking,
  vehicle part, obligations only; US: 510(k) or obligations; CN: CCC, electrical and
  electronic products, obligations; VN: labelling) and the documents it calls for.

A declaration names only the acts of role ``declaration`` that apply, with their
supplements (Decision 768/2008/EC Annex III item 5; Art. R10(3): one declaration for
all acts); obligations (REACH Art. 33, SCIP, WEEE, PLD, GPSR, MSR ...) go to the
compliance matrix and the technical file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from qualitas.errors import ValidationError

ROUTES_FILE = Path(__file__).parent / "routes.yaml"

Role = Literal["declaration", "supplement", "type_approval", "obligation", "framework"]
ROLES: tuple[str, ...] = ("declaration", "supplement", "type_approval", "obligation", "framework")


def _texts(raw: Any) -> Mapping[str, str]:
    if isinstance(raw, str):
        return MappingProxyType({"en": raw})
    return MappingProxyType({str(k): str(v) for k, v in (raw or {}).items()})


def _strs(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(str(x) for x in raw)


@dataclass(frozen=True)
class ScopeRule:
    """A condition on the product: one of ``categories`` (if any), all ``features``,
    none of ``unless_features`` / ``unless_categories``, and one of ``applies`` applying."""

    categories: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    unless_features: tuple[str, ...] = ()
    unless_categories: tuple[str, ...] = ()
    applies: tuple[str, ...] = ()

    def holds(self, categories: Iterable[str], features: Iterable[str], applicable: Iterable[str]) -> bool:
        cats, feats, acts = set(categories), set(features), set(applicable)
        return (
            (not self.categories or bool(cats & set(self.categories)))
            and set(self.features) <= feats
            and not (feats & set(self.unless_features))
            and not (cats & set(self.unless_categories))
            and (not self.applies or bool(acts & set(self.applies)))
        )


def _rule(raw: Mapping[str, Any]) -> ScopeRule:
    return ScopeRule(categories=_strs(raw.get("categories")), features=_strs(raw.get("features")),
                     unless_features=_strs(raw.get("unless_features")),
                     unless_categories=_strs(raw.get("unless_categories")), applies=_strs(raw.get("applies")))


class Based:
    """A legal basis stated per language (``basis:`` a string in English, or a mapping
    ``{en: …, de: …}``); :attr:`basis` is the English text."""

    bases: Mapping[str, str]

    @property
    def basis(self) -> str:
        return self.bases.get("en", "")

    def basis_in(self, lang: str) -> str:
        """The basis in ``lang``; "" when routes.yaml does not state it in that language."""
        return self.bases.get(lang, "")


@dataclass(frozen=True)
class NotWhen(Based):
    """An act's own exclusion: when ``rule`` holds the act does not apply (``basis``)."""

    rule: ScopeRule
    bases: Mapping[str, str]
    reason: Mapping[str, str]


@dataclass(frozen=True)
class ActRole(Based):
    id: str
    role: Role
    form: str | None
    bases: Mapping[str, str]
    part_of: str | None
    not_when: tuple[NotWhen, ...]


@dataclass(frozen=True)
class MarketRoute(Based):
    route: str
    rule: ScopeRule
    needs: str | None
    ccc_catalogue: bool
    bases: Mapping[str, str]
    documents: tuple[str, ...]
    reason: Mapping[str, str]


@dataclass(frozen=True)
class CccEntry:
    rule: ScopeRule
    item: str


@dataclass(frozen=True)
class DeclarationForm:
    id: str
    basis_text: Mapping[str, str]
    title: Mapping[str, str]

    @property
    def basis(self) -> str:
        return self.basis_text.get("en", "")

    def basis_in(self, lang: str) -> str:
        return self.basis_text.get(lang) or self.basis


@dataclass(frozen=True)
class Routes:
    acts: Mapping[str, ActRole]
    forms: Mapping[str, DeclarationForm]
    form_precedence: tuple[str, ...]
    markets: Mapping[str, tuple[MarketRoute, ...]]
    ccc_catalogue: tuple[CccEntry, ...]
    framework_reason: Mapping[str, str] = field(default_factory=dict)

    def role(self, regulation_id: str) -> ActRole | None:
        return self.acts.get(regulation_id)


@lru_cache(maxsize=4)
def load_routes(path: Path = ROUTES_FILE) -> Routes:
    """Read ``routes.yaml``; an unknown role, form or market route is an error naming the act."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    forms = {k: DeclarationForm(k, _texts(v.get("basis")), _texts(v.get("title"))) for k, v in
             (raw.get("forms") or {}).items()}
    acts: dict[str, ActRole] = {}
    for rid, a in (raw.get("acts") or {}).items():
        role = str(a.get("role"))
        if role not in ROLES:
            raise ValidationError(f"{path}: act {rid}: unknown role {role!r}", file=str(path), record=rid, field="role")
        form = a.get("form")
        if form is not None and form not in forms:
            raise ValidationError(f"{path}: act {rid}: unknown form {form!r}", file=str(path), record=rid, field="form")
        if role == "declaration" and form is None:
            raise ValidationError(f"{path}: act {rid}: a declaration act needs its form", file=str(path), record=rid,
                                  field="form")
        acts[str(rid)] = ActRole(
            id=str(rid), role=role, form=form, bases=_texts(a.get("basis")),  # type: ignore[arg-type]
            part_of=a.get("part_of"),
            not_when=tuple(NotWhen(_rule(n), _texts(n.get("basis")), _texts(n.get("reason")))
                           for n in a.get("not_when") or ()),
        )
    markets = {
        str(m): tuple(MarketRoute(route=str(r["route"]), rule=_rule(r), needs=r.get("needs"),
                                  ccc_catalogue=bool(r.get("ccc_catalogue")), bases=_texts(r.get("basis")),
                                  documents=_strs(r.get("documents")), reason=_texts(r.get("reason")))
                      for r in routes)
        for m, routes in (raw.get("markets") or {}).items()
    }
    ccc = tuple(CccEntry(_rule(e), str(e["item"])) for e in raw.get("ccc_catalogue") or ())
    return Routes(acts=MappingProxyType(acts), forms=MappingProxyType(forms),
                  form_precedence=_strs(raw.get("form_precedence")), markets=MappingProxyType(markets),
                  ccc_catalogue=ccc, framework_reason=_texts(raw.get("framework_reason")))


# ---------------------------------------------------------------- exclusions


@dataclass(frozen=True)
class Exclusion(Based):
    """An act that matched the product's profile but whose own scope article excludes it."""

    regulation_id: str
    bases: Mapping[str, str]
    reason: Mapping[str, str]

    def reason_in(self, lang: str) -> str:
        return self.reason.get(lang) or ""


def exclusions(
    matched: Iterable[str], categories: Iterable[str], features: Iterable[str], *, routes: Routes | None = None
) -> dict[str, Exclusion]:
    """The acts of ``matched`` that their own exclusion rules take off this product.

    ``applies`` rules look at the acts that remain applicable, so an exclusion by
    another act (LVD for radio equipment) holds only while that act itself applies.
    """
    routes = routes or load_routes()
    cats, feats = set(categories), set(features)
    ids = set(matched)
    out: dict[str, Exclusion] = {}
    for rid in sorted(ids):
        act = routes.role(rid)
        if act is not None and act.role == "framework":
            out[rid] = Exclusion(rid, act.bases, routes.framework_reason)
    changed = True
    while changed:
        changed = False
        live = ids - set(out)
        for rid in sorted(live):
            act = routes.role(rid)
            if act is None:
                continue
            for nw in act.not_when:
                if nw.rule.holds(cats, feats, live - {rid}):
                    out[rid] = Exclusion(rid, nw.bases, nw.reason)
                    changed = True
                    break
    return out


# ---------------------------------------------------------------- the route


@dataclass(frozen=True)
class Route(Based):
    """The legal route of one product in one market on one date."""

    market: str
    on: dt.date
    code: str
    bases: Mapping[str, str]
    reason: Mapping[str, str]
    documents: tuple[str, ...]
    declared: tuple[str, ...]  # acts named in the declaration, supplements after their parent
    form: DeclarationForm | None
    type_approval: tuple[str, ...]
    obligations: tuple[str, ...]
    framework: tuple[str, ...]
    unclassified: tuple[str, ...]  # applicable acts that routes.yaml gives no role
    excluded: tuple[Exclusion, ...]
    ccc_item: str | None = None

    def reason_in(self, lang: str) -> str:
        """The route's legal reason in ``lang`` ("" when routes.yaml has none in it)."""
        return self.reason.get(lang) or ""

    @property
    def has_declaration(self) -> bool:
        return "eu-declaration-of-conformity" in self.documents


def _ordered_declared(ids: Iterable[str], routes: Routes) -> tuple[str, ...]:
    ids = set(ids)
    parents = sorted(i for i in ids if (a := routes.role(i)) is not None and a.role == "declaration")
    out: list[str] = []
    for p in parents:
        out.append(p)
        out.extend(sorted(i for i in ids if (a := routes.role(i)) is not None and a.role == "supplement"
                          and a.part_of == p))
    return tuple(out)


def decide_route(
    market: str, on: dt.date, applicable: Iterable[str], categories: Iterable[str], features: Iterable[str],
    excluded: Iterable[Exclusion] = (), *, routes: Routes | None = None,
    act_names: Callable[[str, str], str] | None = None,
) -> Route:
    """Pick the first route of ``market`` whose conditions hold (routes.yaml ``markets:``).

    ``applicable`` are the ids applicability kept (exclusions already removed);
    ``act_names(id, lang)`` cites an act in a language: it fills the ``{acts}`` of the
    reason in each language (the id itself without it).
    """
    routes = routes or load_routes()
    market = market.upper()
    applicable = tuple(sorted(set(applicable)))
    cats, feats = set(categories), set(features)

    def with_role(*roles: str) -> tuple[str, ...]:
        return tuple(i for i in applicable if (a := routes.role(i)) is not None and a.role in roles)

    declared_roots = with_role("declaration")
    declared = _ordered_declared(
        [*declared_roots, *(i for i in with_role("supplement") if routes.acts[i].part_of in declared_roots)], routes)
    ccc_item = next((e.item for e in routes.ccc_catalogue if e.rule.holds(cats, feats, applicable)), None)
    chosen: MarketRoute | None = None
    for r in routes.markets.get(market, ()):
        if not r.rule.holds(cats, feats, applicable):
            continue
        if r.needs == "declaration" and not declared_roots:
            continue
        if r.ccc_catalogue and ccc_item is None:
            continue
        chosen = r
        break
    if chosen is None:
        raise ValidationError(f"routes.yaml: no route of market {market} holds for this product", market=market)
    form = None
    if chosen.needs == "declaration":
        forms = {routes.acts[i].form for i in declared_roots}
        form_id = next((f for f in routes.form_precedence if f in forms), None)
        form = routes.forms.get(form_id) if form_id else None
    def acts_in(lang: str) -> str:
        return ", ".join(act_names(i, lang) if act_names else i for i in declared_roots)

    reason = MappingProxyType({k: v.replace("{acts}", acts_in(k)).replace("{item}", ccc_item or "")
                               for k, v in chosen.reason.items()})
    supplements_orphaned = tuple(i for i in with_role("supplement") if i not in declared)
    return Route(
        market=market, on=on, code=chosen.route, bases=chosen.bases, reason=reason, documents=chosen.documents,
        declared=declared if chosen.needs == "declaration" else (), form=form,
        type_approval=with_role("type_approval"),
        obligations=(*with_role("obligation"), *supplements_orphaned,
                     *(() if chosen.needs == "declaration" else declared)),
        framework=with_role("framework"),
        unclassified=tuple(i for i in applicable if routes.role(i) is None),
        excluded=tuple(sorted(excluded, key=lambda e: e.regulation_id)),
        ccc_item=ccc_item if chosen.ccc_catalogue else None,
    )


__all__ = [
    "ROLES",
    "ActRole",
    "Based",
    "DeclarationForm",
    "Exclusion",
    "Route",
    "Routes",
    "ScopeRule",
    "decide_route",
    "exclusions",
    "load_routes",
]

"""The regulation catalog (data), its validation, applicability, versions and change impact.

Public surface::

    load_catalog, validate_catalog, load_version, list_versions, catalog_graph, load_into_store
    applicable_regulations, product_profile, evaluate
    diff_catalogs, catalog_impact, change_impact
    load_requirement_shapes, requirement_index, shapes_for
"""

from __future__ import annotations

from qualitas.regulations.applicability import (
    ApplicabilityReport,
    ApplicableRegulation,
    ProductProfile,
    Reason,
    applicable_regulations,
    evaluate,
    product_profile,
)
from qualitas.regulations.catalog import (
    Catalog,
    CatalogIssue,
    Regulation,
    ValidationReport,
    catalog_graph,
    default_catalog,
    find_version,
    list_versions,
    load_catalog,
    load_into_store,
    load_version,
    validate_catalog,
)
from qualitas.regulations.impact import (
    CatalogDiff,
    DeclarationRequest,
    ImpactReport,
    catalog_impact,
    change_impact,
    diff_catalogs,
    substance_triggers,
)
from qualitas.regulations.requirements import (
    RequirementShape,
    load_requirement_shapes,
    requirement_index,
    shapes_for,
)

__all__ = [
    "ApplicabilityReport", "ApplicableRegulation", "Catalog", "CatalogDiff", "CatalogIssue",
    "DeclarationRequest", "ImpactReport", "ProductProfile", "Reason", "Regulation",
    "RequirementShape", "ValidationReport", "applicable_regulations", "catalog_graph",
    "catalog_impact", "change_impact", "default_catalog", "diff_catalogs", "evaluate",
    "find_version", "list_versions", "load_catalog", "load_into_store", "load_requirement_shapes",
    "load_version", "product_profile", "requirement_index", "shapes_for", "substance_triggers",
    "validate_catalog",
]

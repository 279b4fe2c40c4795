"""``supplierPortal``: what a supplier's API key may read, and nothing more.

A key of the ``supplier`` role is bound to one supplier id when its user is created
(``qualitas users add NAME --role supplier --supplier SUP-ID``). That role may call
``whoami`` and ``supplierPortal`` only (:data:`qualitas.graphql.security.POLICY`;
every other field is refused), and ``supplierPortal`` takes no supplier argument: it
answers for the key's own supplier, from :func:`qualitas.reasoning.supplier_view`.
Its types carry no relation to any other record, so no nested field can lead to
another supplier's data, our runs or our process parameters.

Every answer is recorded in the audit trail (``supplier.shared``): who asked, with
which key, for which supplier, and each figure shared (PPM with its numerator and
denominator, complaint counts by failure mode) and how many records of each kind.
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from qualitas.errors import PermissionDeniedError, QualitasError
from qualitas.graphql._errors import graphql_error as _error
from qualitas.graphql.security import principal_of
from qualitas.reasoning.supplier_view import SupplierDocument, supplier_view


@strawberry.type(description="A part the supplier delivers.")
class SupplierPartView:
    part_number: str
    name: str | None


@strawberry.type(description="A lot the supplier delivered.")
class SupplierLotView:
    lot_number: str
    part_number: str | None
    quantity: float | None


@strawberry.type(description="A declaration (about a part) or test report (about a lot) of the supplier.")
class SupplierDocumentView:
    number: str
    about: str | None
    issued: dt.date | None
    kind: str | None


@strawberry.type(description="Complaints traced to the supplier's lots, for one failure mode.")
class FailureModeCountView:
    code: str | None
    name: str | None
    complaints: int


@strawberry.type(description="Aggregated quality figures about the supplier's deliveries.")
class SupplierFiguresView:
    delivered_parts: int
    defective_parts: int
    ppm: float | None = strawberry.field(description="defective / delivered x 10^6 (field complaints traced)")
    complaints_by_failure_mode: list[FailureModeCountView]


@strawberry.type(description="What the calling supplier may see: its own records and figures about them.")
class SupplierPortal:
    supplier_id: str
    name: str | None
    parts: list[SupplierPartView]
    lots: list[SupplierLotView]
    declarations: list[SupplierDocumentView]
    test_reports: list[SupplierDocumentView]
    figures: SupplierFiguresView


def _doc(d: SupplierDocument) -> SupplierDocumentView:
    return SupplierDocumentView(number=d.number, about=d.about, issued=d.issued, kind=d.kind)


@strawberry.type
class SupplierQuery:
    @strawberry.field(description="The calling supplier's parts, lots, declarations, test reports and figures.")
    def supplier_portal(self, info: Info) -> SupplierPortal:
        principal = principal_of(info.context)
        try:
            if principal.supplier is None:
                raise PermissionDeniedError("supplierPortal answers a supplier's key only")
            view = supplier_view(info.context["store"], principal.supplier)
        except QualitasError as exc:
            raise _error(exc) from exc
        figures = view.figures
        audit = info.context.get("audit")
        if audit is not None:
            audit.append(
                "supplier.shared",
                actor=principal.name,
                role=principal.role,
                what={
                    "supplier": view.supplier_id,
                    "key": principal.key_id,
                    "figures": {
                        "delivered_parts": figures.delivered_parts,
                        "defective_parts": figures.defective_parts,
                        "ppm": figures.ppm,
                        "complaints_by_failure_mode": {
                            (f.code or "unclassified"): f.complaints for f in figures.complaints_by_failure_mode
                        },
                    },
                    "records": {
                        "parts": len(view.parts),
                        "lots": len(view.lots),
                        "declarations": len(view.declarations),
                        "test_reports": len(view.test_reports),
                    },
                },
                why="supplier portal: a supplier read its own records and figures",
            )
        return SupplierPortal(
            supplier_id=view.supplier_id,
            name=view.name,
            parts=[SupplierPartView(part_number=p.part_number, name=p.name) for p in view.parts],
            lots=[
                SupplierLotView(
                    lot_number=lot.lot_number,
                    part_number=lot.part_number,
                    quantity=float(lot.quantity) if lot.quantity is not None else None,
                )
                for lot in view.lots
            ],
            declarations=[_doc(d) for d in view.declarations],
            test_reports=[_doc(d) for d in view.test_reports],
            figures=SupplierFiguresView(
                delivered_parts=figures.delivered_parts,
                defective_parts=figures.defective_parts,
                ppm=figures.ppm,
                complaints_by_failure_mode=[
                    FailureModeCountView(code=f.code, name=f.name, complaints=f.complaints)
                    for f in figures.complaints_by_failure_mode
                ],
            ),
        )


__all__ = ["SupplierQuery"]

"""What the surfaces (CLI, GraphQL, edge runner) call to record their writes.

Each takes ``log=None`` to mean "no trail configured here" and then does nothing, so
callers need no ``if`` of their own and unit tests without a trail are unaffected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualitas.audit._log import AuditLog, AuditRecord, state_digest
from qualitas.audit._signing import pack_facts

if TYPE_CHECKING:
    from qualitas.store import GraphStore


@dataclass
class LoadOutcome:
    """Filled in by the caller inside :func:`audited_load`: what the load returned."""

    results: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def audited_load(
    log: AuditLog | None,
    store: GraphStore,
    *,
    actor: str,
    paths: Sequence[Path] = (),
    role: str | None = None,
    format: str | None = None,
    why: str | None = None,
) -> Iterator[LoadOutcome]:
    """Record one ``load``: the files (with their sha256), formats, batch graphs and
    triple counts, and the store digest before and after. A load that fails part-way
    is recorded too (files before the failing one stay loaded), then the error goes on."""
    outcome = LoadOutcome()
    if log is None:
        yield outcome
        return
    log.ensure_writable()  # refuse before loading, not after, if the trail cannot take the record
    before = state_digest(store)
    try:
        yield outcome
    except Exception as exc:
        _append_load(
            log,
            store,
            outcome,
            actor=actor,
            role=role,
            paths=paths,
            format=format,
            why=why,
            before=before,
            error=getattr(exc, "message", None) or str(exc),
        )
        raise
    _append_load(log, store, outcome, actor=actor, role=role, paths=paths, format=format, why=why, before=before)


def _append_load(
    log: AuditLog,
    store: GraphStore,
    outcome: LoadOutcome,
    *,
    actor: str,
    role: str | None,
    paths: Sequence[Path],
    format: str | None,
    why: str | None,
    before: str,
    error: str | None = None,
) -> AuditRecord:
    batches = {b.graph: b for b in store.batches()}
    files = []
    for result in outcome.results:
        batch = batches.get(getattr(result, "graph", ""))
        files.append(
            {
                "source": result.source,
                "sha256": getattr(result, "sha256", None),
                "format": batch.format if batch else getattr(result, "format", None),
                "graph": getattr(result, "graph", None),
                "status": result.status,
                "triples": result.triples,
                "previousTriples": getattr(result, "previous_triples", None),
            }
        )
    what: dict[str, Any] = {"paths": [str(p) for p in paths], "files": files, "ok": error is None}
    if format:
        what["format"] = format
    if error is not None:
        what["error"] = error
    return log.append("load", actor=actor, role=role, what=what, why=why, before=before, after=state_digest(store))


def record_pack_generated(
    log: AuditLog | None,
    pack_zip: Path,
    *,
    actor: str,
    role: str | None = None,
    before: str | None = None,
    after: str | None = None,
    why: str | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditRecord | None:
    """Record one ``pack.generate``: pack id, product, market, status and the sha256 of
    the manifest and of the ZIP."""
    if log is None:
        return None
    what = {**pack_facts(pack_zip).as_what(), "path": str(pack_zip), **(extra or {})}
    return log.append("pack.generate", actor=actor, role=role, what=what, why=why, before=before, after=after)

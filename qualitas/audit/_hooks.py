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
from qualitas.audit._pending import Intent, begin, change_facts, committed, reconcile
from qualitas.audit._signing import pack_facts
from qualitas.errors import QualitasError, StoreError

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
    source: str,
    paths: Sequence[Path] = (),
    role: str | None = None,
    format: str | None = None,
    why: str | None = None,
    action: str = "load",
) -> Iterator[LoadOutcome]:
    """Make one change of ``source`` (a load, or with ``action="retract"`` its removal)
    and its audit record one recoverable unit (:mod:`qualitas.audit._pending`).

    The record names the file (with its sha256), format, batch graph and triple counts,
    and the store digest before and after. A load that changes nothing (the same
    content again) is not a change and gets no record; a refused one is recorded as a
    failed attempt (``ok: false``) and the error goes on. If the change committed but
    its record cannot be written (a full disk), :class:`StoreError` says so, and the
    record is written by the next :func:`reconcile`."""
    outcome = LoadOutcome()
    if log is None:
        yield outcome
        return
    reconcile(log, store)  # an earlier interrupted unit is recorded first, so the trail keeps the order
    log.ensure_writable()  # refuse before loading, not after, if the trail cannot take the record
    what: dict[str, Any] = {"paths": [str(p) for p in paths]}
    if format:
        what["format"] = format
    intent = begin(log, store, action=action, source=source, actor=actor, role=role, why=why, what=what)
    try:
        yield outcome
    except BaseException as exc:
        if committed(store, intent.data):  # cannot happen with an all-or-nothing store; never lose a record
            _complete(log, store, intent, outcome)
            raise
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        try:
            if isinstance(exc, Exception):
                files = [{"source": source, "status": "refused"}]
                log.append(
                    action,
                    actor=actor,
                    role=role,
                    what={**what, "files": files, "ok": False, "error": message},
                    why=why,
                    before=intent.data["before"],
                    after=state_digest(store),
                    id=intent.id,
                )
        except QualitasError:
            pass  # the store is unchanged; the refusal itself is the error to report
        finally:
            intent.close(remove=True)
        raise
    if not committed(store, intent.data):  # unchanged: nothing to record
        intent.close(remove=True)
        return
    _complete(log, store, intent, outcome)


def _complete(log: AuditLog, store: GraphStore, intent: Intent, outcome: LoadOutcome) -> AuditRecord:
    files = [_file_facts(store, intent, result) for result in outcome.results] or [change_facts(store, intent.data)]
    intent.release_reserve()
    try:
        record = log.append(
            str(intent.data["action"]),
            actor=str(intent.data["actor"]),
            role=intent.data.get("role"),
            what={**intent.data["what"], "files": files, "ok": True},
            why=intent.data.get("why"),
            before=intent.data["before"],
            after=state_digest(store),
            id=intent.id,
        )
    except QualitasError as exc:
        intent.close(remove=False)
        facts = files[0]
        raise StoreError(
            f"{facts['source']}: {facts['status']} ({facts['triples']} triples), but its audit record could not "
            f"be written ({exc.message}); the record is kept in {intent.path} and is written by the next load, "
            "`qualitas audit verify` or server start once the trail can take it",
            file=str(intent.path),
        ) from exc
    intent.close(remove=True)
    return record


def _file_facts(store: GraphStore, intent: Intent, result: Any) -> dict[str, Any]:
    batch = store.batch(result.source)
    if batch is not None and batch.graph != getattr(result, "graph", None):
        batch = None
    return {
        "source": result.source,
        "sha256": getattr(result, "sha256", None),
        "format": batch.format if batch else getattr(result, "format", None),
        "graph": getattr(result, "graph", None),
        "status": result.status,
        "triples": result.triples,
        "previousTriples": getattr(result, "previous_triples", None),
    }


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

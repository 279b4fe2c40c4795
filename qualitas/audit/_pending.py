"""Store changes and their audit records as one recoverable unit.

21 CFR 11.10(e) asks that the trail record every action that creates, modifies or
deletes a record. A store commit and an append to the trail are two writes to two
places, so a crash (or a full disk) between them could leave a change without its
record. Each change therefore goes through a write-ahead *intent*::

    begin: intent file (fsync, flock held) ── store commit ── trail append ── intent removed

* The intent, ``<trail directory>/pending/<record id>.json``, names the source and its
  state before the change (the current batch's sha256, or none), who, why and the
  store digest before. It is padded, so the space the record needs later is taken now:
  on a full disk the change is refused before it is made.
* While its process lives, the intent is locked (``flock``); nobody else touches it.
* :func:`reconcile` (run before every audited change, by ``qualitas audit verify`` and
  when the server starts) takes each intent whose process is gone: if the source's
  state differs from the one the intent saw, the change committed, and its record is
  appended now (with ``recovered: true``, under the id chosen beforehand, so never
  twice); otherwise nothing changed and the intent is dropped without a record.

So every committed change has exactly one record, and no record describes a change
that did not commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualitas.audit._log import AuditLog, AuditRecord, _plain, canonical, state_digest
from qualitas.errors import StoreError

if TYPE_CHECKING:
    from qualitas.store import BatchInfo, GraphStore

_FORMAT = "qualitas-audit-intent/1"
#: Bytes an intent holds in reserve for its record and the head anchor's rewrite.
RESERVE = 16 * 1024


def pending_dir(log: AuditLog) -> Path:
    return log.path.parent / "pending"


def current_batch(store: GraphStore, source: str) -> BatchInfo | None:
    return store.batch(source)


@dataclass
class Intent:
    """One change under way: its file (locked while ``fd`` is open) and what it says."""

    path: Path
    fd: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def release_reserve(self) -> None:
        """Give back the reserved space just before the record is appended."""
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, len(canonical(self.data)) + 1)

    def close(self, *, remove: bool) -> None:
        if remove:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def begin(
    log: AuditLog,
    store: GraphStore,
    *,
    action: str,
    source: str,
    actor: str,
    role: str | None,
    why: str | None,
    what: dict[str, Any],
) -> Intent:
    """Write and lock the intent for a change of ``source``; raises :class:`StoreError`
    (nothing changed) when the trail's disk cannot take it."""
    before = current_batch(store, source)
    data = {
        "format": _FORMAT,
        "id": str(uuid.uuid4()),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "pid": os.getpid(),
        "action": action,
        "source": source,
        "pre_sha256": before.sha256 if before else None,
        "pre_triples": before.triples if before else 0,
        "actor": actor,
        "role": role,
        "why": why,
        "what": _plain(what),
        "before": state_digest(store),
    }
    folder = pending_dir(log)
    path = folder / f"{data['id']}.json"
    body = canonical(data) + b"\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
    except OSError as exc:
        raise StoreError(
            f"cannot write to the audit trail's folder {folder}: {exc}; nothing was changed", file=str(folder)
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(body + b" " * RESERVE)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise StoreError(
            f"cannot write to the audit trail's folder {folder}: {exc}; nothing was changed", file=str(folder)
        ) from exc
    return Intent(path, fd, data)


def committed(store: GraphStore, data: dict[str, Any]) -> bool:
    """Whether the change an intent announced happened: the source's state moved."""
    now = current_batch(store, str(data["source"]))
    return (now.sha256 if now else None) != data.get("pre_sha256")


def change_facts(store: GraphStore, data: dict[str, Any]) -> dict[str, Any]:
    """What a change did, read from the store: for a load the batch now current, for a
    retract the batch that went."""
    now = current_batch(store, str(data["source"]))
    if now is None:
        return {
            "source": data["source"],
            "sha256": data.get("pre_sha256"),
            "status": "retracted",
            "triples": 0,
            "previousTriples": data.get("pre_triples", 0),
        }
    return {
        "source": now.source,
        "sha256": now.sha256,
        "format": now.format,
        "graph": now.graph,
        "status": "replaced" if data.get("pre_sha256") else "added",
        "triples": now.triples,
        "previousTriples": data.get("pre_triples", 0),
    }


def _recorded_ids(log: AuditLog) -> set[str]:
    return {record.id for record in log.records()}


def reconcile(log: AuditLog | None, store: GraphStore) -> list[AuditRecord]:
    """Finish the units a crash interrupted (see the module docstring); returns the
    records it appended. Intents held by a live process are left alone."""
    if log is None:
        return []
    folder = pending_dir(log)
    if not folder.is_dir():
        return []
    appended: list[AuditRecord] = []
    recorded: set[str] | None = None
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime if p.exists() else 0):
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is still at work
            try:
                data = json.loads(path.read_bytes().rstrip(b" \n").split(b"\n")[0])
            except ValueError:
                data = None
            if not isinstance(data, dict) or data.get("format") != _FORMAT:
                continue  # not ours to judge: left for a person to look at
            if committed(store, data):
                if recorded is None:
                    recorded = _recorded_ids(log)
                if str(data["id"]) not in recorded:
                    what = {**data.get("what", {}), "files": [change_facts(store, data)], "ok": True, "recovered": True}
                    appended.append(
                        log.append(
                            str(data["action"]),
                            actor=str(data["actor"]),
                            role=data.get("role"),
                            what=what,
                            why=data.get("why"),
                            before=data.get("before"),
                            after=state_digest(store),
                            id=str(data["id"]),
                        )
                    )
            path.unlink()
        finally:
            os.close(fd)
    return appended


def pending(log: AuditLog) -> Iterator[Path]:
    """The intent files waiting for :func:`reconcile`."""
    folder = pending_dir(log)
    if folder.is_dir():
        yield from sorted(folder.glob("*.json"))

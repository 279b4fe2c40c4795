"""The audit trail: an append-only, hash-chained JSON Lines log with a keyed head anchor.

21 CFR 11.10(e) asks for "secure, computer-generated, time-stamped audit trails to
independently record the date and time of operator entries and actions that create,
modify, or delete electronic records", where "record changes shall not obscure
previously recorded information"
(https://www.ecfr.gov/current/title-21/chapter-I/subchapter-A/part-11#p-11.10(e)).

Layout on disk (``<store directory's parent>/audit/`` unless ``QUALITAS_AUDIT_LOG``)::

    audit.jsonl   one record a line: seq, id, at, actor, role, action, what, why,
                  before, after, prev, hash  (hash = sha256 of the canonical JSON of
                  the record without ``hash``; prev = the previous record's hash,
                  64 zeros for the first)
    audit.head    {"seq", "hash", "mac"}: the last record, with an HMAC-SHA256 of both
                  under the server's secret key

What each check catches (:meth:`AuditLog.verify`):

* an edited field: the record's ``hash`` no longer matches its content;
* an edited record whose hash was recomputed: the next record's ``prev`` breaks;
* a deleted or reordered record: a ``seq`` gap or a broken ``prev``;
* deleted last records (truncation): the head anchor names a later record;
* a whole chain recomputed after an edit: its new last hash differs from the head;
* a head rewritten to match: its MAC fails without the secret key.

Appends chain from the head anchor, not from the file's last line, so a truncation
stays visible after later appends (the next record's ``prev`` points at the record
that is gone). Appends hold an exclusive ``flock`` on the log, so the server and the
CLI, in separate processes, chain correctly. An append is all or nothing: the record
is first announced in ``audit.next`` (seq, hash and offset under the same keyed MAC as
the head), then written, then anchored; a failed write (a full disk) cuts the log back,
and a crash part-way is finished (the whole announced record is anchored) or undone
(a partial line is cut off) by the next append or verify. A record after the head
with no keyed announcement is not adopted, because anyone can compute a plain sha256;
``verify`` reports it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qualitas.errors import AuditTamperedError, StoreError

if TYPE_CHECKING:
    from qualitas.settings import Settings
    from qualitas.store import GraphStore

GENESIS = "0" * 64
_HEAD_FORMAT = "qualitas-audit-head/1"
_NEXT_FORMAT = "qualitas-audit-next/1"
_FIELDS = ("seq", "id", "at", "actor", "role", "action", "what", "why", "before", "after", "prev", "hash")

ProblemKind = Literal["unparsable", "edited", "broken_chain", "truncated", "unanchored", "missing_head", "bad_head"]


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the trail: who (actor, role), when (at, UTC), what (action and its
    details), why, and the store state before and after."""

    seq: int
    id: str
    at: str
    actor: str
    role: str | None
    action: str
    what: dict[str, Any]
    why: str | None
    before: str | None
    after: str | None
    prev: str
    hash: str

    @property
    def at_datetime(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.at)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class AuditProblem:
    """The first thing wrong with the trail: where (line of ``audit.jsonl``, and the
    record's seq where one was read) and what."""

    kind: ProblemKind
    message: str
    line: int | None = None
    seq: int | None = None


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    records: int
    head_seq: int
    head_hash: str
    problem: AuditProblem | None = None

    def summary(self) -> str:
        if self.problem is None:
            return f"audit trail intact: {self.records} records, head {self.head_hash[:12]}"
        where = f"line {self.problem.line}: " if self.problem.line is not None else ""
        return f"audit trail tampered: {where}{self.problem.message}"


@dataclass(frozen=True)
class _Head:
    seq: int
    hash: str


def canonical(value: Any) -> bytes:
    """The bytes a record is hashed over: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in body.items() if k != "hash"})).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-native copy of ``value`` (paths, dates and decimals as strings), so the hash
    computed at append is the hash a reader recomputes from the parsed line."""

    def default(obj: object) -> object:
        if isinstance(obj, dt.date | dt.datetime):
            return obj.isoformat()
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        if isinstance(obj, Path | Decimal | uuid.UUID):
            return str(obj)
        if isinstance(obj, set | frozenset | tuple):
            return sorted(obj, key=str) if isinstance(obj, set | frozenset) else list(obj)
        return repr(obj)

    return json.loads(json.dumps(value, default=default, ensure_ascii=False))


#: Caps on what one record holds, so that no caller (a refused anonymous one least of all)
#: can grow the trail by more than a few kilobytes a record: texts over MAX_TEXT characters
#: keep their start and say how long they were and their sha256; lists and objects keep
#: MAX_ITEMS entries; a ``what`` still over MAX_WHAT_BYTES keeps only its keys.
MAX_TEXT = 2000
MAX_ITEMS = 1000
MAX_DEPTH = 12
MAX_WHAT_BYTES = 64 * 1024


def _bounded(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        if len(value) <= MAX_TEXT:
            return value
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{value[:MAX_TEXT]}… [truncated: {len(value)} characters, sha256 {digest}]"
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return "[truncated: nested too deep]"
    if isinstance(value, list):
        items = [_bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"[truncated: {len(value) - MAX_ITEMS} more items]")
        return items
    if isinstance(value, dict):
        kept = {_bounded(str(k)): _bounded(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
        if len(value) > MAX_ITEMS:
            kept["[truncated]"] = f"{len(value) - MAX_ITEMS} more entries"
        return kept
    return value


def bounded_what(what: dict[str, Any]) -> dict[str, Any]:
    """``what`` within the caps above (see :data:`MAX_TEXT`)."""
    kept: dict[str, Any] = _bounded(what)
    size = len(canonical(kept))
    if size <= MAX_WHAT_BYTES:
        return kept
    return {
        "truncated": f"{size} bytes of details over the limit of {MAX_WHAT_BYTES}",
        "sha256": hashlib.sha256(canonical(kept)).hexdigest(),
        "keys": [str(k)[:200] for k in list(kept)[:50]],
    }


#: The development default of versions before per-installation secrets: a head anchored
#: with it is reported as untrustworthy, never accepted.
_PUBLIC_PLACEHOLDER = b"changethis"


def _mac_under(secret: bytes, seq: int, digest: str) -> str:
    return hmac.new(secret, f"{_HEAD_FORMAT}\n{seq}\n{digest}".encode(), hashlib.sha256).hexdigest()


def _record(data: Mapping[str, Any]) -> AuditRecord:
    return AuditRecord(**{name: data[name] for name in _FIELDS})


class AuditLog:
    """The audit trail at ``path`` (``audit.jsonl``), anchored by ``audit.head`` beside it.

    ``secret`` keys the head anchor's MAC (the server's ``QUALITAS_SECRET_KEY``): without
    it nobody can cut records off the end and re-anchor the trail.
    """

    def __init__(self, path: Path | str, *, secret: str) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_suffix(".head")
        self.next_path = self.path.with_suffix(".next")  # the record being appended, see append()
        self._secret = secret.encode()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    # -------------------------------------------------------------- head anchor

    def _mac(self, seq: int, digest: str) -> str:
        return _mac_under(self._secret, seq, digest)

    def _read_head(self) -> tuple[_Head | None, AuditProblem | None]:
        try:
            raw = self.head_path.read_bytes()
        except FileNotFoundError:
            return None, None
        try:
            data = json.loads(raw)
            head = _Head(seq=int(data["seq"]), hash=str(data["hash"]))
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError):
            return None, AuditProblem("bad_head", f"{self.head_path.name} does not parse")
        if not hmac.compare_digest(mac, self._mac(head.seq, head.hash)):
            if hmac.compare_digest(mac, _mac_under(_PUBLIC_PLACEHOLDER, head.seq, head.hash)):
                return None, AuditProblem(
                    "bad_head",
                    f"{self.head_path.name} was anchored with the public placeholder secret "
                    f"{_PUBLIC_PLACEHOLDER.decode()!r} of earlier versions, with which anybody could have "
                    f"rewritten the trail; it cannot be trusted. Keep {self.path.parent.name}/ as evidence, move it "
                    "aside and start a new trail (it is signed with this installation's own secret)",
                )
            return None, AuditProblem(
                "bad_head", f"{self.head_path.name}: MAC does not match (forged or written with another secret key)"
            )
        return head, None

    def _write_head(self, head: _Head) -> None:
        data = {"format": _HEAD_FORMAT, "seq": head.seq, "hash": head.hash, "mac": self._mac(head.seq, head.hash)}
        _replace_file(self.head_path, canonical(data) + b"\n")

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[int]:
        """The log's file descriptor (append mode), locked against other processes."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as exc:
            raise StoreError(f"cannot open the audit log {self.path}: {exc}", file=str(self.path)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    # -------------------------------------------------------------- writing

    def ensure_writable(self) -> None:
        """Raise :class:`AuditTamperedError` now if :meth:`append` would refuse (a missing
        or forged head, or another secret key), so a caller can refuse a change *before*
        making it rather than make it unrecorded."""
        with self._locked(exclusive=False) as fd:
            self._head_for_append(fd)

    def _head_for_append(self, fd: int) -> _Head:
        head, problem = self._read_head()
        if problem is not None:
            raise AuditTamperedError(f"cannot append to the audit log: {problem.message}", file=str(self.path))
        if head is None:
            if os.fstat(fd).st_size:
                raise AuditTamperedError(
                    f"cannot append to the audit log: {self.head_path.name} is missing but "
                    f"{self.path.name} has records",
                    file=str(self.path),
                )
            head = _Head(seq=0, hash=GENESIS)
        return head

    def append(
        self,
        action: str,
        *,
        actor: str,
        role: str | None = None,
        what: Mapping[str, Any] | None = None,
        why: str | None = None,
        before: str | None = None,
        after: str | None = None,
        at: dt.datetime | None = None,
        id: str | None = None,
    ) -> AuditRecord:
        """Append one record and move the head anchor to it; returns the record.

        Refuses (:class:`AuditTamperedError`) while the head anchor is missing or forged
        and the log is not empty: chaining onto an untrusted head would hide the damage.

        All or nothing: the record is announced first (``audit.next``, keyed like the
        head), then written, then anchored. A failure (a full disk) cuts the log back to
        where it was and raises :class:`StoreError`; a crash part-way is finished or
        undone by the next append or verify (:meth:`_finish_interrupted_append`), so the
        chain never holds two records with one seq. ``id`` is the record's id when the
        caller chose it beforehand (a pending change, see :mod:`qualitas.audit._hooks`).
        """
        when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        with self._locked(exclusive=True) as fd:
            self._finish_interrupted_append(fd)
            head = self._head_for_append(fd)
            body: dict[str, Any] = {
                "seq": head.seq + 1,
                "id": id or str(uuid.uuid4()),
                "at": when.isoformat(timespec="microseconds"),
                "actor": actor,
                "role": role,
                "action": action,
                "what": bounded_what(_plain(dict(what or {}))),
                "why": None if why is None else _bounded(str(why)),
                "before": before,
                "after": after,
                "prev": head.hash,
            }
            body["hash"] = record_hash(body)
            line = canonical(body) + b"\n"
            offset = os.fstat(fd).st_size
            try:
                self._write_next(seq=body["seq"], digest=body["hash"], offset=offset)
            except OSError as exc:
                raise StoreError(
                    f"cannot write the audit log {self.path}: {exc}; no record was written", file=str(self.path)
                ) from exc
            try:
                _write_all(fd, line)
                os.fsync(fd)
                self._write_head(_Head(seq=body["seq"], hash=body["hash"]))
            except OSError as exc:
                self._undo_append(fd, offset)
                raise StoreError(
                    f"cannot write the audit log {self.path}: {exc}; no record was written", file=str(self.path)
                ) from exc
            with contextlib.suppress(OSError):
                self.next_path.unlink()
        return _record(body)

    # -------------------------------------------------------------- all-or-nothing appends

    def _next_mac(self, seq: int, digest: str, offset: int) -> str:
        message = f"{_NEXT_FORMAT}\n{seq}\n{digest}\n{offset}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _write_next(self, *, seq: int, digest: str, offset: int) -> None:
        data = {"format": _NEXT_FORMAT, "seq": seq, "hash": digest, "offset": offset}
        data["mac"] = self._next_mac(seq, digest, offset)
        _replace_file(self.next_path, canonical(data) + b"\n")

    def _undo_append(self, fd: int, offset: int) -> None:
        """Cut the log back to ``offset`` after a failed write; the announcement stays
        if even that fails, so the next append or verify finishes the job."""
        try:
            os.ftruncate(fd, offset)
            os.fsync(fd)
        except OSError:
            return
        with contextlib.suppress(OSError):
            self.next_path.unlink()

    def _finish_interrupted_append(self, fd: int) -> None:
        """After a crash inside :meth:`append` (``audit.next`` left behind): anchor the
        announced record if it was written whole and chains to the head, else cut off
        what was written of it. An announcement whose MAC fails is left for
        :meth:`verify` to report: without the key nobody may move the head."""
        try:
            data = json.loads(self.next_path.read_bytes())
            seq, digest, offset, mac = int(data["seq"]), str(data["hash"]), int(data["offset"]), str(data["mac"])
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError):
            return
        if not hmac.compare_digest(mac, self._next_mac(seq, digest, offset)):
            return
        head, problem = self._read_head()
        if problem is not None:
            return
        if head is not None and (head.seq, head.hash) == (seq, digest):
            pass  # anchored already; only the clean-up was missed
        else:
            os.lseek(fd, offset, os.SEEK_SET)
            tail = b""
            while chunk := os.read(fd, 1 << 16):
                tail += chunk
            try:
                written = json.loads(tail) if tail.endswith(b"\n") and tail.count(b"\n") == 1 else None
            except ValueError:
                written = None
            previous = head.hash if head is not None else GENESIS
            whole = (
                isinstance(written, dict)
                and (written.get("seq"), written.get("hash"), written.get("prev")) == (seq, digest, previous)
                and record_hash(written) == digest
                and seq == (head.seq if head is not None else 0) + 1
            )
            if whole:
                self._write_head(_Head(seq=seq, hash=digest))
            elif os.fstat(fd).st_size >= offset:
                os.ftruncate(fd, offset)
                os.fsync(fd)
        with contextlib.suppress(OSError):
            self.next_path.unlink()

    # -------------------------------------------------------------- reading

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            yield from enumerate(fh, start=1)

    def records(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        after_seq: int = 0,
    ) -> list[AuditRecord]:
        """Records in order, filtered: ``action`` matches exactly or as a dotted prefix
        (``graphql.mutation`` matches ``graphql.mutation.generatePack``); ``since`` and
        ``until`` bound ``at`` (inclusive); ``after_seq`` pages on. Lines that do not
        parse are skipped here; :meth:`verify` reports them."""
        found: list[AuditRecord] = []
        for _, raw in self._lines():
            try:
                record = _record(json.loads(raw))
            except (ValueError, KeyError, TypeError):
                continue
            if record.seq <= after_seq:
                continue
            if actor is not None and record.actor != actor:
                continue
            if action is not None and record.action != action and not record.action.startswith(action + "."):
                continue
            if since is not None and record.at_datetime < _utc(since):
                continue
            if until is not None and record.at_datetime > _utc(until):
                continue
            found.append(record)
            if limit is not None and len(found) >= limit:
                break
        return found

    def find(self, record_hash: str) -> AuditRecord | None:
        for record in self.records():
            if record.hash == record_hash:
                return record
        return None

    def verify(self) -> AuditVerification:
        """Check every record's hash, the chain (seq and prev) and the head anchor;
        reports the first problem with its line number. An append a crash interrupted
        is first finished or undone (see :meth:`append`)."""
        if self.next_path.exists():
            with self._locked(exclusive=True) as fd:
                self._finish_interrupted_append(fd)
        with self._locked(exclusive=False):
            head, head_problem = self._read_head()
            count, last_seq, last_hash = 0, 0, GENESIS
            problem: AuditProblem | None = None
            for number, raw in self._lines():
                problem = _check_line(number, raw, expected_seq=last_seq + 1, prev=last_hash)
                if problem is not None:
                    break
                data = json.loads(raw)
                count, last_seq, last_hash = count + 1, data["seq"], data["hash"]
        if problem is None:
            problem = head_problem
        if problem is None:
            problem = _check_head(head, last_seq, last_hash, self.head_path.name)
        return AuditVerification(
            ok=problem is None, records=count, head_seq=last_seq, head_hash=last_hash, problem=problem
        )


def _check_line(number: int, raw: bytes, *, expected_seq: int, prev: str) -> AuditProblem | None:
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError("not an object")
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            return AuditProblem("unparsable", f"record lacks {', '.join(missing)}", line=number, seq=data.get("seq"))
    except (ValueError, TypeError):
        return AuditProblem("unparsable", "not a JSON record", line=number)
    seq = data["seq"]
    if record_hash(data) != data["hash"]:
        return AuditProblem(
            "edited", f"record {seq} was edited: its hash does not match its content", line=number, seq=seq
        )
    if seq != expected_seq:
        return AuditProblem(
            "broken_chain",
            f"expected record {expected_seq}, found record {seq}: a record was deleted or reordered",
            line=number,
            seq=seq,
        )
    if data["prev"] != prev:
        return AuditProblem(
            "broken_chain",
            f"record {seq} does not chain to the record before it (prev mismatch): a record was replaced or rewritten",
            line=number,
            seq=seq,
        )
    return None


def _check_head(head: _Head | None, last_seq: int, last_hash: str, name: str) -> AuditProblem | None:
    if head is None:
        if last_seq == 0:
            return None
        return AuditProblem("missing_head", f"{name} is missing although the log holds {last_seq} records")
    if head.seq > last_seq:
        return AuditProblem(
            "truncated",
            f"the log ends at record {last_seq} but the head anchor is record {head.seq}: "
            f"{head.seq - last_seq} record(s) were deleted from the end",
            seq=last_seq,
        )
    if head.seq < last_seq:
        return AuditProblem(
            "unanchored",
            f"records {head.seq + 1}..{last_seq} come after the head anchor (appended without the "
            f"secret key, or a crash while appending)",
            seq=head.seq + 1,
        )
    if head.hash != last_hash:
        return AuditProblem(
            "edited",
            f"record {last_seq} is not the record the head anchor names: the chain was rewritten",
            seq=last_seq,
        )
    return None


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until all of ``data`` is written (a short write is how a nearly full
    disk or a file size limit first shows)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, fsync, rename); on a
    failure the temporary file goes and ``path`` is as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- helpers for callers


def state_digest(store: GraphStore) -> str:
    """A digest of the store's visible state: sha256 over its current batch graphs and
    their content hashes. Cheap (reads only the meta graph), and changes with every
    load, replacement or generated batch."""
    lines = sorted(f"{b.graph} {b.sha256}" for b in store.batches())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def audit_log_path(settings: Settings) -> Path:
    """``QUALITAS_AUDIT_LOG``, else ``<store directory's parent>/audit/audit.jsonl``
    (``./.qualitas/audit/audit.jsonl`` for a remote store)."""
    configured = getattr(settings, "audit_log", None)
    if configured is not None:
        return Path(configured)
    return settings.state_dir / "audit" / "audit.jsonl"


def open_audit_log(settings: Settings) -> AuditLog:
    return AuditLog(audit_log_path(settings), secret=settings.signing_secret())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

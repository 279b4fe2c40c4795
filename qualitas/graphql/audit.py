"""GraphQL over the audit trail: every mutation recorded, the trail queried and verified,
and packs signed electronically (21 CFR 11.10(e), 11.50).

* :class:`AuditExtension` records one ``graphql.mutation.<field>`` per root mutation
  field after it ran: who (the context's principal), the arguments (secrets redacted),
  ok or the error messages, ``why`` from a ``reason`` argument, and the store digest
  before and after.
* Mutations with a domain record of their own (``generatePack`` → ``pack.generate``,
  ``signPack`` → ``pack.sign``) write it through :func:`record_domain_event`, which
  marks the field as recorded; the extension then skips it, so each pack is recorded
  once, under the same action name as from the CLI. If such a mutation fails before
  recording, the extension records the failed attempt as ``graphql.mutation.<field>``.
* The audit log is ``context["audit"]`` (an :class:`~qualitas.audit.AuditLog`, or
  ``None``: nothing is recorded and ``signPack`` is refused).
* Attempts refused for want of a key or a role (``UNAUTHENTICATED``, ``FORBIDDEN``)
  go through ``context["refusals"]``
  (:class:`~qualitas.graphql.security.RefusalRecorder`): a bounded number per client
  and minute, the rest counted in the client's next record. Every record's fields are
  capped in size (:data:`qualitas.audit._log.MAX_TEXT`), so a 900 KB ``reason`` costs
  the trail about 2 KB.

Extension order: place :class:`AuditExtension` so that its ``resolve`` wraps the
authorization check if refused mutation attempts should be recorded too.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import strawberry
from graphql import OperationType
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON
from strawberry.types import Info

from qualitas.audit import AuditLog, AuditRecord, state_digest
from qualitas.auth import Principal
from qualitas.errors import AuthenticationError, ConfigError, InputError, NotFoundError, QualitasError
from qualitas.graphql._errors import graphql_error as _error

_RECORDED = "audit_recorded"
_REFUSED = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})
_SECRET_NAME = re.compile(r"secret|password|passphrase|token|credential|key$", re.IGNORECASE)
REDACTED = "[redacted]"


def _context(info: Any) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


def _caller(context: dict[str, Any]) -> Principal | None:
    principal = context.get("principal")
    return principal if isinstance(principal, Principal) else None


def _actor(context: dict[str, Any]) -> tuple[str, str | None]:
    principal = _caller(context)
    if principal is None:
        return "anonymous", None
    return principal.name, principal.role


def _digest(context: dict[str, Any]) -> str | None:
    store = context.get("store")
    return state_digest(store) if store is not None else None


def redact(value: Any) -> Any:
    """``value`` with every argument or input field named like a secret replaced."""
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_NAME.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def mark_recorded(info: Info) -> None:
    """Tell :class:`AuditExtension` that the resolver recorded its change itself (a
    store change and its record as one unit, see ``qualitas.audit._pending``), so the
    field is not recorded twice. A failure is still recorded by the extension."""
    _context(info).setdefault(_RECORDED, set()).add(info.path.key)


def record_domain_event(
    info: Info,
    action: str,
    *,
    what: dict[str, Any],
    why: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> AuditRecord | None:
    """Append ``action`` for the current mutation field as its caller, and tell
    :class:`AuditExtension` not to record the field again."""
    context = _context(info)
    log: AuditLog | None = context.get("audit")
    if log is None:
        return None
    actor, role = _actor(context)
    record = log.append(
        action,
        actor=actor,
        role=role,
        what=what,
        why=why,
        before=before,
        after=after if after is not None else _digest(context),
    )
    context.setdefault(_RECORDED, set()).add(info.path.key)
    return record


def _may_call(context: dict[str, Any], info: Any) -> bool:
    """Whether the caller's role may call this root field (the check the authorization
    extension inside this one will make); False also for a credential that fails."""
    from qualitas.graphql.security import allowed_roles, principal_of

    settings = context.get("settings")
    if settings is None or "authenticator" not in context:
        return True  # a bare schema without the HTTP layer: nothing is checked
    try:
        principal = principal_of(context)
    except QualitasError:
        return False
    roles = allowed_roles(info.parent_type.name, info.field_name, anonymous_reads=settings.allow_anonymous_reads)
    return (principal.role or "anonymous") in roles


class AuditExtension(SchemaExtension):
    """Records every root mutation field (see the module docstring)."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if info.path.prev is not None or info.operation.operation is not OperationType.MUTATION:
            return _next(root, info, *args, **kwargs)
        context = _context(info)
        log: AuditLog | None = context.get("audit")
        if log is None:
            return _next(root, info, *args, **kwargs)
        if not _may_call(context, info):
            # refused before it runs: no store digest to compute, and nothing about the trail's
            # state (a broken trail) to tell a caller who may not write anyway
            try:
                return _next(root, info, *args, **kwargs)
            except Exception as exc:
                self._record(log, info, kwargs, before=None, error=exc)
                raise
        try:
            log.ensure_writable()  # a mutation that could not be recorded does not run
        except QualitasError as exc:
            raise _error(exc) from exc
        before = _digest(context)
        try:
            result = _next(root, info, *args, **kwargs)
        except Exception as exc:
            self._record(log, info, kwargs, before=before, error=exc)
            raise
        if inspect.isawaitable(result):
            return self._awaited(result, log, info, kwargs, before)
        self._record(log, info, kwargs, before=before)
        return result

    async def _awaited(self, pending: Any, log: AuditLog, info: Any, kwargs: dict[str, Any], before: str | None) -> Any:
        try:
            result = await pending
        except Exception as exc:
            self._record(log, info, kwargs, before=before, error=exc)
            raise
        self._record(log, info, kwargs, before=before)
        return result

    @staticmethod
    def _record(
        log: AuditLog, info: Any, kwargs: dict[str, Any], *, before: str | None, error: BaseException | None = None
    ) -> None:
        context = _context(info)
        recorded: set[str] = context.get(_RECORDED, set())
        if error is None and info.path.key in recorded:
            recorded.discard(info.path.key)
            return  # the resolver wrote its own domain record
        actor, role = _actor(context)
        what: dict[str, Any] = {"field": info.field_name, "arguments": redact(dict(kwargs)), "ok": error is None}
        if info.operation.name is not None:
            what["operation"] = info.operation.name.value
        if error is not None:
            what["errors"] = [getattr(error, "message", None) or str(error)]
        reason = kwargs.get("reason")
        refusals = context.get("refusals")
        extensions = getattr(error, "extensions", None) or {}
        if refusals is not None and extensions.get("code") in _REFUSED:
            refusals.record(
                context.get("client", "unknown"),
                f"graphql.mutation.{info.field_name}",
                actor=actor,
                role=role,
                what=what,
                why=str(reason) if reason is not None else None,
                before=before,
                after=before,
            )
            return
        try:
            log.append(
                f"graphql.mutation.{info.field_name}",
                actor=actor,
                role=role,
                what=what,
                why=str(reason) if reason is not None else None,
                before=before,
                after=_digest(context),
            )
        except QualitasError as exc:  # the mutation ran, but its record could not be written: say so
            raise _error(exc) from exc


# ---------------------------------------------------------------- types


@strawberry.type(description="One record of the audit trail (21 CFR 11.10(e)).")
class AuditEntry:
    seq: int
    id: str
    at: dt.datetime
    actor: str
    role: str | None
    action: str
    what: JSON
    why: str | None
    before: str | None
    after: str | None
    prev: str
    hash: str


@strawberry.type
class AuditTrailPage:
    records: list[AuditEntry]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class AuditProblemInfo:
    kind: str
    message: str
    line: int | None
    seq: int | None


@strawberry.type(description="The result of checking every record's hash, the chain and the keyed head anchor.")
class AuditVerificationInfo:
    ok: bool
    records: int
    head_seq: int
    head_hash: str
    summary: str
    problem: AuditProblemInfo | None


@strawberry.enum(name="SignatureMeaning", description="The meaning of an electronic signature, 21 CFR 11.50(a)(3).")
class SignatureMeaningEnum(enum.Enum):
    AUTHORSHIP = "authorship"
    REVIEW = "review"
    APPROVAL = "approval"
    RESPONSIBILITY = "responsibility"


@strawberry.type(description="A signature manifestation (21 CFR 11.50): printed name, date and time, meaning.")
class PackSignatureInfo:
    pack_id: str
    signer: str
    role: str | None
    signed_at: dt.datetime
    meaning: SignatureMeaningEnum
    reason: str | None
    manifest_sha256: str
    zip_sha256: str
    audit_seq: int
    audit_hash: str
    manifestation: str
    valid: bool = strawberry.field(
        description="The pack still has the signed content and the trail holds the "
        "pack.sign record this signature names."
    )


def _entry(record: AuditRecord) -> AuditEntry:
    return AuditEntry(
        seq=record.seq,
        id=record.id,
        at=record.at_datetime,
        actor=record.actor,
        role=record.role,
        action=record.action,
        what=record.what,
        why=record.why,
        before=record.before,
        after=record.after,
        prev=record.prev,
        hash=record.hash,
    )


def _log(info: Info) -> AuditLog:
    log: AuditLog | None = _context(info).get("audit")
    if log is None:
        raise ConfigError("no audit trail is configured for this server")
    return log


def _pack_zip(info: Info, pack_id: str) -> Path:
    from qualitas.doc_templates.pack import pack_path
    from qualitas.graphql.packs import packs_dir

    path = pack_path(packs_dir(_context(info)["settings"]), pack_id)
    if not path.is_file():
        raise NotFoundError(f"no pack {pack_id!r}", pack=pack_id)
    return path


def _signature(log: AuditLog, path: Path, signature: Any) -> PackSignatureInfo:
    from qualitas.audit import signature_is_valid

    return PackSignatureInfo(
        pack_id=signature.pack_id,
        signer=signature.signer,
        role=signature.role,
        signed_at=dt.datetime.fromisoformat(signature.signed_at),
        meaning=SignatureMeaningEnum(signature.meaning.value),
        reason=signature.reason,
        manifest_sha256=signature.manifest_sha256,
        zip_sha256=signature.zip_sha256,
        audit_seq=signature.audit_seq,
        audit_hash=signature.audit_hash,
        manifestation=signature.manifestation,
        valid=signature_is_valid(log, path, signature),
    )


_MAX_PAGE = 1000


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Audit records, oldest first: `first` after the cursor `after` (an endCursor), "
        'optionally only one actor\'s, or one action (or dotted prefix, e.g. "graphql.mutation").'
    )
    def audit_trail(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> AuditTrailPage:
        try:
            if not 1 <= first <= _MAX_PAGE:
                raise InputError(f"first must be between 1 and {_MAX_PAGE}")
            try:
                after_seq = int(after) if after else 0
            except ValueError:
                raise InputError(f"not a cursor: {after!r}") from None
            found = _log(info).records(
                actor=actor, action=action, since=since, until=until, limit=first + 1, after_seq=after_seq
            )
        except QualitasError as exc:
            raise _error(exc) from exc
        page = found[:first]
        return AuditTrailPage(
            records=[_entry(r) for r in page],
            end_cursor=str(page[-1].seq) if page else after,
            has_next_page=len(found) > first,
        )

    @strawberry.field(
        description="Verify the audit trail: every record's hash, the chain, and the keyed head "
        "anchor; names the first problem (edited, deleted, reordered or cut records)."
    )
    def audit_verification(self, info: Info) -> AuditVerificationInfo:
        try:
            result = _log(info).verify()
        except QualitasError as exc:
            raise _error(exc) from exc
        problem = result.problem
        return AuditVerificationInfo(
            ok=result.ok,
            records=result.records,
            head_seq=result.head_seq,
            head_hash=result.head_hash,
            summary=result.summary(),
            problem=None
            if problem is None
            else AuditProblemInfo(kind=problem.kind, message=problem.message, line=problem.line, seq=problem.seq),
        )

    @strawberry.field(description="The electronic signatures on a pack, each checked against the pack and the trail.")
    def pack_signatures(self, info: Info, pack_id: str) -> list[PackSignatureInfo]:
        from qualitas.audit import read_signatures

        try:
            log = _log(info)
            path = _pack_zip(info, pack_id)
            return [_signature(log, path, s) for s in read_signatures(path)]
        except QualitasError as exc:
            raise _error(exc) from exc


@strawberry.type
class AuditMutation:
    @strawberry.mutation(
        description="Sign a pack electronically as the calling user (21 CFR 11.50): records the "
        "printed name, date and time (UTC) and meaning beside the pack, bound to the sha256 of its "
        "manifest, and a pack.sign record in the audit trail."
    )
    def sign_pack(
        self, info: Info, pack_id: str, meaning: SignatureMeaningEnum, reason: str | None = None
    ) -> PackSignatureInfo:
        from qualitas.audit import SignatureMeaning, sign_pack

        context = _context(info)
        try:
            log = _log(info)
            principal = _caller(context)
            if principal is None or principal.is_anonymous:
                raise AuthenticationError("signing a pack needs an authenticated user")
            path = _pack_zip(info, pack_id)
            before = _digest(context)
            signature = sign_pack(
                log,
                path,
                signer=principal.name,
                role=principal.role,
                key_id=principal.key_id,
                meaning=SignatureMeaning(meaning.value),
                reason=reason,
                before=before,
                after=before,
            )
        except QualitasError as exc:
            raise _error(exc) from exc
        context.setdefault(_RECORDED, set()).add(info.path.key)
        return _signature(log, path, signature)


__all__ = [
    "AuditEntry",
    "AuditExtension",
    "AuditMutation",
    "AuditQuery",
    "AuditTrailPage",
    "AuditVerificationInfo",
    "PackSignatureInfo",
    "SignatureMeaningEnum",
    "record_domain_event",
    "redact",
]

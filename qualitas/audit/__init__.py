"""The audit trail (21 CFR 11.10(e)) and electronic signatures on packs (21 CFR 11.50).

Every load, pack generation, pack signature, edge write-back and GraphQL mutation
appends one record to an append-only, hash-chained log whose head is anchored with
an HMAC; ``qualitas audit verify`` detects any edited, deleted, reordered or cut record.
A store change and its record are one recoverable unit (``_pending``): a crash or a
full disk between them is reconciled on the next open, so every committed change has
exactly one record.
"""

from __future__ import annotations

from qualitas.audit._hooks import LoadOutcome, audited_load, record_pack_generated
from qualitas.audit._log import (
    GENESIS,
    AuditLog,
    AuditProblem,
    AuditRecord,
    AuditVerification,
    audit_log_path,
    canonical,
    file_sha256,
    open_audit_log,
    record_hash,
    state_digest,
)
from qualitas.audit._pending import pending, reconcile
from qualitas.audit._signing import (
    PackFacts,
    PackSignature,
    SignatureMeaning,
    pack_facts,
    read_signatures,
    sign_pack,
    signature_is_valid,
    signatures_path,
)

__all__ = [
    "GENESIS",
    "AuditLog",
    "AuditProblem",
    "AuditRecord",
    "AuditVerification",
    "LoadOutcome",
    "PackFacts",
    "PackSignature",
    "SignatureMeaning",
    "audit_log_path",
    "audited_load",
    "canonical",
    "file_sha256",
    "open_audit_log",
    "pack_facts",
    "pending",
    "read_signatures",
    "reconcile",
    "record_hash",
    "record_pack_generated",
    "sign_pack",
    "signature_is_valid",
    "signatures_path",
    "state_digest",
]

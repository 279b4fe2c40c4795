"""Electronic signatures on market document packs, recorded in the audit trail.

21 CFR 11.50(a): "Signed electronic records shall contain information associated
with the signing that clearly indicates all of the following: (1) The printed name of
the signer; (2) The date and time when the signature was executed; and (3) The
meaning (such as review, approval, responsibility, or authorship) associated with the
signature." (https://www.ecfr.gov/current/title-21/part-11#p-11.50(a))

11.70 asks that signatures be linked to their records "to ensure that the signatures
cannot be excised, copied, or otherwise transferred": each signature names the sha256
of the pack's ``manifest.json`` (which lists the sha256 of every file in the pack) and
of the ZIP, and the hash of the ``pack.sign`` record in the audit trail.

The manifestation is ``<pack id>.signatures.json`` beside ``<pack id>.zip``: the ZIP
itself is never rewritten, so its hashes (and ``verify-pack``) stay what they were.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qualitas.audit._log import AuditLog, file_sha256
from qualitas.errors import InputError, NotFoundError

SIGNATURES_FORMAT = "qualitas-pack-signatures/1"


class SignatureMeaning(enum.Enum):
    """The meaning of a signature, 21 CFR 11.50(a)(3)."""

    AUTHORSHIP = "authorship"
    REVIEW = "review"
    APPROVAL = "approval"
    RESPONSIBILITY = "responsibility"


@dataclass(frozen=True)
class PackFacts:
    """What identifies a pack's content: its manifest's and ZIP's sha256."""

    pack_id: str
    product: str
    market: str
    status: str
    pack_digest: str
    manifest_sha256: str
    zip_sha256: str

    def as_what(self) -> dict[str, Any]:
        return {
            "packId": self.pack_id,
            "product": self.product,
            "market": self.market,
            "status": self.status,
            "packDigest": self.pack_digest,
            "manifestSha256": self.manifest_sha256,
            "zipSha256": self.zip_sha256,
        }


@dataclass(frozen=True)
class PackSignature:
    """One signature manifestation (11.50): printed name, date and time (UTC), meaning."""

    pack_id: str
    signer: str
    role: str | None
    signed_at: str
    meaning: SignatureMeaning
    reason: str | None
    manifest_sha256: str
    zip_sha256: str
    audit_seq: int
    audit_hash: str

    @property
    def manifestation(self) -> str:
        role = f" ({self.role})" if self.role else ""
        return f"Signed by {self.signer}{role} on {self.signed_at}; meaning: {self.meaning.value}"

    def as_json(self) -> dict[str, Any]:
        return {
            "packId": self.pack_id,
            "signer": self.signer,
            "role": self.role,
            "signedAt": self.signed_at,
            "meaning": self.meaning.value,
            "reason": self.reason,
            "manifestSha256": self.manifest_sha256,
            "zipSha256": self.zip_sha256,
            "auditSeq": self.audit_seq,
            "auditHash": self.audit_hash,
            "manifestation": self.manifestation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PackSignature:
        return cls(
            pack_id=data["packId"],
            signer=data["signer"],
            role=data.get("role"),
            signed_at=data["signedAt"],
            meaning=SignatureMeaning(data["meaning"]),
            reason=data.get("reason"),
            manifest_sha256=data["manifestSha256"],
            zip_sha256=data["zipSha256"],
            audit_seq=int(data["auditSeq"]),
            audit_hash=data["auditHash"],
        )


def pack_facts(path: Path) -> PackFacts:
    """Read the pack ZIP at ``path``: its id, product, market, status and hashes."""
    try:
        with zipfile.ZipFile(path) as zf:
            raw = zf.read("manifest.json")
    except FileNotFoundError:
        raise NotFoundError(f"no pack at {path}", file=str(path)) from None
    except (zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"{path}: not a Qualitas pack ({exc})", file=str(path)) from exc
    manifest = json.loads(raw)
    return PackFacts(
        pack_id=manifest["packId"],
        product=manifest["product"]["model"],
        market=manifest["market"],
        status=manifest["status"],
        pack_digest=manifest.get("packDigest", ""),
        manifest_sha256=hashlib.sha256(raw).hexdigest(),
        zip_sha256=file_sha256(path),
    )


def signatures_path(pack_zip: Path) -> Path:
    return pack_zip.with_name(pack_zip.name.removesuffix(".zip") + ".signatures.json")


def read_signatures(pack_zip: Path) -> list[PackSignature]:
    path = signatures_path(pack_zip)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return []
    except ValueError as exc:
        raise InputError(f"{path}: does not parse ({exc})", file=str(path)) from exc
    return [PackSignature.from_json(item) for item in data.get("signatures", [])]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def sign_pack(
    log: AuditLog,
    pack_zip: Path,
    *,
    signer: str,
    meaning: SignatureMeaning,
    role: str | None = None,
    reason: str | None = None,
    key_id: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> PackSignature:
    """Sign the pack at ``pack_zip``: append a ``pack.sign`` record to the trail, then
    add the signature (which names that record's hash) to ``<pack id>.signatures.json``.

    The trail is written first: a signature manifestation never exists without its
    audit record, while a crash in between leaves a record of an attempt."""
    if not signer.strip():
        raise InputError("a signature needs the signer's printed name")
    facts = pack_facts(pack_zip)
    signed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sig_path = signatures_path(pack_zip)
    with _lock(sig_path):
        record = log.append(
            "pack.sign",
            actor=signer,
            role=role,
            why=reason,
            before=before,
            after=after,
            at=signed_at,
            what={
                **facts.as_what(),
                "meaning": meaning.value,
                "signer": signer,
                "keyId": key_id,
                "signedAt": signed_at.isoformat(),
                "signatures": sig_path.name,
            },
        )
        signature = PackSignature(
            pack_id=facts.pack_id,
            signer=signer,
            role=role,
            signed_at=signed_at.isoformat(),
            meaning=meaning,
            reason=reason,
            manifest_sha256=facts.manifest_sha256,
            zip_sha256=facts.zip_sha256,
            audit_seq=record.seq,
            audit_hash=record.hash,
        )
        existing = read_signatures(pack_zip)
        body = {
            "format": SIGNATURES_FORMAT,
            "packId": facts.pack_id,
            "signatures": [s.as_json() for s in [*existing, signature]],
        }
        tmp = sig_path.with_name(f".{sig_path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(json.dumps(body, ensure_ascii=False, indent=2).encode() + b"\n")
        os.replace(tmp, sig_path)
    return signature


def signature_is_valid(log: AuditLog, pack_zip: Path, signature: PackSignature) -> bool:
    """The pack still has the content that was signed, and the trail holds the
    ``pack.sign`` record the signature names, with the same signer, meaning and hashes."""
    try:
        facts = pack_facts(pack_zip)
    except (NotFoundError, InputError):
        return False
    if facts.manifest_sha256 != signature.manifest_sha256 or facts.zip_sha256 != signature.zip_sha256:
        return False
    record = log.find(signature.audit_hash)
    if record is None or record.action != "pack.sign" or record.seq != signature.audit_seq:
        return False
    what = record.what
    return (
        what.get("manifestSha256") == signature.manifest_sha256
        and what.get("signer") == signature.signer
        and what.get("meaning") == signature.meaning.value
        and record.actor == signature.signer
    )


__all__ = [
    "PackFacts",
    "PackSignature",
    "SignatureMeaning",
    "pack_facts",
    "read_signatures",
    "sign_pack",
    "signature_is_valid",
    "signatures_path",
]

"""``verify_pack(path)``: check a market pack from the pack alone, as an auditor would.

1. ``manifest.json`` parses, has the pack format, and its ``packDigest`` matches its body.
2. Every file the manifest lists is in the ZIP with the listed sha256 and size, and the
   ZIP holds nothing else.
3. pySHACL re-runs on the enclosed data graph with the enclosed shapes graph (no
   inference: the data graph already holds what inference added), and the report it
   produces is isomorphic to the enclosed ``sh:ValidationReport``
   (W3C SHACL section 3.6, https://www.w3.org/TR/shacl/#validation-report).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph
from rdflib.compare import isomorphic

from qualitas.doc_templates.pack import PACK_FORMAT, pack_digest
from qualitas.errors import ValidationError


@dataclass(frozen=True)
class PackCheck:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class PackVerification:
    path: str
    pack_id: str | None
    ok: bool
    checks: tuple[PackCheck, ...]

    @property
    def failures(self) -> tuple[PackCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)


class PackVerificationError(ValidationError):
    """A pack does not verify: a hash, the manifest or the validation report disagrees."""


def verify_pack(path: Path | str) -> PackVerification:
    """Verify the pack at ``path``; every check runs and is reported (nothing raises
    for a bad pack except an unreadable ZIP, which is a failed check too)."""
    path = Path(path)
    checks: list[PackCheck] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return PackVerification(str(path), None, False, (PackCheck("zip", False, f"not a readable ZIP: {exc}"),))
    with zf:
        bomb = _zip_bomb(zf)
        if bomb:
            return PackVerification(str(path), None, False, (PackCheck("zip", False, bomb),))
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, ValueError, zipfile.BadZipFile) as exc:
            return PackVerification(str(path), None, False, (PackCheck("manifest", False, f"no manifest: {exc}"),))
        pack_id = manifest.get("packId")
        checks.append(PackCheck("format", manifest.get("format") == PACK_FORMAT, str(manifest.get("format"))))
        digest = pack_digest(manifest)
        checks.append(PackCheck("manifest digest", digest == manifest.get("packDigest"),
                                "manifest body matches packDigest" if digest == manifest.get("packDigest")
                                else "manifest.json was changed after the pack was built"))
        listed = {f["path"]: f for f in manifest.get("files", [])}
        present = set(zf.namelist()) - {"manifest.json"}
        for extra in sorted(present - set(listed)):
            checks.append(PackCheck(f"file {extra}", False, "in the ZIP but not in the manifest"))
        contents: dict[str, bytes] = {}
        for name, entry in sorted(listed.items()):
            if name not in present:
                checks.append(PackCheck(f"file {name}", False, "listed in the manifest but missing"))
                continue
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, OSError) as exc:  # a corrupted member fails its CRC
                checks.append(PackCheck(f"file {name}", False, f"unreadable: {exc}"))
                continue
            sha = hashlib.sha256(data).hexdigest()
            ok = sha == entry.get("sha256") and len(data) == entry.get("bytes")
            checks.append(PackCheck(f"file {name}", ok, sha if ok else f"sha256 {sha} != {entry.get('sha256')}"))
            contents[name] = data
        checks.append(_revalidate(manifest, contents))
    return PackVerification(str(path), pack_id, all(c.ok for c in checks), tuple(checks))


#: A pack holds a few dozen documents of a few MB: limits far above that, far below
#: what would exhaust memory. Python's zipfile never inflates past a member's declared
#: size, so checking the declared sizes bounds what reading costs.
MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 100  # for members over 1 MiB; PDFs and DOCX barely compress, Turtle about 10x


def _zip_bomb(zf: zipfile.ZipFile) -> str | None:
    """Why the archive is refused before any member is read, or None."""
    members = zf.infolist()
    if len(members) > MAX_MEMBERS:
        return f"refused: {len(members)} members (at most {MAX_MEMBERS})"
    total = 0
    for info in members:
        if info.file_size > MAX_MEMBER_BYTES:
            return f"refused: member {info.filename!r} declares {info.file_size:,} bytes (at most {MAX_MEMBER_BYTES:,})"
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return (f"refused: member {info.filename!r} inflates {info.file_size / max(info.compress_size, 1):,.0f}x "
                    f"(at most {MAX_RATIO}x): a zip bomb")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        return f"refused: members declare {total:,} bytes in all (at most {MAX_TOTAL_BYTES:,})"
    return None


def _revalidate(manifest: dict[str, object], contents: dict[str, bytes]) -> PackCheck:
    from pyshacl import validate

    spec = manifest.get("validation")
    if not isinstance(spec, dict):
        return PackCheck("shacl", False, "manifest has no validation section")
    try:
        data = Graph().parse(data=contents[spec["dataGraph"]].decode(), format="turtle")
        shapes = Graph().parse(data=contents[spec["shapesGraph"]].decode(), format="turtle")
        enclosed = Graph().parse(data=contents[spec["report"]].decode(), format="turtle")
    except KeyError as exc:
        return PackCheck("shacl", False, f"missing validation file {exc}")
    except Exception as exc:
        return PackCheck("shacl", False, f"an enclosed graph does not parse: {exc}")
    conforms, report, _ = validate(data, shacl_graph=shapes, inference="none", abort_on_first=False,
                                   allow_warnings=True)
    same = isomorphic(report, enclosed)
    ok = same and conforms == spec.get("conforms")
    relation = "isomorphic to" if same else "DIFFERS from"
    detail = f"pySHACL re-run: conforms={conforms}; report {relation} the enclosed one"
    return PackCheck("shacl", ok, detail)


__all__ = ["PackCheck", "PackVerification", "PackVerificationError", "verify_pack"]

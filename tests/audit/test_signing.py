"""Electronic signatures on packs (21 CFR 11.50), from the core and from the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from qualitas.audit import AuditLog, SignatureMeaning, read_signatures, sign_pack, signature_is_valid
from qualitas.errors import InputError, NotFoundError

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-key"


def _pack(directory: Path, pack_id: str = "AG-125-VN-20260301T000000Z-abcdef12") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{pack_id}.zip"
    manifest = {
        "packId": pack_id,
        "status": "draft",
        "product": {"model": "AG-125"},
        "market": "VN",
        "packDigest": "d" * 64,
        "files": [],
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
    return path


def test_signatures_accumulate_and_break_when_the_pack_changes(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", secret=SECRET)
    path = _pack(tmp_path / "packs")
    first = sign_pack(log, path, signer="Ann Author", meaning=SignatureMeaning.AUTHORSHIP, role="engineer")
    second = sign_pack(log, path, signer="Rita Reviewer", meaning=SignatureMeaning.REVIEW, reason="checked")
    assert [s.signer for s in read_signatures(path)] == ["Ann Author", "Rita Reviewer"]
    assert [r.action for r in log.records()] == ["pack.sign", "pack.sign"]
    assert (first.audit_seq, second.audit_seq) == (1, 2)
    assert all(signature_is_valid(log, path, s) for s in read_signatures(path))
    assert log.verify().ok

    with zipfile.ZipFile(path, "a") as zf:  # the signed content changes after signing
        zf.writestr("extra.txt", "added later")
    assert not any(signature_is_valid(log, path, s) for s in read_signatures(path))


def test_a_signature_needs_a_name_and_a_pack(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", secret=SECRET)
    with pytest.raises(InputError):
        sign_pack(log, _pack(tmp_path), signer="  ", meaning=SignatureMeaning.APPROVAL)
    with pytest.raises(NotFoundError):
        sign_pack(log, tmp_path / "missing.zip", signer="Ann", meaning=SignatureMeaning.APPROVAL)
    assert log.records() == []


def _cli(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qualitas.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "QUALITAS_SECRET_KEY": SECRET},
    )


def test_sign_pack_command(tmp_path: Path) -> None:
    store = tmp_path / "store"
    path = _pack(tmp_path / "packs")  # the server's packs directory for this store
    pack_id = path.name.removesuffix(".zip")
    done = _cli("audit", "sign-pack", pack_id, "--meaning", "approval", "--signer", "Carol QA", store=store)
    assert done.returncode == 0, done.stderr
    assert "Signed by Carol QA on " in done.stdout and "meaning: approval" in done.stdout
    [sig] = read_signatures(path)
    assert sig.signer == "Carol QA" and sig.meaning is SignatureMeaning.APPROVAL
    log = AuditLog(tmp_path / "audit" / "audit.jsonl", secret=SECRET)
    [record] = log.records(action="pack.sign")
    assert record.hash == sig.audit_hash and record.actor == "Carol QA"

    bad = _cli("audit", "sign-pack", pack_id, "--meaning", "whatever", store=store)
    assert bad.returncode == 64 and "--meaning" in bad.stderr
    missing = _cli("audit", "sign-pack", "NOPE", "--meaning", "review", store=store)
    assert missing.returncode == 66 and "no pack" in missing.stderr

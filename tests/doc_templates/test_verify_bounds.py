"""verify-pack reads packs an auditor was sent: a zip bomb is refused before any member
is inflated (issue 14, bounded inputs)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from qualitas.doc_templates.verify import verify_pack


def test_a_zip_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", "{}")
        zf.writestr("documents/zeros.pdf", b"\\0" * (64 * 1024 * 1024))  # 64 MiB of zeros, ~64 KB packed
    assert bomb.stat().st_size < 1024 * 1024
    result = verify_pack(bomb)
    assert not result.ok
    [check] = result.checks
    assert check.name == "zip" and "zip bomb" in check.detail and "documents/zeros.pdf" in check.detail


def test_a_small_foreign_zip_still_gets_its_checks(tmp_path: Path) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    result = verify_pack(other)
    assert not result.ok and result.checks[0].name == "manifest"

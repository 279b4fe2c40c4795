"""Fixtures for the ingest tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qualitas.store import GraphStore, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the tests import ingest_helpers

from ingest_helpers import WIPER_BOM, write_xlsx


@pytest.fixture
def store() -> Iterator[GraphStore]:
    s = open_store(None)
    yield s
    s.close()


@pytest.fixture
def wiper_xlsx(tmp_path: Path) -> Path:
    """The three-level WPR-500 BOM with a cached formula (D5) and merged cells (H4:H5)."""
    return write_xlsx(tmp_path / "wpr-500-bom.xlsx", WIPER_BOM, merged=["H4:H5"], cached={"D5": 2})

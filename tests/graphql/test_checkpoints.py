"""Checkpoints of the writer's store (:class:`qualitas.graphql._readers.Checkpoints`):
one per generation, holding exactly that generation's data, never made for a
generation the store has left or while a commit is in flight, superseded ones removed
after the grace period, and only for the embedded store on disk."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from qualitas.errors import ConfigError
from qualitas.graphql._readers import Checkpoints
from qualitas.store import open_store

DATA = '<urn:q:a> <urn:q:p> "{value}" .\n'


def _load(store: object, tmp_path: Path, value: str) -> None:
    data = tmp_path / "data.nt"
    data.write_text(DATA.format(value=value))
    store.load_file(data, source="data.nt", agent="test")  # type: ignore[attr-defined]


def _value(path: Path) -> str:
    with open_store(path, read_only=True) as view:
        return str(view.select("SELECT ?o WHERE { <urn:q:a> <urn:q:p> ?o }")[0]["o"])


def test_a_checkpoint_holds_its_generation_and_outlives_the_next_commit(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    try:
        _load(store, tmp_path, "one")
        checkpoints = Checkpoints(store, tmp_path / "store.snapshots", grace_s=0.2)
        first = store.generation()
        one = checkpoints.for_generation(first)
        assert one is not None and checkpoints.for_generation(first) == one == checkpoints.known(first)
        assert _value(one) == "one"

        _load(store, tmp_path, "two")
        second = store.generation()
        assert second > first and second % 2 == 0
        assert checkpoints.for_generation(first) == one  # made already: a read of it may still run
        two = checkpoints.for_generation(second)
        assert two is not None and two != one
        assert _value(two) == "two" and _value(one) == "one"  # the first, superseded, unchanged

        # a generation the store has left, or an odd one (a commit in flight): none
        assert checkpoints.for_generation(second + 2) is None
        assert checkpoints.for_generation(second + 1) is None

        time.sleep(0.3)  # past the grace period: the superseded one goes with the next checkpoint
        _load(store, tmp_path, "three")
        three = checkpoints.for_generation(store.generation())
        assert three is not None and _value(three) == "three"
        assert not one.exists() and two.exists()
        checkpoints.close()
        assert not (tmp_path / "store.snapshots").exists()
    finally:
        store.close()


def test_a_leftover_folder_is_cleared_and_other_stores_are_refused(tmp_path: Path) -> None:
    leftover = tmp_path / "store.snapshots" / "g000000000002-0"
    leftover.mkdir(parents=True)
    with open_store(tmp_path / "store") as store:
        checkpoints = Checkpoints(store, tmp_path / "store.snapshots", grace_s=1)
        assert not leftover.exists()
        checkpoints.close()
    with open_store(None) as memory, pytest.raises(ConfigError, match="--workers needs the embedded Oxigraph store"):
        Checkpoints(memory, tmp_path / "x.snapshots", grace_s=1)
    with open_store(tmp_path / "store", read_only=True) as view, pytest.raises(ConfigError):
        Checkpoints(view, tmp_path / "y.snapshots", grace_s=1)

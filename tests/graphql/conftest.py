"""Fixtures for the API tests: a demo store, users with API keys, a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qualitas.settings import Settings
from tests.graphql.serving import issue_keys, load_demo_store, serve


@pytest.fixture(scope="module")
def demo_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_demo_store(tmp_path_factory.mktemp("api") / "store")


@pytest.fixture(scope="module")
def api_settings(demo_store_dir: Path) -> Settings:
    return Settings(store=demo_store_dir)


@pytest.fixture(scope="module")
def api_keys(api_settings: Settings) -> dict[str, str]:
    return issue_keys(api_settings)


@pytest.fixture(scope="module")
def api_server(api_settings: Settings, api_keys: dict[str, str]) -> Iterator[str]:
    with serve(api_settings) as base:
        yield base

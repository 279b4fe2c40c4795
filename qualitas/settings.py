"""Configuration, read from the environment (prefix ``QUALITAS_``) or passed explicitly.

Settings are built by :func:`get_settings` (cached) or by the caller, never at
import time, so tests and the CLI can point at different stores.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qualitas.errors import ConfigError

_PLACEHOLDER_SECRETS = {"", "changethis", "change-me", "secret"}


class Settings(BaseSettings):
    """Runtime settings.

    ``QUALITAS_STORE``   store directory (default ``./.qualitas/store``)
    ``QUALITAS_HOST``    address ``serve`` binds to (default ``127.0.0.1``)
    ``QUALITAS_PORT``    port (default ``8000``)
    ``QUALITAS_ENVIRONMENT``  ``development`` (default) or ``production``
    ``QUALITAS_SECRET_KEY``   required and non-placeholder in production
    ``QUALITAS_AGENT``   who is recorded as the agent of loads (default: the OS user)
    """

    model_config = SettingsConfigDict(env_prefix="QUALITAS_", extra="ignore")

    store: Path = Field(default=Path(".qualitas/store"))
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Literal["development", "production"] = "development"
    secret_key: str = "changethis"
    agent: str | None = None

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key in _PLACEHOLDER_SECRETS:
            raise ConfigError("QUALITAS_SECRET_KEY must be set to a real secret when QUALITAS_ENVIRONMENT=production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

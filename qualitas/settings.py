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
    ``QUALITAS_AUDIT_LOG``  the audit trail file (default ``<store parent>/audit/audit.jsonl``)
    ``QUALITAS_INGEST_DIR``  drop folder the ``loadFiles`` mutation reads from (default: unset, loadFiles off)

    API security (see README "API access"):

    ``QUALITAS_AUTH_DB``  users and API keys (SQLite; default ``<store parent>/auth.sqlite``)
    ``QUALITAS_ALLOW_ANONYMOUS_READS``  let requests without credentials run read queries (default off)
    ``QUALITAS_TOKEN_TTL_S``  lifetime of bearer tokens from ``POST /auth/token`` (default 3600)
    ``QUALITAS_MAX_QUERY_DEPTH`` / ``QUALITAS_MAX_QUERY_COST`` / ``QUALITAS_MAX_ALIASES``  query limits
    ``QUALITAS_MAX_PAGE_SIZE``  largest ``first`` a connection takes (default 100)
    ``QUALITAS_MAX_BODY_BYTES``  largest request body (default 1 MB)
    ``QUALITAS_REQUEST_TIMEOUT_S``  a query still resolving after this is stopped (default 30)
    ``QUALITAS_INTROSPECTION``  schema introspection and GraphiQL (default: on in development, off in production)
    """

    model_config = SettingsConfigDict(env_prefix="QUALITAS_", extra="ignore")

    store: Path = Field(default=Path(".qualitas/store"))
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Literal["development", "production"] = "development"
    secret_key: str = "changethis"
    agent: str | None = None
    #: The audit trail (JSON Lines); None means ``<store directory's parent>/audit/audit.jsonl``.
    audit_log: Path | None = None
    #: The drop folder the ``loadFiles`` mutation reads from (files are named relative to it);
    #: None disables ``loadFiles``.
    ingest_dir: Path | None = None

    auth_db: Path | None = None
    allow_anonymous_reads: bool = False
    token_ttl_s: int = Field(default=3600, ge=60, le=86400)
    max_query_depth: int = Field(default=12, ge=2)
    max_query_cost: int = Field(default=5000, ge=10)
    max_aliases: int = Field(default=30, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    request_timeout_s: float = Field(default=30.0, gt=0)
    introspection: bool | None = None

    @property
    def auth_db_path(self) -> Path:
        return self.auth_db if self.auth_db is not None else Path(self.store).resolve().parent / "auth.sqlite"

    @property
    def uses_placeholder_secret(self) -> bool:
        return self.secret_key.strip().lower() in _PLACEHOLDER_SECRETS

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else self.environment == "development"

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and (self.uses_placeholder_secret or len(self.secret_key) < 32):
            raise ConfigError(
                "QUALITAS_SECRET_KEY must be set to a real secret of at least 32 characters when "
                "QUALITAS_ENVIRONMENT=production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

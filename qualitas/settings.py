"""Configuration, read from the environment (prefix ``QUALITAS_``) or passed explicitly.

Settings are built by :func:`get_settings` (cached) or by the caller, never at
import time, so tests and the CLI can point at different stores.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from qualitas.errors import ConfigError

_PLACEHOLDER_SECRETS = {"", "changethis", "change-me", "secret"}


class Settings(BaseSettings):
    """Runtime settings.

    ``QUALITAS_STORE``   store directory (default ``./.qualitas/store``), or the URL of a remote
                         store: ``http(s)://`` a SPARQL 1.1 endpoint, ``bolt://``, ``neo4j://``,
                         ``neo4j+s://`` a Neo4j server (see README "Remote stores")
    ``QUALITAS_STORE_USER`` / ``QUALITAS_STORE_PASSWORD``  login for a remote store (never logged)
    ``QUALITAS_STORE_DATABASE``  Neo4j database (default ``neo4j``)
    ``QUALITAS_STORE_SERVER``  SPARQL server kind (``oxigraph``, ``fuseki``, ``graphdb``, ``virtuoso``,
                               ``stardog``, ``neptune``, ``generic``); default: told by the server's
                               ``Server`` header
    ``QUALITAS_STORE_QUERY_ENDPOINT`` / ``_UPDATE_ENDPOINT`` / ``_GSP_ENDPOINT``  override the
                               server kind's endpoints (absolute URLs, or paths under the store URL)
    ``QUALITAS_STORE_TIMEOUT_S``  read timeout of one remote query (default 60; an update gets 10x);
    ``QUALITAS_STORE_CONNECT_TIMEOUT_S`` (default 5)
    ``QUALITAS_STORE_RETRIES``  tries on a transient error (connection refused, 502/503/504), with
                               exponential backoff (default 5)
    ``QUALITAS_STORE_CA_FILE``  CA bundle for an ``https://`` / ``+s`` store; ``QUALITAS_STORE_TLS_VERIFY``
                               (default true)
    ``QUALITAS_SETTINGS_FILE``  a TOML file with any of these settings (keys without the prefix, e.g.
                               ``store_password = "..."``); default ``./qualitas.toml`` where it exists.
                               Environment variables win over the file; a file holding
                               ``store_password`` must not be readable by others (mode 0600)
    ``QUALITAS_HOST``    address ``serve`` binds to (default ``127.0.0.1``)
    ``QUALITAS_PORT``    port (default ``8000``)
    ``QUALITAS_ENVIRONMENT``  ``development`` (default) or ``production``
    ``QUALITAS_SECRET_KEY``   signs tokens and anchors the audit trail; required (32+ characters) in
                              production; in development, unset means the installation's own secret
    ``QUALITAS_SECRET_FILE``  that per-installation secret, generated on first use with mode 0600
                              (default ``<store parent>/secret.key``)
    ``QUALITAS_AGENT``   who is recorded as the agent of loads (default: the OS user)
    ``QUALITAS_AUDIT_LOG``  the audit trail file (default ``<store parent>/audit/audit.jsonl``)
    ``QUALITAS_INGEST_DIR``  drop folder the ``loadFiles`` mutation reads from (default: unset, loadFiles off)
    ``QUALITAS_CHAT_CONFIG``  chat robots (DingTalk, WeCom, Feishu, Slack) in and out, YAML (default: unset, off)

    API security (see README "API access"):

    ``QUALITAS_AUTH_DB``  users and API keys (SQLite; default ``<store parent>/auth.sqlite``)
    ``QUALITAS_ALLOW_ANONYMOUS_READS``  let requests without credentials run read queries (default off)
    ``QUALITAS_TOKEN_TTL_S``  lifetime of bearer tokens from ``POST /auth/token`` (default 3600)
    ``QUALITAS_MAX_QUERY_DEPTH`` / ``QUALITAS_MAX_QUERY_COST`` / ``QUALITAS_MAX_ALIASES``  query limits
    ``QUALITAS_MAX_PAGE_SIZE``  largest ``first`` a connection takes (default 100)
    ``QUALITAS_MAX_BODY_BYTES``  largest request body (default 1 MB)
    ``QUALITAS_REQUEST_TIMEOUT_S``  a query still resolving after this is stopped (default 30)
    ``QUALITAS_RESOLVER_THREADS``  worker threads for blocking resolvers (default 1: rdflib's
        SPARQL parser, which pySHACL uses, is not thread-safe on first use)
    ``QUALITAS_AUDIT_REFUSALS_PER_MINUTE``  refused requests recorded per client and minute (default 10)
    ``QUALITAS_ANSWER_CACHE_ENTRIES``  read answers kept per store snapshot (default 1024; 0: none)
    ``QUALITAS_INTROSPECTION``  schema introspection and GraphiQL (default: on in development, off in production)
    """

    model_config = SettingsConfigDict(env_prefix="QUALITAS_", extra="ignore")

    #: A directory (Path) or a remote store's URL (str, kept as typed: a Path would fold ``//``).
    store: Path | str = Field(default=Path(".qualitas/store"))
    store_user: str | None = None
    store_password: SecretStr | None = None
    store_database: str = "neo4j"
    store_server: Literal["oxigraph", "fuseki", "graphdb", "virtuoso", "stardog", "neptune", "generic"] | None = None
    store_query_endpoint: str | None = None
    store_update_endpoint: str | None = None
    store_gsp_endpoint: str | None = None
    store_timeout_s: float = Field(default=60.0, gt=0)
    store_connect_timeout_s: float = Field(default=5.0, gt=0)
    store_retries: int = Field(default=5, ge=1, le=20)
    store_ca_file: Path | None = None
    store_tls_verify: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Literal["development", "production"] = "development"
    #: None: the installation's own random secret (``secret_file``), made on first use.
    secret_key: str | None = None
    secret_file: Path | None = None
    agent: str | None = None
    #: The audit trail (JSON Lines); None means ``<store directory's parent>/audit/audit.jsonl``.
    audit_log: Path | None = None
    #: The drop folder the ``loadFiles`` mutation reads from (files are named relative to it);
    #: None disables ``loadFiles``.
    ingest_dir: Path | None = None
    #: Chat robots in and out (YAML, see qualitas/chat/_config.py); None: no chat routes, no alerts out.
    chat_config: Path | None = None

    auth_db: Path | None = None
    allow_anonymous_reads: bool = False
    token_ttl_s: int = Field(default=3600, ge=60, le=86400)
    max_query_depth: int = Field(default=12, ge=2)
    max_query_cost: int = Field(default=5000, ge=10)
    max_aliases: int = Field(default=30, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    request_timeout_s: float = Field(default=30.0, gt=0)
    resolver_threads: int = Field(default=1, ge=1, le=64)
    audit_refusals_per_minute: int = Field(default=10, ge=1, le=10_000)
    answer_cache_entries: int = Field(default=1024, ge=0, le=1_000_000)
    introspection: bool | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then the environment, then the settings file (if any)."""
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings, dotenv_settings)
        path = settings_file()
        if path is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=path),)
        return (*sources, file_secret_settings)

    @field_validator("store", mode="before")
    @classmethod
    def _store_path_or_url(cls, value: object) -> object:
        if isinstance(value, str) and not is_store_url(value):
            return Path(value)
        return value

    @model_validator(mode="after")
    def _login_out_of_the_url(self) -> Settings:
        """``http://user:password@host/…``: the login moves to ``store_user`` /
        ``store_password`` and ``store`` keeps the URL without it, so that printing the
        store's location never prints a password."""
        if isinstance(self.store, str):
            parts = urlsplit(self.store)
            if parts.username is not None or parts.password is not None:
                if parts.username:
                    self.store_user = unquote(parts.username)
                if parts.password is not None:
                    self.store_password = SecretStr(unquote(parts.password))
                host = parts.hostname or ""
                netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
                self.store = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return self

    @property
    def store_is_remote(self) -> bool:
        return isinstance(self.store, str)

    @property
    def state_dir(self) -> Path:
        """Where this installation keeps its local files (audit trail, users, secret,
        packs): the store directory's parent, or ``./.qualitas`` for a remote store."""
        if isinstance(self.store, str):
            return Path(".qualitas").resolve()
        return Path(self.store).resolve().parent

    @property
    def auth_db_path(self) -> Path:
        return self.auth_db if self.auth_db is not None else self.state_dir / "auth.sqlite"

    @property
    def uses_placeholder_secret(self) -> bool:
        return self.secret_key is not None and self.secret_key.strip().lower() in _PLACEHOLDER_SECRETS

    @property
    def secret_file_path(self) -> Path:
        return self.secret_file if self.secret_file is not None else self.state_dir / "secret.key"

    def signing_secret(self) -> str:
        """The secret that signs bearer tokens and anchors the audit trail's head.

        ``QUALITAS_SECRET_KEY`` where set; otherwise (development only) this
        installation's random secret in :attr:`secret_file_path`, generated on first use
        with permissions 0600. Never a public default: a placeholder anyone knows would
        let anyone rewrite the audit trail and re-anchor it (21 CFR 11.10(e))."""
        if self.secret_key is not None:
            return self.secret_key
        return installation_secret(self.secret_file_path)

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else self.environment == "development"

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key is None or self.uses_placeholder_secret or len(self.secret_key) < 32
        ):
            raise ConfigError(
                "QUALITAS_SECRET_KEY must be set to a real secret of at least 32 characters when "
                "QUALITAS_ENVIRONMENT=production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.uses_placeholder_secret:
            raise ConfigError(
                f"QUALITAS_SECRET_KEY={self.secret_key!r} is a public placeholder: anybody could forge tokens "
                "and re-anchor the audit trail with it. Unset it (each installation then generates its own "
                "secret, mode 0600, in <store parent>/secret.key) or set a real secret"
            )
        return self


_SECRET_MIN = 32
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_store_url(value: str) -> bool:
    """``http://…``, ``bolt://…`` and the like, as opposed to a directory."""
    return bool(_URL.match(value))


def store_location(value: str | Path) -> Path | str:
    """A ``--store`` value as the settings hold it: a URL as typed, anything else a Path."""
    if isinstance(value, str) and is_store_url(value):
        return value
    return Path(value)


def settings_file() -> Path | None:
    """``QUALITAS_SETTINGS_FILE`` (which must exist), else ``./qualitas.toml`` where it exists.
    A file that sets ``store_password`` must not be readable by group or others."""
    named = os.environ.get("QUALITAS_SETTINGS_FILE")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{path}: QUALITAS_SETTINGS_FILE names no file", file=str(path))
    else:
        path = Path("qualitas.toml")
        if not path.is_file():
            return None
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML settings file: {exc}", file=str(path)) from exc
    mode = path.stat().st_mode
    if "store_password" in data and mode & 0o077:
        raise ConfigError(
            f"{path}: holds store_password but may be read by others (mode {mode & 0o777:o}); run: chmod 600 {path}",
            file=str(path),
        )
    return path


def installation_secret(path: Path) -> str:
    """The secret in ``path``, made first if missing: 48 random bytes (URL-safe), written
    to a private temporary file (mode 0600) and linked into place, so two processes
    starting at once agree on one secret. A file others may read, or one without a
    secret in it, is refused (:class:`ConfigError`) rather than used or replaced."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(48) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and never replaces a secret another process wrote first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the installation secret: {exc.strerror}", file=str(path)) from exc
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    mode = os.stat(path).st_mode  # FileNotFoundError: the caller makes one
    if mode & 0o077:
        raise ConfigError(
            f"{path}: the secret file may be read by others (mode {mode & 0o777:o}); run: chmod 600 {path}",
            file=str(path),
        )
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < _SECRET_MIN:
        raise ConfigError(
            f"{path}: holds no secret of at least {_SECRET_MIN} characters; remove the file to generate a new "
            "one (bearer tokens made before then stop working, and the audit trail must be started afresh)",
            file=str(path),
        )
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

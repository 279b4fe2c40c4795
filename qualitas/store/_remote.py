"""What every remote backend needs to reach its server: the URL, the login, TLS,
timeouts and the retry policy, and the rules for mentioning any of it.

A :class:`Connection` is built from the settings (:func:`connection_from_settings`)
and handed to the backend's constructor. Its password never appears in ``repr``, and
:func:`redact` takes any user information out of a URL before it goes into a log line
or an error message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from qualitas.settings import Settings

T = TypeVar("T")

#: URL schemes by backend name.
SCHEMES: dict[str, tuple[str, ...]] = {
    "sparql": ("http", "https"),
    "bolt": ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"),
}


@dataclass(frozen=True)
class Connection:
    """How to reach and log in to a remote store."""

    url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    #: SPARQL only: the server kind (endpoint defaults and write strategy), None: ask the server.
    server: str | None = None
    query_endpoint: str | None = None
    update_endpoint: str | None = None
    gsp_endpoint: str | None = None
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    #: Tries of one request on a transient error (the first included).
    retries: int = 5
    ca_file: Path | None = None
    tls_verify: bool = True

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def safe_url(self) -> str:
        """The URL without user information: the form every message uses."""
        return redact(self.url)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1``: 0.2, 0.4, 0.8 … (max 5), with jitter."""
        return float(min(5.0, 0.2 * 2**attempt) * (0.75 + random.random() / 2))

    def retrying(self, call: Callable[[], T], *, transient: Callable[[BaseException], bool]) -> T:
        """``call()``, tried again after a backoff while it fails with a transient error.
        Only for calls that are safe to repeat (reads, idempotent writes)."""
        for attempt in range(self.retries):
            try:
                return call()
            except Exception as exc:
                if attempt == self.retries - 1 or not transient(exc):
                    raise
                time.sleep(self.backoff(attempt))
        raise AssertionError("unreachable")


def redact(url: str) -> str:
    """``url`` without ``user:password@``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def backend_for(location: object) -> str:
    """The backend a store location names: ``oxigraph`` for a path (or None), else by scheme."""
    if not isinstance(location, str) or "://" not in location:
        return "oxigraph"
    scheme = urlsplit(location).scheme.lower()
    for backend, schemes in SCHEMES.items():
        if scheme in schemes:
            return backend
    from qualitas.errors import ConfigError

    known = ", ".join(s + "://" for schemes in SCHEMES.values() for s in schemes)
    raise ConfigError(f"store URL {redact(location)!r}: unknown scheme {scheme!r}; known: {known}, or a directory")


def connection_from_settings(url: str, settings: Settings) -> Connection:
    """The connection for ``url``: credentials from the URL's user information if it has
    any, else ``QUALITAS_STORE_USER`` / ``QUALITAS_STORE_PASSWORD`` (or the settings file)."""
    parts = urlsplit(url)
    user = unquote(parts.username) if parts.username else settings.store_user
    if parts.password is not None:
        password: str | None = unquote(parts.password)
    else:
        password = settings.store_password.get_secret_value() if settings.store_password else None
    return Connection(
        url=redact(url),
        user=user,
        password=password,
        database=settings.store_database,
        server=settings.store_server,
        query_endpoint=settings.store_query_endpoint,
        update_endpoint=settings.store_update_endpoint,
        gsp_endpoint=settings.store_gsp_endpoint,
        timeout_s=settings.store_timeout_s,
        connect_timeout_s=settings.store_connect_timeout_s,
        retries=settings.store_retries,
        ca_file=settings.store_ca_file,
        tls_verify=settings.store_tls_verify,
    )

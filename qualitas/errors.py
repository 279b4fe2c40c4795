"""Every error Qualitas raises, and how each surface reports it.

The tree::

    QualitasError                      base; carries an optional context mapping
    ├── ConfigError                    bad settings or environment
    ├── InputError                     a file or record a user gave us is wrong
    │   ├── ParseError                 syntax error at a file and line
    │   └── ValidationError            parses, but breaks the data model (field, row)
    ├── NotFoundError                  a business key (complaint, lot, product) is unknown
    ├── StoreError                     the graph store failed (I/O, lock, corruption)
    │   └── StoreBusyError             another process holds the store open for writing
    ├── AuditTamperedError             the audit trail was edited, cut or re-anchored
    ├── AuthenticationError            no valid API key or token where one is needed
    ├── PermissionDeniedError          authenticated, but the role may not do this
    ├── LimitExceededError             a request over a configured limit (depth, cost, size, time)
    ├── DeliveryError                  an outside service (a chat robot) did not take a message
    └── MissingExtraError              an optional dependency is not installed

Third-party exceptions are caught only in adapters and re-raised as one of these
``from exc``. ``ERROR_TABLE`` maps each class to an HTTP status, a GraphQL error
code and a CLI exit code, so the three surfaces always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class QualitasError(Exception):
    """Root of every error raised by Qualitas."""

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = {key: value for key, value in context.items() if value is not None}

    def __str__(self) -> str:
        return self.message


class ConfigError(QualitasError):
    """Settings or environment are wrong (e.g. a placeholder secret in production)."""


class InputError(QualitasError):
    """Input supplied by a user is wrong; the store was left unchanged."""


class ParseError(InputError):
    """A file does not parse. The message names the file and the line."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None) -> None:
        where = ""
        if file is not None:
            where = f"{file}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message, file=str(file) if file else None, line=line)
        self.file = str(file) if file is not None else None
        self.line = line


class ValidationError(InputError):
    """Input parses but breaks the data model; names the record and field."""


class NotFoundError(QualitasError):
    """A business key does not exist in the store."""


class StoreError(QualitasError):
    """The graph store failed; the last committed state is intact."""


class StoreBusyError(StoreError):
    """Another process (e.g. ``qualitas serve``) holds the store open for writing, or, for a
    read-only open, is in the middle of a bulk load."""


class AuthenticationError(QualitasError):
    """The caller gave no credentials, or an unknown, revoked or expired key or token."""


class PermissionDeniedError(QualitasError):
    """The caller is known, but their role is not allowed this field or mutation."""


class LimitExceededError(QualitasError):
    """A request exceeds a configured limit: query depth or cost, page size, body size, time."""


class AuditTamperedError(QualitasError):
    """The audit trail fails verification (an edited, deleted or reordered record, a cut
    tail or a forged head anchor); the message names the line and the problem.
    See 21 CFR 11.10(e): https://www.ecfr.gov/current/title-21/part-11#p-11.10(e)"""


class DeliveryError(QualitasError):
    """A chat robot (DingTalk, WeCom, Feishu, Slack) did not take a message, after the
    retries where retrying made sense; the message names the channel and the answer."""


class MissingExtraError(QualitasError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, *, extra: str) -> None:
        super().__init__(
            f"{package} is not installed; install it with: pip install 'qualitas[{extra}]'",
            package=package,
            extra=extra,
        )


@dataclass(frozen=True)
class ErrorMapping:
    http_status: int
    graphql_code: str
    exit_code: int


ERROR_TABLE: dict[type[QualitasError], ErrorMapping] = {
    ParseError: ErrorMapping(422, "PARSE_ERROR", 65),
    ValidationError: ErrorMapping(422, "VALIDATION_ERROR", 65),
    InputError: ErrorMapping(400, "BAD_INPUT", 64),
    NotFoundError: ErrorMapping(404, "NOT_FOUND", 66),
    ConfigError: ErrorMapping(500, "CONFIG_ERROR", 78),
    AuthenticationError: ErrorMapping(401, "UNAUTHENTICATED", 77),
    PermissionDeniedError: ErrorMapping(403, "FORBIDDEN", 77),
    LimitExceededError: ErrorMapping(400, "LIMIT_EXCEEDED", 64),
    StoreError: ErrorMapping(503, "STORE_ERROR", 74),
    AuditTamperedError: ErrorMapping(500, "AUDIT_TAMPERED", 65),
    MissingExtraError: ErrorMapping(501, "MISSING_EXTRA", 69),
    DeliveryError: ErrorMapping(502, "DELIVERY_FAILED", 69),
    QualitasError: ErrorMapping(500, "INTERNAL", 70),
}


def mapping_for(error: QualitasError) -> ErrorMapping:
    """The most specific mapping for ``error`` (walks the class's MRO)."""
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return ERROR_TABLE[QualitasError]

"""Core errors as GraphQL errors: ``extensions.code`` from ``qualitas.errors.ERROR_TABLE``,
plus the error's context (file, line, field ...) as strings.

What reaches a client never names a path on the server: absolute paths in messages
and extensions are cut to their last part (``/srv/qualitas/audit/audit.head`` becomes
``audit.head``), here and, for errors made elsewhere, by :class:`ClientSafeErrors`.
The server log gets one line per client error (refused, not found, bad input, over a
limit) and a traceback only for what is the server's own fault
(:func:`log_errors`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.utils.logging import StrawberryLogger

from qualitas.errors import QualitasError, mapping_for

logger = logging.getLogger("qualitas.graphql")

#: Codes that describe the request, not the server: logged as one line, no traceback.
CLIENT_CODES = frozenset(
    {
        "BAD_INPUT",
        "PARSE_ERROR",
        "VALIDATION_ERROR",
        "NOT_FOUND",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "LIMIT_EXCEEDED",
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
    }
)

# An absolute POSIX path of two or more parts, not inside a URL ("https://host/a/b").
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s'\"/`<>|]+/)+([^\s'\"/`<>|,;)\]]+)")


def client_safe(text: str) -> str:
    """``text`` with every absolute path cut to its last part."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), text)


def _safe_value(value: Any) -> Any:
    if isinstance(value, str):
        return client_safe(value)
    if isinstance(value, dict):
        return {k: _safe_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe_value(v) for v in value]
    return value


def graphql_error(exc: QualitasError) -> GraphQLError:
    extensions = {"code": mapping_for(exc).graphql_code, **{k: client_safe(str(v)) for k, v in exc.context.items()}}
    return GraphQLError(client_safe(exc.message), extensions=extensions)


def make_client_safe(error: GraphQLError) -> None:
    """Cut server paths out of ``error``'s message and extensions, in place."""
    error.message = client_safe(error.message)
    if error.extensions:
        error.extensions = _safe_value(dict(error.extensions))


class ClientSafeErrors(SchemaExtension):
    """Makes every error of the result client-safe (see the module docstring), after
    the server log has had the original (``Schema.process_errors`` runs first)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            make_client_safe(error)
        for error in self.execution_context.pre_execution_errors or ():
            make_client_safe(error)


def _is_client_error(error: GraphQLError) -> bool:
    code = (error.extensions or {}).get("code")
    if code is not None:
        return code in CLIENT_CODES
    # no code: a document that does not parse or validate (no original error), or a
    # Python exception from a resolver (the server's fault)
    return error.original_error is None


_LOGGED_CHARACTERS = 300


def one_line(text: str, *, limit: int = _LOGGED_CHARACTERS) -> str:
    """``text`` fit for one log line: control characters (line breaks, terminal escapes)
    escaped, so that a caller cannot forge log lines, and at most ``limit`` characters."""
    safe = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return safe if len(safe) <= limit else f"{safe[:limit]}… ({len(safe)} characters)"


def log_errors(errors: list[GraphQLError], execution_context: Any = None) -> None:
    """One log line per client error; a traceback only for unexpected exceptions."""
    for error in errors:
        original = error.original_error
        where = one_line(".".join(str(p) for p in error.path), limit=100) if error.path else "-"
        code = (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
        message = one_line(error.message)
        if _is_client_error(error):
            logger.warning("graphql %s at %s: %s", code, where, message)
        elif original is None or isinstance(original, GraphQLError | QualitasError):
            logger.error("graphql %s at %s: %s", code, where, message)
        else:
            StrawberryLogger.error(error, execution_context)

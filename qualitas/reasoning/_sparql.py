"""Small helpers to build SPARQL safely from business keys."""

from __future__ import annotations

from collections.abc import Iterable


def literal(value: str) -> str:
    """A SPARQL string literal for ``value``, escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def iri(value: str) -> str:
    if any(ch in value for ch in '<>"{}|^`\\ \n'):
        raise ValueError(f"not a safe IRI: {value!r}")
    return f"<{value}>"


def values(var: str, iris: Iterable[str]) -> str:
    """``VALUES ?var { <a> <b> }``; an empty list matches nothing."""
    return f"VALUES ?{var} {{ {' '.join(iri(i) for i in sorted(set(iris)))} }}"

"""Who is calling: the principal every request, CLI command and edge runner acts as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["compliance", "engineer", "auditor", "edge", "admin", "supplier"]

#: The roles, as ``qualitas users add --role`` takes them. A ``supplier`` user is bound
#: to one supplier id and reads only that supplier's portal (qualitas.graphql.supplier).
ROLES: tuple[Role, ...] = ("compliance", "engineer", "auditor", "edge", "admin", "supplier")


@dataclass(frozen=True)
class Principal:
    """An authenticated user (or the anonymous reader, where the settings allow one).

    ``role`` is ``None`` only for :data:`ANONYMOUS`; ``key_id`` names the API key or
    token that authenticated the request (``None`` for local CLI use); ``by_token`` says
    it was a bearer token made from that key, not the key itself; ``supplier`` is the
    supplier id a ``supplier`` user speaks for (``None`` for every other role).
    """

    name: str
    role: Role | None
    key_id: str | None = None
    by_token: bool = False
    supplier: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.role is None


ANONYMOUS = Principal(name="anonymous", role=None)

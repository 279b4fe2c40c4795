"""Authentication and roles: who may call the API, and as what.

``Authenticator`` turns the ``Authorization: Bearer ...`` credential of a request
(an API key or a token made from one) into a :class:`Principal`; the GraphQL layer
then checks the principal's role against the policy table in
:mod:`qualitas.graphql.security`.
"""

from __future__ import annotations

import dataclasses
import hashlib

from qualitas.auth._principal import ANONYMOUS, ROLES, Principal, Role
from qualitas.auth._store import ApiKeyInfo, AuthStore, IssuedKey, User
from qualitas.auth._tokens import TokenClaims, issue_token, read_token
from qualitas.errors import AuthenticationError
from qualitas.settings import Settings

__all__ = [
    "ANONYMOUS",
    "ROLES",
    "ApiKeyInfo",
    "AuthStore",
    "Authenticator",
    "IssuedKey",
    "Principal",
    "Role",
    "TokenClaims",
    "User",
    "issue_token",
    "read_token",
]


class Authenticator:
    """Credentials to principals, for one server process.

    Tokens are signed with ``settings.signing_secret()``: ``QUALITAS_SECRET_KEY``, or
    the installation's own random secret, never a secret everybody knows. Only an
    API key obtains a token (:meth:`token_for`): a token cannot renew itself.
    """

    def __init__(self, settings: Settings, *, users: AuthStore | None = None) -> None:
        self.settings = settings
        self.users = users if users is not None else AuthStore(settings.auth_db_path)
        self._secret = hashlib.sha256(b"qualitas-token\0" + settings.signing_secret().encode()).digest()

    def close(self) -> None:
        self.users.close()

    def from_header(self, authorization: str | None) -> Principal:
        """``Authorization`` header value (or None) to a principal; no header is anonymous."""
        if authorization is None or not authorization.strip():
            return ANONYMOUS
        scheme, _, credential = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise AuthenticationError("use 'Authorization: Bearer <API key or token>'")
        return self.from_credential(credential.strip())

    def from_credential(self, credential: str) -> Principal:
        if credential.startswith("qk_"):
            return self.users.authenticate_key(credential)
        claims = read_token(credential, secret=self._secret)
        principal = self.users.active_principal(claims.kid)
        if principal.name != claims.sub:
            raise AuthenticationError("bearer token does not match its key")
        return dataclasses.replace(principal, by_token=True)

    def token_for(self, principal: Principal) -> tuple[str, int]:
        """A bearer token for an authenticated principal, and its lifetime in seconds."""
        if principal.key_id is None or principal.role is None or principal.by_token:
            raise AuthenticationError(
                "a token is made from an API key, not from another token: "
                "POST /auth/token with 'Authorization: Bearer <API key>'"
            )
        ttl = self.settings.token_ttl_s
        token = issue_token(
            secret=self._secret, sub=principal.name, role=principal.role, kid=principal.key_id, ttl_s=ttl
        )
        return token, ttl

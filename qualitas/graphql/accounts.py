"""``whoami``, and user and API-key administration for admins (the same as
``qualitas users`` / ``qualitas keys``). Who may call each field is in
:data:`qualitas.graphql.security.POLICY`."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from qualitas.auth import AuthStore, Principal
from qualitas.errors import QualitasError
from qualitas.graphql._errors import graphql_error as _error
from qualitas.graphql.security import principal_of


def _users(info: Info) -> AuthStore:
    authenticator = info.context.get("authenticator")
    if authenticator is None:
        raise GraphQLError("accounts are not available in this server", extensions={"code": "CONFIG_ERROR"})
    return authenticator.users  # type: ignore[no-any-return]


@strawberry.type
class Whoami:
    name: str
    role: str | None = strawberry.field(description="compliance, engineer, auditor, edge or admin; null if anonymous")
    key_id: str | None
    anonymous: bool


@strawberry.type
class UserAccount:
    name: str
    role: str
    created_at: str
    disabled: bool


@strawberry.type
class ApiKey:
    key_id: str
    user: str
    label: str | None
    created_at: str
    revoked_at: str | None


@strawberry.type(description="A new API key. `secret` is the key itself: shown this once, stored only as a hash.")
class IssuedApiKey:
    key_id: str
    user: str
    secret: str


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The caller: user name and role (from the API key or token).")
    def whoami(self, info: Info) -> Whoami:
        principal: Principal = principal_of(info.context)
        return Whoami(
            name=principal.name, role=principal.role, key_id=principal.key_id, anonymous=principal.is_anonymous
        )

    @strawberry.field(description="All users (admin).")
    def users(self, info: Info) -> list[UserAccount]:
        return [
            UserAccount(name=u.name, role=u.role, created_at=u.created_at, disabled=u.disabled)
            for u in _users(info).users()
        ]

    @strawberry.field(description="API keys, never the keys themselves (admin).")
    def api_keys(self, info: Info, user: str | None = None) -> list[ApiKey]:
        return [
            ApiKey(key_id=k.key_id, user=k.user, label=k.label, created_at=k.created_at, revoked_at=k.revoked_at)
            for k in _users(info).keys(user=user)
        ]


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Add a user with a role (admin).")
    def create_user(self, info: Info, name: str, role: str) -> UserAccount:
        try:
            u = _users(info).add_user(name, role)
        except QualitasError as exc:
            raise _error(exc) from exc
        return UserAccount(name=u.name, role=u.role, created_at=u.created_at, disabled=u.disabled)

    @strawberry.mutation(description="Create an API key for a user (admin); the answer holds the key, once.")
    def create_api_key(self, info: Info, user: str, label: str | None = None) -> IssuedApiKey:
        try:
            issued = _users(info).create_key(user, label=label)
        except QualitasError as exc:
            raise _error(exc) from exc
        return IssuedApiKey(key_id=issued.key_id, user=issued.user, secret=issued.secret)

    @strawberry.mutation(description="Revoke an API key and its tokens at once (admin).")
    def revoke_api_key(self, info: Info, key_id: str) -> ApiKey:
        try:
            k = _users(info).revoke_key(key_id)
        except QualitasError as exc:
            raise _error(exc) from exc
        return ApiKey(key_id=k.key_id, user=k.user, label=k.label, created_at=k.created_at, revoked_at=k.revoked_at)

"""``qualitas users add|list|disable`` and ``qualitas keys create|list|revoke``.

Mounted by ``qualitas/cli.py`` through its ``PLUGINS`` list (``register(app)``).
The key is printed once, by ``keys create``; only its Argon2 hash is kept.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from qualitas.auth._principal import ROLES

users_app = typer.Typer(help="API users and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


def _auth_store():  # type: ignore[no-untyped-def]
    from qualitas import cli as root
    from qualitas.auth._store import AuthStore

    return AuthStore(root._settings().auth_db_path)


def _emit(value: object) -> None:
    from qualitas import cli as root

    sys.stdout.write(json.dumps(root.to_jsonable(value), ensure_ascii=False, indent=2) + "\n")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    supplier: Annotated[
        str | None, typer.Option("--supplier", help="For --role supplier: the supplier id the user speaks for.")
    ] = None,
) -> None:
    """Add a user with a role (a supplier user with the supplier it speaks for)."""
    from qualitas import cli as root

    def action() -> None:
        users = _auth_store()
        try:
            user = users.add_user(name, role, supplier=supplier)
        finally:
            users.close()
        scope = f" for supplier {user.supplier}" if user.supplier else ""
        root.out.print(f"user {user.name} added with role {user.role}{scope}")

    root._run(action)


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users."""
    from qualitas import cli as root

    def action() -> None:
        users = _auth_store()
        try:
            rows = users.users()
        finally:
            users.close()
        if as_json:
            _emit(rows)
            return
        for user in rows:
            scope = f"\tsupplier {user.supplier}" if user.supplier else ""
            root.out.print(
                f"{user.name}\t{user.role}\t{'disabled' if user.disabled else 'active'}\t{user.created_at}{scope}"
            )

    root._run(action)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: every key and token of theirs stops working."""
    from qualitas import cli as root

    def action() -> None:
        users = _auth_store()
        try:
            users.disable_user(name)
        finally:
            users.close()
        root.out.print(f"user {name} disabled")

    root._run(action)


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Argument(help="The user the key acts as.")],
    label: Annotated[str | None, typer.Option("--label", help="What the key is for (e.g. 'line 3 gateway').")] = None,
) -> None:
    """Create an API key and print it once; it cannot be shown again."""
    from qualitas import cli as root

    def action() -> None:
        users = _auth_store()
        try:
            issued = users.create_key(user, label=label)
        finally:
            users.close()
        root.err.print(f"API key {issued.key_id} for {issued.user} (shown once; keep it secret):")
        sys.stdout.write(issued.secret + "\n")

    root._run(action)


@keys_app.command("list")
def keys_list(
    user: Annotated[str | None, typer.Option("--user")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List keys (ids, owners, state; never the keys themselves)."""
    from qualitas import cli as root

    def action() -> None:
        users = _auth_store()
        try:
            rows = users.keys(user=user)
        finally:
            users.close()
        if as_json:
            _emit(rows)
            return
        for key in rows:
            state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
            root.out.print(f"{key.key_id}\t{key.user}\t{state}\t{key.label or ''}")

    root._run(action)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (the part after qk_).")]) -> None:
    """Revoke a key, and the bearer tokens made from it, at once."""
    from qualitas import cli as root

    def action() -> None:
        users = _auth_store()
        try:
            info = users.revoke_key(key_id)
        finally:
            users.close()
        root.out.print(f"API key {info.key_id} of {info.user} revoked at {info.revoked_at}")

    root._run(action)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")

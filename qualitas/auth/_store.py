"""Users and API keys, kept in SQLite beside the graph store.

An API key reads ``qk_<key id>_<secret>``. It is shown once, when created; the
database keeps only its Argon2id hash (argon2-cffi, RFC 9106 parameters), the key
id to find the row, and whether it was revoked. A key that verified once is
remembered in this process by its SHA-256 so that requests do not pay Argon2's
deliberate cost each time; revocation is read from the database on every request,
so a key revoked from the CLI stops working at once in a running server.

Bearer tokens (``POST /auth/token``) are short-lived HMAC-signed tokens made from
a key (see :mod:`qualitas.auth._tokens`); they name their key, so revoking the key
revokes its tokens too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qualitas.auth._principal import ROLES, Principal, Role
from qualitas.errors import AuthenticationError, InputError, NotFoundError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_KEY = re.compile(r"^qk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    label TEXT,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: str
    disabled: bool
    supplier: str | None = None


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    user: str
    label: str | None
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``secret`` is the whole key, shown once and never stored."""

    key_id: str
    user: str
    secret: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class AuthStore:
    """Users and API keys. Safe to share between threads; several processes may open
    the same file (SQLite's own locking)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(users)")}
        if "supplier" not in columns:  # databases made before the supplier role
            try:
                self._db.execute("ALTER TABLE users ADD COLUMN supplier TEXT")
            except sqlite3.OperationalError:  # another process added it a moment ago
                if "supplier" not in {row[1] for row in self._db.execute("PRAGMA table_info(users)")}:
                    raise
        self._lock = threading.Lock()
        self._hasher = PasswordHasher()
        self._verified: dict[str, str] = {}  # key id -> sha256 of a key that passed Argon2 here

    def close(self) -> None:
        self._db.close()

    # users ---------------------------------------------------------------------------
    def add_user(self, name: str, role: str, *, supplier: str | None = None) -> User:
        if not _NAME.match(name):
            raise InputError(
                f"user name {name!r} must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)",
                field="name",
            )
        if role not in ROLES:
            raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
        if (role == "supplier") != bool(supplier and supplier.strip()):
            raise InputError(
                "a user of the supplier role needs --supplier <supplier id>, and only that role takes one",
                field="supplier",
            )
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO users(name, role, created_at, supplier) VALUES (?, ?, ?, ?)",
                    (name, role, _now(), supplier.strip() if supplier else None),
                )
            except sqlite3.IntegrityError as exc:
                raise InputError(f"user {name!r} exists already", field="name") from exc
        return self.user(name)

    def user(self, name: str) -> User:
        row = self._db.execute(
            "SELECT name, role, created_at, disabled_at, supplier FROM users WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no user {name!r}", user=name)
        return User(name=row[0], role=row[1], created_at=row[2], disabled=row[3] is not None, supplier=row[4])

    def users(self) -> list[User]:
        rows = self._db.execute(
            "SELECT name, role, created_at, disabled_at, supplier FROM users ORDER BY name"
        ).fetchall()
        return [User(name=r[0], role=r[1], created_at=r[2], disabled=r[3] is not None, supplier=r[4]) for r in rows]

    def disable_user(self, name: str) -> User:
        self.user(name)
        with self._lock:
            self._db.execute("UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL", (_now(), name))
        return self.user(name)

    # keys ----------------------------------------------------------------------------
    def create_key(self, user: str, *, label: str | None = None) -> IssuedKey:
        if self.user(user).disabled:
            raise InputError(f"user {user!r} is disabled", field="user")
        key_id = secrets.token_hex(6)
        secret = f"qk_{key_id}_{secrets.token_urlsafe(32)}"
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys(key_id, user_name, label, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (key_id, user, label, self._hasher.hash(secret), _now()),
            )
        return IssuedKey(key_id=key_id, user=user, secret=secret)

    def revoke_key(self, key_id: str) -> ApiKeyInfo:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (_now(), key_id)
            )
            if cursor.rowcount == 0 and not self._key_rows(key_id):
                raise NotFoundError(f"no API key {key_id!r}", key_id=key_id)
            self._verified.pop(key_id, None)
        return self.keys(key_id=key_id)[0]

    def keys(self, *, user: str | None = None, key_id: str | None = None) -> list[ApiKeyInfo]:
        sql = "SELECT key_id, user_name, label, created_at, revoked_at FROM api_keys"
        clauses, args = [], []
        if user is not None:
            clauses.append("user_name = ?")
            args.append(user)
        if key_id is not None:
            clauses.append("key_id = ?")
            args.append(key_id)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = self._db.execute(sql + " ORDER BY created_at, key_id", args).fetchall()
        return [ApiKeyInfo(key_id=r[0], user=r[1], label=r[2], created_at=r[3], revoked_at=r[4]) for r in rows]

    def _key_rows(self, key_id: str) -> list[tuple[str, str, str | None, str, str | None, str | None]]:
        return self._db.execute(
            "SELECT k.hash, u.name, k.revoked_at, u.role, u.disabled_at, u.supplier FROM api_keys k "
            "JOIN users u ON u.name = k.user_name WHERE k.key_id = ?",
            (key_id,),
        ).fetchall()

    def active_principal(self, key_id: str) -> Principal:
        """The user behind a key that is still valid (for tokens made from it)."""
        return self._principal(key_id, self._key_rows(key_id))

    @staticmethod
    def _principal(key_id: str, rows: list[tuple[str, str, str | None, str, str | None, str | None]]) -> Principal:
        if not rows:
            raise AuthenticationError("unknown API key")
        _, name, revoked, role, disabled, supplier = rows[0]
        if revoked is not None:
            raise AuthenticationError("the API key was revoked")
        if disabled is not None:
            raise AuthenticationError("the user is disabled")
        return Principal(name=name, role=role, key_id=key_id, supplier=supplier)  # type: ignore[arg-type]

    def authenticate_key(self, key: str) -> Principal:
        """The principal for a whole API key, or :class:`AuthenticationError`."""
        match = _KEY.match(key)
        if match is None:
            raise AuthenticationError("malformed API key (expected qk_<id>_<secret>)")
        key_id = match.group(1)
        rows = self._key_rows(key_id)
        if not rows:
            raise AuthenticationError("unknown API key")
        stored_hash = rows[0][0]
        digest = hashlib.sha256(key.encode()).hexdigest()
        remembered = self._verified.get(key_id)
        if remembered is None or not hmac.compare_digest(remembered, digest):
            try:
                self._hasher.verify(stored_hash, key)
            except (VerificationError, InvalidHashError) as exc:
                raise AuthenticationError("unknown API key") from exc
            self._verified[key_id] = digest
        return self._principal(key_id, rows)

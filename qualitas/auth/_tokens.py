"""Short-lived bearer tokens: JWS compact serialization with HS256 (RFC 7515, RFC 7519).

A token carries ``sub`` (user), ``role``, ``kid`` (the API key it was made from),
``iat`` and ``exp``. It is checked against the key on every use, so revoking the
key ends its tokens; the role is re-read from the user, not trusted from the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from qualitas.errors import AuthenticationError

_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    sub: str
    role: str
    kid: str
    iat: int
    exp: int


def issue_token(*, secret: bytes, sub: str, role: str, kid: str, ttl_s: int, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": sub, "role": role, "kid": kid, "iat": issued, "exp": issued + ttl_s}
    signing_input = (
        _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def read_token(token: str, *, secret: bytes, now: float | None = None) -> TokenClaims:
    """The claims of a token with a valid signature that has not expired."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthenticationError("malformed bearer token")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except ValueError as exc:
        raise AuthenticationError("malformed bearer token") from exc
    except RecursionError:  # JSON nested too deep for Python's parser: a 401, not a 500
        raise AuthenticationError("malformed bearer token") from None
    if header != _HEADER:
        raise AuthenticationError("unsupported token algorithm (only HS256)")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise AuthenticationError("bearer token signature does not verify")
    try:
        result = TokenClaims(
            sub=str(claims["sub"]),
            role=str(claims["role"]),
            kid=str(claims["kid"]),
            iat=int(claims["iat"]),
            exp=int(claims["exp"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AuthenticationError("bearer token lacks its claims") from exc
    if (now if now is not None else time.time()) >= result.exp:
        raise AuthenticationError("bearer token expired; get a new one from POST /auth/token")
    return result

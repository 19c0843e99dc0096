"""JWT bearer tokens (HS256): scopes, expiry, and the FastAPI dependencies that check them.

Tokens carry ``sub``, ``scope`` (space-separated, as in OAuth 2), ``iat``, ``exp``, ``jti`` and
``iss``. Only HS256 is accepted (never ``none``), ``exp`` and ``iat`` are required, and the
secret must be at least 32 bytes (RFC 7518 §3.2), so a guessable or missing secret stops the
server at start-up instead of accepting forgeable tokens. A token's lifetime (``exp - iat``)
may not pass ``MUGPOS_TOKEN_MAX_TTL_S`` (a leaked token then dies on its own), and clocks may
disagree by ``MUGPOS_TOKEN_LEEWAY_S`` on ``exp`` and ``iat``. ``admin`` implies every other
scope.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from mugpos.settings import Settings
from mugpos_serving.errors import InsufficientScope, InvalidToken, TokenExpired, Unauthorized

ALGORITHM = "HS256"
ISSUER = "mugpos"
SCOPES = {
    "positions": "position images, search the corpus, parse and evaluate rules, send feedback",
    "rules:write": "create, change, restore and delete stored rules",
    "admin": "everything",
}
MIN_SECRET_BYTES = 32
REALM = 'Bearer realm="mugpos"'
DEFAULT_MAX_TTL_S = 30 * 86400
DEFAULT_LEEWAY_S = 30


class AuthConfigError(RuntimeError):
    """Auth is on but cannot work (no secret, or a weak one)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may do."""

    subject: str
    scopes: frozenset[str]
    token_id: str | None = None
    expires_at: int | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


ANONYMOUS = Principal("anonymous", frozenset(SCOPES))


class TokenCodec:
    def __init__(
        self,
        secret: str,
        *,
        max_ttl_s: int = DEFAULT_MAX_TTL_S,
        leeway_s: int = DEFAULT_LEEWAY_S,
    ) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise AuthConfigError(
                f"MUGPOS_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes for HS256 "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        self._secret = secret
        self.max_ttl_s = max_ttl_s
        self.leeway_s = leeway_s
        # Verifying a signature costs about 70 µs; a token is sent many times, so remember the
        # tokens already verified (their expiry is still checked on every use).
        self._verified = functools.lru_cache(maxsize=4096)(self._verify)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCodec | None:
        """The codec, ``None`` when auth is explicitly off; raises when auth cannot work."""
        if settings.auth_disabled:
            return None
        if settings.jwt_secret is None:
            raise AuthConfigError(
                "auth is on but MUGPOS_JWT_SECRET is not set: set a secret of at least "
                f"{MIN_SECRET_BYTES} bytes, or MUGPOS_AUTH_DISABLED=true for local development"
            )
        return cls(
            settings.jwt_secret.get_secret_value(),
            max_ttl_s=settings.token_max_ttl_s,
            leeway_s=settings.token_leeway_s,
        )

    def create(
        self,
        subject: str,
        scopes: Iterable[str],
        ttl_s: int,
        *,
        now: float | None = None,
    ) -> str:
        scopes = sorted(set(scopes))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {scopes}")
        if ttl_s <= 0:
            raise ValueError("ttl must be positive")
        if ttl_s > self.max_ttl_s:
            raise ValueError(
                f"ttl {ttl_s} s is over the maximum of {self.max_ttl_s} s (MUGPOS_TOKEN_MAX_TTL_S)"
            )
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "scope": " ".join(scopes),
            "iat": issued,
            "exp": issued + int(ttl_s),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> Principal:
        principal = self._verified(token)
        if principal.expires_at is not None and principal.expires_at + self.leeway_s <= time.time():
            raise TokenExpired(
                "the token has expired", headers=_challenge("invalid_token", "token expired")
            )
        return principal

    def _verify(self, token: str) -> Principal:
        """Signature, issuer and claims; raises (and so is never cached) when invalid."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired(
                "the token has expired", headers=_challenge("invalid_token", "token expired")
            ) from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(
                f"invalid token: {exc}", headers=_challenge("invalid_token", "invalid token")
            ) from None
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > self.max_ttl_s:
            raise InvalidToken(
                f"invalid token: its lifetime of {lifetime} s is over this server's maximum of "
                f"{self.max_ttl_s} s",
                headers=_challenge("invalid_token", "token lifetime too long"),
            )
        scope = claims.get("scope", "")
        return Principal(
            subject=str(claims["sub"]),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            token_id=claims.get("jti"),
            expires_at=int(claims["exp"]),
        )


def _challenge(error: str, description: str, scope: str | None = None) -> dict[str, str]:
    value = f'{REALM}, error="{error}", error_description="{description}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def authenticate(codec: TokenCodec | None, authorization: str | None) -> Principal:
    """The caller behind an ``Authorization`` header (anonymous when auth is off)."""
    if codec is None:
        return ANONYMOUS
    if not authorization:
        raise Unauthorized("a bearer token is required", headers={"WWW-Authenticate": REALM})
    kind, _, token = authorization.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise InvalidToken(
            "the Authorization header must be 'Bearer <token>'",
            headers=_challenge("invalid_request", "expected a bearer token"),
        )
    return codec.decode(token.strip())


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.allows(scope):
        raise InsufficientScope(
            f"this token lacks the {scope!r} scope",
            details={"required": scope, "granted": sorted(principal.scopes)},
            headers=_challenge("insufficient_scope", f"requires {scope}", scope),
        )

"""Customer tokens: the shop's backend vouches for a logged-in shopper with a signed, expiring JWT.

The token is the only source of a customer id on the network side; `sub` is the customer. A server
outside demo mode refuses to start without a real secret, so a forgotten setting can never mean
"anyone can sign tokens with the default key".
"""

from __future__ import annotations

import time

import jwt

from bot.settings import Settings

ALGORITHM = "HS256"
MIN_SECRET_CHARS = 32
# Used only in demo mode, when no secret is set: tokens minted by `shopbot token` and the demo page agree.
DEMO_SECRET = "shopbot-demo-secret--never-use-outside-demo-mode"


class InsecureSecret(RuntimeError):
    """The configured secret cannot protect customer tokens; the text says how to set one."""


class TokenError(PermissionError):
    """A token that is malformed, forged (bad signature) or expired."""


def signing_key(settings: Settings) -> str:
    secret = settings.secret_key
    if settings.demo_mode and not secret:
        return DEMO_SECRET
    if not secret or secret == DEMO_SECRET:
        raise InsecureSecret(
            "no secret key for customer tokens: set SHOPBOT_SECRET_KEY to a random string of at least "
            f"{MIN_SECRET_CHARS} characters (python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
            "or set SHOPBOT_DEMO_MODE=true for a local demo"
        )
    if len(secret) < MIN_SECRET_CHARS:
        raise InsecureSecret(
            f"SHOPBOT_SECRET_KEY has {len(secret)} characters; use at least {MIN_SECRET_CHARS} random characters"
        )
    return secret


class Tokens:
    """Mints and verifies customer tokens with the settings' key and lifetime."""

    def __init__(self, settings: Settings) -> None:
        self._key = signing_key(settings)
        self.ttl_minutes = settings.token_ttl_minutes

    def mint(self, customer_id: str, ttl_minutes: int | None = None, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        ttl = ttl_minutes if ttl_minutes is not None else self.ttl_minutes
        return jwt.encode({"sub": customer_id, "iat": issued, "exp": issued + ttl * 60}, self._key, ALGORITHM)

    def verify(self, token: str) -> str:
        """The customer id the token vouches for."""
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("the customer token has expired: ask the shop for a new one") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"the customer token is not valid ({exc})") from exc
        customer_id = claims["sub"]
        if not isinstance(customer_id, str) or not customer_id:
            raise TokenError("the customer token names no customer")
        return customer_id

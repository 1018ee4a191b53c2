"""API tokens: shown once at creation, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from qa.audit import service as audit
from qa.models import ApiToken, User

TOKEN_PREFIX = "cal_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, actor: User | None, user: User, name: str = "") -> str:
    """Make a token for `user` and return its plaintext (the only time it is visible)."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(plaintext), prefix=plaintext[:10])  # type: ignore[arg-type]
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action="token.create", entity="api_token", entity_id=token.id,
                 after={"user_id": user.id, "name": name, "prefix": token.prefix})
    return plaintext


def user_for_token(session: Session, plaintext: str) -> User | None:
    """The active user a live token belongs to, or None."""
    row = session.exec(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == _digest(plaintext), ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    ).first()
    return row if row is not None and row.is_active else None


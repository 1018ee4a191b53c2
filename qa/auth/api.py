"""/api/v1/me: who the token belongs to."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from qa.auth.deps import ApiUser

router = APIRouter(tags=["auth"])


class MeOut(BaseModel):
    """The token's user."""

    id: int
    email: str
    name: str
    role: str
    agent_id: int | None


@router.get("/me", response_model=MeOut)
def me(user: ApiUser) -> MeOut:
    """The user this token acts as."""
    return MeOut(id=user.id or 0, email=user.email, name=user.name, role=user.role.value,
                 agent_id=user.agent_id)

"""/api/v1/sampling and /api/v1/assignments: rules, runs (PRODUCT.md §5 `POST /sampling/runs`) and the
reviewer's assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from qa.assignments import service
from qa.auth.deps import SessionDep, require_api_role
from qa.models import Role, SamplingRule, SamplingRun, User
from qa.scorecard_admin.api import field_loc
from sampling.rules import Rule, RuleError, parse_rule

router = APIRouter(tags=["sampling"])

RuleWriter = Annotated[User, Depends(require_api_role(Role.manager))]
AnyReviewer = Annotated[User, Depends(require_api_role(Role.manager, Role.reviewer))]

_RULE_EXAMPLE: dict[str, Any] = {
    "name": "Billing weekly", "scorecard_id": 1, "strategy": "random", "quota": {"per_agent": 5},
    "filters": {"teams": [2], "date_field": "closed", "last_days": 7, "min_agent_messages": 3,
                "not_reviewed": True},
    "reviewers": [{"id": 3}, {"id": 4, "capacity": 20}], "period": "weekly", "due_days": 7, "seed": 1,
}


def _parse(data: Any, prefix: tuple[str, ...] = ()) -> Rule:
    try:
        return parse_rule(data)
    except RuleError as exc:
        errors = [{"loc": [*field_loc(path)[:1], *prefix, *field_loc(path)[1:]], "msg": message,
                   "type": "value_error"} for path, message in exc.problems]
        raise RequestValidationError(errors) from exc


class RuleOut(BaseModel):
    """A stored rule: its id, state and native definition."""

    id: int
    name: str
    period: str
    active: bool
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class AssignmentOut(BaseModel):
    """One assignment: who reviews which conversation with which scorecard, by when, and why it was picked."""

    id: int
    conversation_id: int
    reviewer_id: int
    scorecard_id: int
    status: str
    due_at: datetime | None
    reason: str
    stratum: str | None = None
    rule_id: int | None = None
    run_id: int | None = None
    review_id: int | None = None
    skip_reason: str | None = None
    replaced_by_id: int | None = None


class RunOut(BaseModel):
    """A sampling run: what it matched, picked and assigned, per agent, stratum and reviewer."""

    id: int
    rule_id: int | None
    period: str
    trigger: str
    status: str
    message: str
    started_at: datetime
    finished_at: datetime | None
    seed: int | None
    matched: int
    picked: int
    from_backup: int
    assigned: int
    unassigned: int
    shortfall: int
    per_agent: list[dict[str, Any]]
    per_stratum: list[dict[str, Any]]
    per_reviewer: list[dict[str, Any]]
    assignments: list[AssignmentOut] = Field(default_factory=list)


class RunRequest(BaseModel):
    """Run a stored rule (`rule_id`) or an inline rule (`rule`, the native definition)."""

    rule_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    rule: dict[str, Any] | None = None


class SkipRequest(BaseModel):
    """Why the conversation is skipped."""

    reason: str = Field(min_length=1, max_length=500)


class ReplaceRequest(BaseModel):
    """Optionally, why the conversation is replaced."""

    reason: str = Field(default="", max_length=500)


class ReassignRequest(BaseModel):
    """The reviewer who takes the assignment over."""

    reviewer_id: int = Field(ge=1, le=2**31 - 1)


def _rule_out(row: SamplingRule) -> RuleOut:
    return RuleOut(id=row.id or 0, name=row.name, period=row.period, active=row.active,
                   definition=row.definition, created_at=row.created_at, updated_at=row.updated_at)


def _assignment_out(a: Any) -> AssignmentOut:
    return AssignmentOut(id=a.id, conversation_id=a.conversation_id, reviewer_id=a.reviewer_id,
                         scorecard_id=a.scorecard_id, status=str(a.status), due_at=a.due_at, reason=a.reason,
                         stratum=a.stratum, rule_id=a.rule_id, run_id=a.run_id, review_id=a.review_id,
                         skip_reason=a.skip_reason, replaced_by_id=a.replaced_by_id)


def _run_out(run: SamplingRun, assignments: list[Any] | None = None) -> RunOut:
    return RunOut(id=run.id or 0, rule_id=run.rule_id, period=run.period_key, trigger=run.trigger,
                  status=run.status, message=run.message, started_at=run.started_at,
                  finished_at=run.finished_at,
                  seed=run.parameters.get("seed"), matched=run.matched, picked=run.picked,
                  from_backup=run.from_backup, assigned=run.assigned, unassigned=run.unassigned,
                  shortfall=run.shortfall, per_agent=run.per_agent, per_stratum=run.per_stratum,
                  per_reviewer=run.per_reviewer, assignments=[_assignment_out(a) for a in assignments or []])


@router.post("/sampling/rules", status_code=201, response_model=RuleOut,
             responses={422: {"description": "Invalid rule: `detail` lists every bad field with its `loc`"}})
def create_rule(session: SessionDep, user: RuleWriter,
                body: Annotated[dict[str, Any], Body(openapi_examples={"weekly": {"value": _RULE_EXAMPLE}})]
                ) -> RuleOut:
    """Store a sampling rule (the native definition; see the example)."""
    return _rule_out(service.create_rule(session, actor=user, rule=_parse(body)))


@router.get("/sampling/rules", response_model=list[RuleOut])
def list_rules(session: SessionDep, user: RuleWriter) -> list[RuleOut]:
    """The rules you may manage, newest first."""
    return [_rule_out(r) for r in service.list_rules(session, actor=user)]


@router.get("/sampling/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: int, session: SessionDep, user: RuleWriter) -> RuleOut:
    """One rule."""
    return _rule_out(service.get_rule(session, actor=user, rule_id=rule_id))


@router.put("/sampling/rules/{rule_id}", response_model=RuleOut)
def update_rule(rule_id: int, session: SessionDep, user: RuleWriter,
                body: Annotated[dict[str, Any], Body()]) -> RuleOut:
    """Replace a rule's definition; runs already made keep theirs."""
    return _rule_out(service.update_rule(session, actor=user, rule_id=rule_id, rule=_parse(body)))


@router.post("/sampling/runs", status_code=201, response_model=RunOut,
             responses={404: {"description": "No such rule"}, 422: {"description": "Invalid rule"}})
def create_run(session: SessionDep, user: RuleWriter, body: RunRequest) -> RunOut:
    """Run a rule now: a stored one by `rule_id`, or an inline `rule`. Answers with the assignments made."""
    if (body.rule_id is None) == (body.rule is None):
        raise RequestValidationError([{"loc": ["body"], "msg": "Send either rule_id or rule.",
                                       "type": "value_error"}])
    if body.rule_id is not None:
        run = service.run_stored_rule(session, actor=user, rule_id=body.rule_id, trigger="api")
    else:
        run = service.run_rule(session, actor=user, rule=_parse(body.rule, ("rule",)), trigger="api")
    session.flush()
    return _run_out(run, service.assignments_of_run(session, run.id or 0, actor=user))


@router.get("/sampling/runs/{run_id}", response_model=RunOut)
def get_run(run_id: int, session: SessionDep, user: RuleWriter) -> RunOut:
    """A run with its assignments."""
    run = service.get_run(session, actor=user, run_id=run_id)
    return _run_out(run, service.assignments_of_run(session, run.id or 0, actor=user))


@router.get("/assignments", response_model=list[AssignmentOut])
def my_assignments(session: SessionDep, user: AnyReviewer) -> list[AssignmentOut]:
    """Your open assignments, soonest due first."""
    return [_assignment_out(a) for a in service.open_assignments_of(session, user)]


@router.post("/assignments/{assignment_id}/skip", response_model=AssignmentOut)
def skip(assignment_id: int, body: SkipRequest, session: SessionDep, user: AnyReviewer) -> AssignmentOut:
    """Skip an open assignment with a reason."""
    return _assignment_out(service.skip_assignment(session, actor=user, assignment_id=assignment_id,
                                                   reason=body.reason))


@router.post("/assignments/{assignment_id}/replace", status_code=201, response_model=AssignmentOut)
def replace(assignment_id: int, session: SessionDep, user: AnyReviewer,
            body: ReplaceRequest | None = None) -> AssignmentOut:
    """Replace an open assignment by another conversation drawn by the same rule; answers the new one."""
    return _assignment_out(service.replace_assignment(session, actor=user, assignment_id=assignment_id,
                                                      reason=body.reason if body else ""))


@router.post("/assignments/{assignment_id}/reassign", response_model=AssignmentOut)
def reassign(assignment_id: int, body: ReassignRequest, session: SessionDep,
             user: RuleWriter) -> AssignmentOut:
    """Give an open assignment to another reviewer (managers and admins)."""
    return _assignment_out(service.reassign(session, actor=user, assignment_id=assignment_id,
                                            reviewer_id=body.reviewer_id))

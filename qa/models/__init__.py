"""All tables; importing this module registers them on SQLModel.metadata (the Alembic target)."""

from qa.models.audit import AuditLog
from qa.models.base import utcnow
from qa.models.conversation import AuthorRole, Channel, Conversation, Message
from qa.models.import_job import ImportJob, JobStatus
from qa.models.review import (
    Assignment,
    AssignmentStatus,
    MessageComment,
    Rating,
    Review,
    ReviewKind,
    ReviewStatus,
)
from qa.models.sampling import SamplingRule, SamplingRun
from qa.models.scorecard import Criterion, Scorecard, ScorecardVersion
from qa.models.user import Agent, ApiToken, LoginAttempt, Role, Team, User, UserTeam

__all__ = [
    "Agent",
    "ApiToken",
    "Assignment",
    "AssignmentStatus",
    "AuditLog",
    "AuthorRole",
    "Channel",
    "Conversation",
    "Criterion",
    "ImportJob",
    "JobStatus",
    "LoginAttempt",
    "Message",
    "MessageComment",
    "Rating",
    "Review",
    "ReviewKind",
    "ReviewStatus",
    "Role",
    "SamplingRule",
    "SamplingRun",
    "Scorecard",
    "ScorecardVersion",
    "Team",
    "User",
    "UserTeam",
    "utcnow",
]

"""All tables; importing this module registers them on SQLModel.metadata (the Alembic target)."""

from qa.models.audit import AuditLog
from qa.models.base import utcnow
from qa.models.calibration import (
    CalibrationConsensus,
    CalibrationConversation,
    CalibrationParticipant,
    CalibrationSession,
    CalibrationStatus,
    ScorecardScope,
)
from qa.models.coaching import (
    CoachingGoal,
    CoachingSession,
    CoachingSessionReview,
    CoachingStatus,
    Dispute,
    DisputeStatus,
    GoalStatus,
    Notification,
    OrgSetting,
    Pin,
    PinKind,
)
from qa.models.conversation import AuthorRole, Channel, Conversation, Message
from qa.models.import_job import ImportJob, JobStatus
from qa.models.review import (
    Assignment,
    AssignmentStatus,
    CriterionDay,
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
    "CalibrationConsensus",
    "CalibrationConversation",
    "CalibrationParticipant",
    "CalibrationSession",
    "CalibrationStatus",
    "ScorecardScope",
    "PinKind",
    "Pin",
    "OrgSetting",
    "Notification",
    "GoalStatus",
    "DisputeStatus",
    "Dispute",
    "CoachingStatus",
    "CoachingSessionReview",
    "CoachingSession",
    "CoachingGoal",
    "Agent",
    "ApiToken",
    "Assignment",
    "AssignmentStatus",
    "AuditLog",
    "AuthorRole",
    "Channel",
    "Conversation",
    "Criterion",
    "CriterionDay",
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

# Report summaries follow every ORM change to reviews and ratings (session events); registered here,
# once every model exists, so that no code path can write a review without them.
import qa.reporting.rollup  # noqa: E402, F401

"""`qa demo`: load_demo on both test databases, date shifting, --reset, and the committed data subset."""

from __future__ import annotations

import functools
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from qa import cli
from qa.auth import service as auth_service
from qa.auth.passwords import verify_password
from qa.demo import loader, rules
from qa.errors import CaliperError
from qa.models import (
    Agent,
    Assignment,
    AuditLog,
    Conversation,
    Message,
    MessageComment,
    Rating,
    Review,
    ReviewKind,
    ReviewStatus,
    Role,
    Scorecard,
    Team,
    User,
    UserTeam,
    utcnow,
)
from qa.scorecard_admin import service as scorecard_service
from qa.settings import get_settings
from scorecards import score_review

LIMIT = 12  # conversations per source
REVIEWS = 6
DRAFTS = 2
ROOT = Path(__file__).resolve().parents[2]
Demo = loader.DemoSummary


def when(value: str) -> datetime:
    """A native-format time as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(autouse=True)
def _hash_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 is slow on purpose; every demo user shares one password, so hash it once per run."""
    monkeypatch.setattr(auth_service, "hash_password", _cached_hash)


@functools.cache
def _cached_hash(password: str) -> str:
    from qa.auth.passwords import hash_password

    return hash_password(password)


@pytest.fixture
def demo(session: Session) -> loader.DemoSummary:
    """The demo, loaded small into the test's rolled-back transaction."""
    return loader.load_demo(session, limit=LIMIT, reviews=REVIEWS, drafts=DRAFTS)


def _user(session: Session, email: str) -> User:
    user = session.exec(select(User).where(User.email == email)).one()
    return user


def _count(session: Session, model: type, *where: object) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()  # type: ignore[arg-type]


def _demo_reviews(session: Session) -> list[Review]:
    # The generated manual reviews (the demo's calibration sessions hold reviews of their own, issue 6).
    return list(session.exec(select(Review).where(Review.kind == ReviewKind.manual).order_by(col(Review.id))))


class TestOrganisation:
    def test_logins_for_every_role_share_the_demo_password(self, session: Session, demo: Demo) -> None:
        roles = {login.email: login.role for login in demo.logins}
        assert roles["admin@caliper.demo"] == "admin" and roles["manager@caliper.demo"] == "manager"
        assert [e for e, r in roles.items() if r == "reviewer"] == [
            "reviewer@caliper.demo", "reviewer2@caliper.demo", "reviewer3@caliper.demo"]
        assert sorted(e for e, r in roles.items() if r == "agent") == [
            "agent2@caliper.demo", "agent3@caliper.demo", "agent4@caliper.demo", "agent@caliper.demo"]
        for email in roles:
            user = _user(session, email)
            assert user.role.value == roles[email]
            assert verify_password(user.password_hash, loader.DEMO_PASSWORD)
        assert _user(session, "manager@caliper.demo").name == "Priya Nair"
        created = session.exec(select(AuditLog.entity_id).where(AuditLog.action == "user.create")).all()
        assert len(created) == len(roles)

    def test_agent_login_is_the_busiest_irc_agent(self, session: Session, demo: Demo) -> None:
        agent = session.get(Agent, _user(session, "agent@caliper.demo").agent_id)
        assert agent is not None
        counts = session.exec(select(Conversation.agent_id, func.count())
                              .where(Conversation.source == "ubuntu-irc")
                              .group_by(col(Conversation.agent_id))).all()
        assert dict(counts)[agent.id] == max(n for _, n in counts)

    def test_reviewers_cover_their_teams(self, session: Session, demo: Demo) -> None:
        def teams(email: str) -> set[str]:
            query = (select(Team.name).join(UserTeam, col(UserTeam.team_id) == col(Team.id))
                     .where(UserTeam.user_id == _user(session, email).id))
            return set(session.exec(query))

        assert teams("reviewer@caliper.demo") == set()
        assert teams("reviewer2@caliper.demo") == {"Ubuntu community"}
        assert teams("reviewer3@caliper.demo") == {"AppleSupport", "Google", "SpotifyCares", "TeamYouTube"}

    def test_support_qa_scorecard(self, session: Session, demo: Demo) -> None:
        card = session.exec(select(Scorecard)).one()
        version = scorecard_service.current_version(session, card.id)  # type: ignore[arg-type]
        defn = scorecard_service.definition_for(session, version.id)  # type: ignore[arg-type]
        assert card.name == "Support QA" and card.created_by_id == _user(session, "manager@caliper.demo").id
        assert defn.sections == ("Opening", "Resolution", "Communication")
        solution = defn.criterion("solution")
        assert (solution.scale, solution.critical, solution.weight) == ("5", True, 3)
        assert [o.label for o in defn.criterion("tone").options] == ["Poor", "OK", "Great"]
        assert defn.criterion("closing").allow_na and all(c.guidance for c in defn.criteria)


class TestConversations:
    def test_loaded_and_moved_into_the_last_ten_weeks(self, session: Session, demo: Demo) -> None:
        now = utcnow()
        conversations = list(session.exec(select(Conversation)))
        assert len(conversations) == demo.conversations == demo.conversations_added == 2 * LIMIT
        assert demo.rejected == []
        assert {c.source for c in conversations} == {"ubuntu-irc", "twitter"}
        for conversation in conversations:
            assert now - timedelta(weeks=10, minutes=1) <= conversation.created_at
            assert conversation.closed_at is not None and conversation.closed_at <= now
            assert conversation.meta["original_created_at"] < "2021"

    def test_internal_gaps_are_kept(self, session: Session, demo: Demo) -> None:
        originals = {(r["source"], r["external_id"]): r for r in loader.read_records()}
        for conversation in session.exec(select(Conversation)):
            original = originals[(conversation.source, conversation.external_id)]
            times = session.exec(select(Message.created_at).where(Message.conversation_id == conversation.id)
                                 .order_by(col(Message.position))).all()
            start = when(original["created_at"])
            expected = [when(m["created_at"]) - start for m in original["messages"]]
            assert [t - conversation.created_at for t in times if t] == expected


class TestReviews:
    def test_reviews_drafts_and_assignments(self, session: Session, demo: Demo) -> None:
        reviews = _demo_reviews(session)
        assert len(reviews) == demo.reviews_added == REVIEWS
        assert (demo.reviews_submitted, demo.reviews_draft) == (REVIEWS - DRAFTS, DRAFTS)
        drafts = [r for r in reviews if r.status == ReviewStatus.draft]
        assert all(r.submitted_at is None for r in drafts)
        open_assignments = session.exec(select(Assignment).where(Assignment.status == "open")).all()
        assert {a.review_id for a in open_assignments if a.review_id} == {r.id for r in drafts}
        assert len(open_assignments) > DRAFTS

    def test_scores_match_the_scoring_code(self, session: Session, demo: Demo) -> None:
        for review in _demo_reviews(session):
            ratings = session.exec(select(Rating).where(Rating.review_id == review.id)).all()
            defn = scorecard_service.definition_for(session, review.version_id)
            result = score_review(defn, {r.criterion_key: r.option_label for r in ratings})
            assert (review.score, review.failed_critical, review.passed) == (
                result.score, result.failed_critical, result.passed)
            assert all(r.comment for r in ratings)
            if review.status == ReviewStatus.submitted:
                assert len(ratings) == len(defn.criteria) and review.comment
                assert review.time_spent_seconds > 0

    def test_nobody_reviews_their_own_conversation(self, session: Session, demo: Demo) -> None:
        for review in _demo_reviews(session):
            reviewer = session.get(User, review.reviewer_id)
            conversation = session.get(Conversation, review.conversation_id)
            assert reviewer is not None and conversation is not None
            assert reviewer.role is Role.reviewer
            assert reviewer.agent_id != review.agent_id and review.agent_id == conversation.agent_id
            if reviewer.email == "reviewer2@caliper.demo":
                assert conversation.source == "ubuntu-irc"
            if reviewer.email == "reviewer3@caliper.demo":
                assert conversation.source == "twitter"

    def test_dates_spread_over_the_last_eight_weeks(self, session: Session, demo: Demo) -> None:
        now = utcnow()
        for review in _demo_reviews(session):
            conversation = session.get(Conversation, review.conversation_id)
            assert conversation is not None and conversation.closed_at is not None
            assert review.created_at <= now
            if review.submitted_at is None:
                continue
            assert now - timedelta(weeks=8, minutes=1) <= review.submitted_at <= now
            assert review.created_at < review.submitted_at and conversation.closed_at <= review.submitted_at
            assert review.acknowledged_at is None or review.submitted_at < review.acknowledged_at <= now
            submit = session.exec(select(AuditLog).where(AuditLog.entity == "review",
                                                         AuditLog.entity_id == review.id,
                                                         AuditLog.action == "review.submit")).one()
            assert submit.at == review.submitted_at

    def test_pinned_comments_point_at_the_reviewed_conversation(self, session: Session) -> None:
        loader.load_demo(session, limit=20, reviews=12, drafts=0)
        pinned = session.exec(select(MessageComment, Message, Review)
                              .join(Message, col(Message.id) == col(MessageComment.message_id))
                              .join(Review, col(Review.id) == col(MessageComment.review_id))).all()
        assert pinned
        for comment, message, review in pinned:
            assert message.conversation_id == review.conversation_id and comment.body
            assert comment.created_at < (review.submitted_at or utcnow())


class TestSampling:
    def test_a_weekly_rule_has_run_for_this_week(self, session: Session, demo: Demo) -> None:
        from qa.models import SamplingRule, SamplingRun

        rule = session.exec(select(SamplingRule).where(SamplingRule.name == loader.DEMO_RULE_NAME)).one()
        run = session.exec(select(SamplingRun).where(SamplingRun.rule_id == rule.id)).one()
        assert demo.sampling_rule_added and rule.period == "weekly" and run.schedule_key == run.period_key
        assert run.status == "done" and run.assigned > 0
        made = session.exec(select(Assignment).where(Assignment.run_id == run.id)).all()
        assert len(made) == run.assigned and all(a.reason == "random pick" and a.due_at for a in made)


class TestIdempotence:
    def test_second_run_adds_nothing(self, session: Session, demo: Demo) -> None:
        models = (User, Conversation, Review, Scorecard, Assignment, AuditLog)
        before = [_count(session, m) for m in models]
        again = loader.load_demo(session, limit=LIMIT, reviews=REVIEWS, drafts=DRAFTS)
        assert again.already_loaded and "already loaded" in again.describe()
        assert [_count(session, m) for m in models] == before
        assert (again.conversations, again.reviews_submitted) == (demo.conversations, demo.reviews_submitted)
        assert [login.email for login in again.logins] == [login.email for login in demo.logins]

    def test_a_bigger_run_tops_up_conversations_only(self, session: Session, demo: Demo) -> None:
        more = loader.load_demo(session, limit=LIMIT + 3, reviews=REVIEWS, drafts=DRAFTS)
        assert (more.conversations_added, more.users_added, more.reviews_added) == (6, 0, 0)
        assert more.conversations == 2 * LIMIT + 6 and not more.scorecard_added


def test_describe_prints_the_logins(demo: Demo) -> None:
    text = demo.describe()
    for login in demo.logins:
        assert login.email in text
    assert text.count(loader.DEMO_PASSWORD) == len(demo.logins)
    assert "http://127.0.0.1:8000" in text and "generated by rules" in text


class TestShiftToRecent:
    RECORDS = [
        {"source": "s", "external_id": "b", "created_at": "2010-01-02T10:00:00Z",
         "closed_at": "2010-01-02T10:30:00Z",
         "messages": [{"created_at": "2010-01-02T10:00:00Z"}, {"created_at": "2010-01-02T10:07:00Z"}]},
        {"source": "s", "external_id": "a", "created_at": "2004-05-01T00:00:00Z", "closed_at": None,
         "messages": [{"created_at": "2004-05-01T00:00:00Z"}, {}], "metadata": {"file": "x"}},
        {"source": "t", "external_id": "c", "created_at": "2019-03-01T00:00:00Z",
         "closed_at": "2019-04-20T00:00:00Z",
         "messages": [{"created_at": "2019-03-01T00:00:00Z"}]},
    ]

    def test_order_gaps_and_original_dates(self) -> None:
        now = utcnow()
        shifted = {r["external_id"]: r for r in loader.shift_to_recent(self.RECORDS, now=now)}
        a, b, c = shifted["a"], shifted["b"], shifted["c"]
        assert when(a["created_at"]) < when(b["created_at"])
        assert when(b["messages"][1]["created_at"]) - when(b["created_at"]) == timedelta(minutes=7)
        assert when(b["closed_at"]) - when(b["created_at"]) == timedelta(minutes=30)
        assert a["messages"][1] == {} and a["closed_at"] is None
        assert a["metadata"] == {"file": "x", "original_created_at": "2004-05-01T00:00:00Z"}
        for record in shifted.values():
            assert now - timedelta(weeks=10) <= when(record["created_at"]) <= now
        # a 50-day conversation still ends before now
        assert when(c["closed_at"]) <= now
        assert self.RECORDS[0]["created_at"] == "2010-01-02T10:00:00Z"  # the input is not changed

    def test_limit_keeps_every_agent(self) -> None:
        records = [{"source": "s", "external_id": str(i),
                    "agent": {"external_id": "busy" if i < 8 else f"a{i}"}} for i in range(10)]
        kept = loader.limit_records(records, 3)
        assert sorted(r["agent"]["external_id"] for r in kept) == ["a8", "a9", "busy"]


class TestReset:
    def test_deletes_the_sqlite_file_and_its_journal(self, tmp_path: Path) -> None:
        db = tmp_path / "demo.db"
        for name in ("demo.db", "demo.db-wal", "demo.db-shm"):
            (tmp_path / name).write_text("x")
        assert loader.reset_sqlite(f"sqlite:///{db}") == db
        assert list(tmp_path.iterdir()) == []
        assert loader.reset_sqlite(f"sqlite:///{db}") == db  # nothing there: fine

    def test_in_memory_database_needs_nothing(self) -> None:
        assert loader.reset_sqlite("sqlite://") is None

    @pytest.mark.parametrize("url", ["postgresql://u:p@db/caliper", "postgres://db/x", "not a url"])
    def test_refuses_anything_else(self, url: str) -> None:
        with pytest.raises(CaliperError):
            loader.reset_sqlite(url)

    def test_cli_refuses_reset_on_postgresql(self, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
        monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/none")
        get_settings.cache_clear()
        try:
            assert cli.main(["demo", "--reset"]) == 1
        finally:
            get_settings.cache_clear()
        err = capsys.readouterr().err
        assert err.startswith("qa: --reset only deletes SQLite files") and err.count("\n") == 1


def test_committed_subset_matches_the_build_script(tmp_path: Path) -> None:
    """tools/build_demo_data.py regenerates qa/demo/data byte for byte from the shared data."""
    source = ROOT.parent / "shared" / "data"
    if not (source / "ubuntu-irc-support.jsonl").exists():
        pytest.skip("the shared data set is not next to the repository")
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_demo_data.py"), "--source", str(source),
                    "--out", str(tmp_path)], check=True, capture_output=True)
    for name in (*loader.DATA_FILES, "LICENSE-ubuntu-irc.txt", "LICENSE-twitter-customer-care.txt"):
        assert (tmp_path / name).read_bytes() == (loader.DATA_DIR / name).read_bytes(), name


def test_rules_name_every_demo_criterion() -> None:
    assert [c["key"] for c in rules.DEMO_SCORECARD["criteria"]] == [rule.__name__.removeprefix("rate_")
                                                                   for rule in rules.RULES]

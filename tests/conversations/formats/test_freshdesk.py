"""Freshdesk tickets (description + conversations, numeric codes) as native conversations, field by field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from qa.conversations import ingest
from qa.conversations.formats import RecordError, freshdesk
from tests.conversations.formats.helpers import record, with_value

AIKO = "43011000222"
MATEUS = "43022000111"


def messages(native: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(m["author"], m["author_id"], m["author_name"], m["created_at"], m["internal"])
            for m in native["messages"]]


class TestEmailTicket:
    """data/freshdesk.json[0]: a closed e-mail ticket with requester, agents, groups, stats and surveys."""

    def test_conversation_fields(self) -> None:
        native = freshdesk.convert(record("freshdesk", 0))
        assert (native["external_id"], native["source"], native["channel"]) == ("2718", "freshdesk", "email")
        assert native["subject"] == "Export to CSV fails with “timeout”"
        assert native["agent"] == {"external_id": AIKO, "name": "Aiko Tanaka", "email": "aiko@acme.example"}
        assert native["team"] == "Tier 2"
        assert native["customer"] == {"external_id": MATEUS, "name": "Mateus Costa"}
        assert native["created_at"] == "2026-03-10T09:00:00Z"
        assert native["closed_at"] == "2026-03-10T14:00:00Z"  # stats.resolved_at, 19:30+05:30
        assert (native["csat"], native["tags"]) == (5, ["export", "performance"])  # the latest survey: 102
        assert "reopen_count" not in native

    def test_description_then_conversations_in_time_order(self) -> None:
        assert messages(freshdesk.convert(record("freshdesk", 0))) == [
            ("customer", MATEUS, "Mateus Costa", "2026-03-10T09:00:00Z", False),  # the description
            ("agent", AIKO, "Aiko Tanaka", "2026-03-10T09:30:00Z", True),  # private note
            ("agent", AIKO, "Aiko Tanaka", "2026-03-10T09:45:00Z", False),
            ("customer", MATEUS, "Mateus Costa", "2026-03-10T12:00:00Z", False),  # incoming
            ("agent", AIKO, "Aiko Tanaka", "2026-03-10T13:55:00Z", False),  # 19:25+05:30
        ]

    def test_html_bodies_become_text_without_the_quoted_history(self) -> None:
        bodies = [m["body"] for m in freshdesk.convert(record("freshdesk", 0))["messages"]]
        assert bodies[0] == ("Hi team,\n\nEvery export of more than 10 000 rows fails with “timeout”.\n\n"
                             "Can you help?")
        assert bodies[2] == "Hello Mateus,\n\nThanks for the report. Could you tell us which filters you use?"
        assert bodies[3] == "Only the date filter. Merci !"
        assert bodies[4] == "Fixed in release 4.2 — exports now stream."

    def test_metadata(self) -> None:
        meta = freshdesk.convert(record("freshdesk", 0))["metadata"]["freshdesk"]
        assert (meta["status"], meta["status_name"], meta["priority"], meta["priority_name"]) == (
            5, "closed", 3, "high")
        assert (meta["source"], meta["type"], meta["group_id"]) == (1, "Problem", 43000500)
        assert meta["custom_fields"] == {"cf_module": "Reports", "cf_severity": None}
        assert meta["stats"]["first_responded_at"] == "2026-03-10T09:45:00Z"
        assert meta["csat_feedback"] == "Great fix!"
        for gone in ("description", "description_text", "conversations", "requester", "attachments", "agents",
                     "groups", "satisfaction_ratings", "fwd_emails", "product_id", "association_type"):
            assert gone not in meta

    def test_validated(self) -> None:
        validated = ingest.validate_record(freshdesk.convert(record("freshdesk", 0)))
        assert validated.key == ("freshdesk", "2718")
        v = validated.values
        assert (v["created_at"], v["closed_at"]) == (datetime(2026, 3, 10, 9, tzinfo=UTC),
                                                     datetime(2026, 3, 10, 14, tzinfo=UTC))
        assert (v["message_count"], v["agent_message_count"], v["customer_message_count"]) == (5, 3, 2)
        assert (v["first_response_seconds"], v["handle_seconds"]) == (45 * 60, 5 * 3600)
        assert v["csat"] == 5
        assert validated.agent == ingest.AgentRef(AIKO, "Aiko Tanaka", "aiko@acme.example")
        assert validated.team == "Tier 2"


class TestOutboundEmail:
    """data/freshdesk.json[1]: an outbound e-mail (source 10): the agent wrote the description."""

    def test_messages(self) -> None:
        native = freshdesk.convert(record("freshdesk", 1))
        assert [(m["author"], m["author_id"], m["body"]) for m in native["messages"]] == [
            ("agent", "43011000444", "Hi,\n\nYour plan renews on 1 April."),
            ("customer", "43022000333", "Can I switch to yearly billing?\nThanks"),  # body_text, CRLF gone
            ("agent", "43011000444", "Sure — done."),
        ]

    def test_fields(self) -> None:
        native = freshdesk.convert(record("freshdesk", 1))
        assert (native["channel"], native["team"], native["closed_at"], native["csat"]) == (
            "email", "group 43000600", None, 1)  # survey -102
        assert native["agent"] == {"external_id": "43011000444", "name": None, "email": None}
        assert native["customer"] == {"external_id": "43022000333", "name": None}


class TestChatTicket:
    """data/freshdesk.json[2]: a resolved chat, plain description only, offsets, no agent assigned."""

    def test_fields(self) -> None:
        native = freshdesk.convert(record("freshdesk", 2))
        assert native["channel"] == "chat"
        assert (native["subject"], native["agent"], native["team"]) == (None, None, None)
        assert (native["created_at"], native["closed_at"]) == ("2026-03-14T08:00:00Z", "2026-03-14T08:20:00Z")
        assert messages(native) == [
            ("customer", "43022000555", None, "2026-03-14T08:00:00Z", False),
            ("agent", "43011000666", None, "2026-03-14T08:05:00Z", False),
        ]
        assert native["messages"][0]["body"] == "Is the app available in Português?"

    def test_the_agent_is_the_last_who_replied(self) -> None:
        assert ingest.validate_record(freshdesk.convert(record("freshdesk", 2))).agent == ingest.AgentRef(
            "43011000666", None, None)


class TestShapes:
    @pytest.mark.parametrize(("code", "expected"), [
        (1, "email"), (2, "email"), (3, "phone"), (4, "other"), (5, "social"), (6, "social"), (7, "chat"),
        (8, "other"), (9, "email"), (10, "email"), (101, "other"), (None, "other")])
    def test_channels(self, code: int | None, expected: str) -> None:
        raw = record("freshdesk", 2)
        raw["source"] = code
        assert freshdesk.convert(raw)["channel"] == expected

    @pytest.mark.parametrize(("value", "csat"), [
        (103, 5), (102, 5), (101, 4), (100, 3), (-101, 2), (-102, 1), (-103, 1), (None, None)])
    def test_survey_scale(self, value: int | None, csat: int | None) -> None:
        raw = record("freshdesk", 1)
        raw["satisfaction_rating"] = {"ratings": {"default_question": value}}
        assert freshdesk.convert(raw)["csat"] == csat

    @pytest.mark.parametrize(("status", "closed_at"), [
        (2, None), (3, None), (4, "2026-03-10T14:00:00Z"), (5, "2026-03-10T14:00:00Z"), (6, None)])
    def test_closed_at_by_status(self, status: int, closed_at: str | None) -> None:
        raw = record("freshdesk", 0)
        raw["status"] = status
        assert freshdesk.convert(raw)["closed_at"] == closed_at

    def test_closed_without_stats_uses_updated_at(self) -> None:
        raw = record("freshdesk", 0)
        del raw["stats"]
        assert freshdesk.convert(raw)["closed_at"] == "2026-03-13T10:00:00Z"

    def test_missing_optional_fields(self) -> None:
        at = "2026-01-01T01:00:00Z"
        native = freshdesk.convert({"id": 5, "description_text": "Help", "created_at": at})
        assert native["messages"] == [{"author": "customer", "author_id": None, "author_name": None,
                                       "body": "Help", "created_at": at, "internal": False}]
        assert [native[k] for k in ("agent", "team", "customer", "csat")] == [None, None, None, None]
        assert native["metadata"] == {"freshdesk": {}}
        assert ingest.validate_record(native).key == ("freshdesk", "5")


@pytest.mark.parametrize(("path", "value", "error"), [
    ("conversations.3.created_at", "13/03/2026",
     "ticket 2718: conversations[3].created_at: not an ISO 8601 time: '13/03/2026'"),
    ("conversations.0.private", "yes",
     "ticket 2718: conversations[0].private: expected true or false, got a string"),
    ("conversations.1.body", 1, "ticket 2718: conversations[1].body: expected a string, got a number"),
    ("conversations.2", [], "ticket 2718: conversations[2]: expected an object, got an array"),
    ("conversations", {}, "ticket 2718: conversations: expected an array, got an object"),
    ("satisfaction_ratings.1.ratings.default_question", 5,
     "ticket 2718: satisfaction_ratings[1].ratings.default_question: not a Freshdesk survey rating"),
    ("satisfaction_ratings.1.ratings.default_question", {},
     "ticket 2718: satisfaction_ratings[1].ratings.default_question: not a Freshdesk survey rating"),
    ("source", "email", "ticket 2718: source: expected a numeric code, got a string"),
    ("status", True, "ticket 2718: status: expected a numeric code, got true"),
    ("stats.resolved_at", 1773136800, "ticket 2718: stats.resolved_at: expected an ISO 8601 time, got int"),
    ("requester", "Mateus", "ticket 2718: requester: expected an object, got a string"),
    ("agents.0.contact", [], "ticket 2718: agents[id=43011000222].contact: expected an object, got an array"),
    ("tags.0", None, "ticket 2718: tags[0]: expected a string, got null"),
    ("created_at", "9999-12-31T23:59:59-01:00", "ticket 2718: created_at: time out of range"),
    ("id", None, "ticket: id: required"),
    ("id", {"id": 1}, "ticket: id: expected an id (a number or a string), got an object"),
])
def test_bad_shapes_name_the_ticket_and_field(path: str, value: Any, error: str) -> None:
    with pytest.raises(RecordError) as caught:
        freshdesk.convert(with_value(record("freshdesk", 0), path, value))
    assert str(caught.value).startswith(error)


@pytest.mark.parametrize("value", [None, 2718, "ticket", []])
def test_not_an_object(value: Any) -> None:
    with pytest.raises(RecordError, match="^expected a JSON object"):
        freshdesk.convert(value)

"""Zendesk records (ticket + comments + users) as native conversations, field by field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from qa.conversations import ingest
from qa.conversations.formats import RecordError, zendesk
from tests.conversations.formats.helpers import record, with_value


def messages(native: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(m["author"], m["author_id"], m["author_name"], m["created_at"], m["internal"])
            for m in native["messages"]]


class TestEmailTicketWithUsers:
    """data/zendesk.json[0]: a web-form ticket with users, groups, CSAT, metrics and an internal note."""

    def test_conversation_fields(self) -> None:
        native = zendesk.convert(record("zendesk", 0))
        assert (native["external_id"], native["source"], native["channel"]) == ("4521", "zendesk", "email")
        assert native["subject"] == "Double charge on invoice #88-1042"
        assert native["agent"] == {"external_id": "7001", "name": "Dana Ruiz", "email": "dana@acme.example"}
        assert native["team"] == "Billing"
        assert native["customer"] == {"external_id": "9001", "name": "Zoë Lefèvre"}
        assert (native["created_at"], native["closed_at"]) == ("2026-03-02T09:15:00Z", "2026-03-04T16:38:00Z")
        assert (native["csat"], native["reopen_count"]) == (5, 1)
        assert native["tags"] == ["billing", "refund", "vip"]

    def test_messages_in_time_order_with_utc_times(self) -> None:
        assert messages(zendesk.convert(record("zendesk", 0))) == [
            ("customer", "9001", "Zoë Lefèvre", "2026-03-02T09:15:00Z", False),
            ("agent", "7001", "Dana Ruiz", "2026-03-02T10:02:00Z", False),  # 11:02+01:00
            ("agent", "7001", "Dana Ruiz", "2026-03-02T10:05:00Z", True),
            ("customer", "9001", "Zoë Lefèvre", "2026-03-04T16:30:00Z", False),
        ]

    def test_bodies(self) -> None:
        bodies = [m["body"] for m in zendesk.convert(record("zendesk", 0))["messages"]]
        assert bodies[0] == "Hello,\n\nI was charged twice for my March subscription."  # plain_body, no CRs
        assert bodies[1] == ("Hi Zoë,\n\nSorry about that — I can see two charges of €29.00. I’ve refunded"
                             " one; see your billing page.\n\n• Refund: €29.00\n• ETA: 3–5 days")  # html_body
        assert bodies[3] == "Thank you 🙏 — it shows now."

    def test_metadata_keeps_the_rest(self) -> None:
        meta = zendesk.convert(record("zendesk", 0))["metadata"]["zendesk"]
        assert [meta[k] for k in ("status", "priority", "type", "group_id")] == ["solved", "high", "problem",
                                                                                 360001]
        assert meta["url"] == "https://acme.zendesk.com/api/v2/tickets/4521.json"
        assert meta["custom_fields"][0] == {"id": 360005001, "value": "card"}
        assert meta["satisfaction_comment"] == "Très rapide, merci !"
        assert meta["metric_set"]["reply_time_in_minutes"] == {"calendar": 47, "business": 47}
        for gone in ("id", "subject", "raw_subject", "description", "fields", "tags", "satisfaction_rating",
                     "external_id", "due_at", "collaborator_ids"):
            assert gone not in meta

    def test_validated(self) -> None:
        validated = ingest.validate_record(zendesk.convert(record("zendesk", 0)))
        assert validated.key == ("zendesk", "4521")
        v = validated.values
        assert v["created_at"] == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
        assert v["closed_at"] == datetime(2026, 3, 4, 16, 38, tzinfo=UTC)
        assert (v["message_count"], v["agent_message_count"], v["customer_message_count"]) == (4, 2, 2)
        assert v["first_response_seconds"] == 47 * 60
        assert (v["csat"], v["reopen_count"], v["channel"]) == (5, 1, "email")
        assert validated.agent == ingest.AgentRef("7001", "Dana Ruiz", "dana@acme.example")
        assert validated.team == "Billing"


class TestMessagingTicketWithoutUsers:
    """data/zendesk.json[1]: no users: the requester is the customer, everyone else an agent."""

    def test_roles_without_users(self) -> None:
        native = zendesk.convert(record("zendesk", 1))
        assert messages(native) == [
            ("customer", "9100", None, "2026-03-05T14:00:00Z", False),
            ("bot", "8800", None, "2026-03-05T14:00:05Z", False),  # via.source.rel answer_bot
            ("agent", "7003", None, "2026-03-05T14:03:00Z", False),
            ("agent", "7004", None, "2026-03-05T14:04:00Z", True),
        ]
        assert native["messages"][2]["body"] == "Yes! Go to Orders > Edit.\nBefore it ships, that is."

    def test_fields(self) -> None:
        native = zendesk.convert(record("zendesk", 1))
        assert (native["channel"], native["agent"], native["team"]) == ("chat", None, "group 360002")
        assert native["customer"] == {"external_id": "9100", "name": None}
        assert (native["csat"], native["closed_at"], native["reopen_count"]) == (None, None, None)

    def test_unassigned_goes_to_the_last_agent_who_replied(self) -> None:
        validated = ingest.validate_record(zendesk.convert(record("zendesk", 1)))
        assert validated.agent == ingest.AgentRef("7003", None, None)  # 7004 only wrote a note
        assert validated.values["first_response_seconds"] == 180


class TestBareTicket:
    """data/zendesk.json[2]: a ticket holding its comments, with system, trigger and offset times."""

    def test_fields(self) -> None:
        native = zendesk.convert(record("zendesk", 2))
        assert (native["external_id"], native["channel"], native["csat"]) == ("4523", "social", 1)
        assert native["created_at"] == "2026-03-06T13:00:00Z"
        assert native["closed_at"] == "2026-03-07T14:00:00Z"  # closed, no metrics: updated_at
        assert native["metadata"]["zendesk"]["satisfaction_comment"] == "Too slow"
        assert "comments" not in native["metadata"]["zendesk"]

    def test_system_and_trigger_authors(self) -> None:
        assert [m["author"] for m in zendesk.convert(record("zendesk", 2))["messages"]] == [
            "customer", "agent", "system", "bot"]


class TestShapes:
    def test_wrapped_answers_are_read(self) -> None:
        raw = record("zendesk", 0)
        raw["ticket"] = {"ticket": raw["ticket"]}
        raw["comments"] = {"comments": raw["comments"], "next_page": None, "count": 4}
        raw["users"] = [{"user": user} for user in raw["users"]]
        assert zendesk.convert(raw) == zendesk.convert(record("zendesk", 0))

    def test_description_when_there_are_no_comments(self) -> None:
        raw = record("zendesk", 0)
        del raw["comments"]
        assert messages(zendesk.convert(raw)) == [("customer", "9001", "Zoë Lefèvre", "2026-03-02T09:15:00Z",
                                                   False)]

    def test_author_missing_from_users_falls_back(self) -> None:
        raw = record("zendesk", 0)
        raw["users"] = [user for user in raw["users"] if user["id"] != 7001]
        native = zendesk.convert(raw)
        assert [m["author"] for m in native["messages"]] == ["customer", "agent", "agent", "customer"]
        assert native["agent"] == {"external_id": "7001", "name": None, "email": None}

    @pytest.mark.parametrize(("channel", "expected"), [
        ("email", "email"), ("voice", "phone"), ("twitter", "social"), ("instagram_dm", "social"),
        ("chat", "chat"), ("sms", "chat"), ("api", "other"), ("something_new", "other"), (None, "other")])
    def test_channels(self, channel: str | None, expected: str) -> None:
        raw = record("zendesk", 0)
        raw["ticket"]["via"] = {"channel": channel}
        assert zendesk.convert(raw)["channel"] == expected

    def test_missing_optional_fields(self) -> None:
        raw = {"ticket": {"id": 1}, "comments": [{"body": "Hi", "created_at": "2026-01-01T00:00:00Z"}]}
        native = zendesk.convert(raw)
        assert native["messages"] == [{"author": "agent", "author_id": None, "author_name": None,
                                       "body": "Hi", "created_at": "2026-01-01T00:00:00Z", "internal": False}]
        assert (native["agent"], native["team"], native["customer"], native["metadata"]) == (
            None, None, None, {"zendesk": {}})
        assert ingest.validate_record(native).values["created_at"] == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("path", "value", "error"), [
    ("comments.3.created_at", "yesterday",
     "ticket 4521: comments[3].created_at: not an ISO 8601 time: 'yesterday'"),
    ("comments.1", 7, "ticket 4521: comments[1]: expected an object, got a number"),
    ("comments", "none", "ticket 4521: comments: expected an array, got a string"),
    ("comments.0.public", "no", "ticket 4521: comments[0].public: expected true or false, got a string"),
    ("comments.0.author_id", {"id": 1}, "ticket 4521: comments[0].author_id: expected an id (a number or a"
                                        " string), got an object"),
    ("comments.1.html_body", ["x"], "ticket 4521: comments[1].html_body: expected a string, got an array"),
    ("users.0.id", [], "ticket 4521: users[0].id: expected an id (a number or a string), got an array"),
    ("users.1.name", 5, "ticket 4521: users[id=7001].name: expected a string, got a number"),
    ("ticket.id", None, "ticket: ticket.id: required"),
    ("ticket.id", True, "ticket: ticket.id: expected an id (a number or a string), got true"),
    ("ticket.via", "web", "ticket 4521: ticket.via: expected an object, got a string"),
    ("ticket.tags", ["ok", 3], "ticket 4521: ticket.tags[1]: expected a string, got a number"),
    ("ticket.satisfaction_rating.score", "great",
     "ticket 4521: ticket.satisfaction_rating.score: not a Zendesk satisfaction score (good, bad, offered,"
     " unoffered): 'great'"),
    ("ticket.metric_set.reopens", -1, "ticket 4521: ticket.metric_set.reopens: expected a whole number ≥ 0,"
                                      " got -1"),
    ("ticket.created_at", "0001-01-01T00:00:00+01:00", "ticket 4521: ticket.created_at: time out of range"),
    ("ticket", [], "ticket: expected an object, got an array"),
])
def test_bad_shapes_name_the_ticket_and_field(path: str, value: Any, error: str) -> None:
    raw = with_value(record("zendesk", 0), path, value)
    with pytest.raises(RecordError) as caught:
        zendesk.convert(raw)
    assert str(caught.value).startswith(error)


def test_no_comments_and_no_description_is_rejected_by_validation() -> None:
    raw = {"ticket": {"id": 9, "created_at": "2026-01-01T00:00:00Z"}, "comments": []}
    with pytest.raises(RecordError, match="messages: at least one message is required"):
        ingest.validate_record(zendesk.convert(raw))


@pytest.mark.parametrize("value", [None, 1, "ticket", []])
def test_not_an_object(value: Any) -> None:
    with pytest.raises(RecordError, match="^expected a JSON object"):
        zendesk.convert(value)

"""Intercom conversations (source + parts, Unix times) as native conversations, field by field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from qa.conversations import ingest
from qa.conversations.formats import RecordError, intercom
from tests.conversations.formats.helpers import record, with_value

KENJI = "5017691"
NGOZI = "65f1a0c2e4b0c1d2e3f4a5b6"


def messages(native: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(m["author"], m["author_id"], m["author_name"], m["created_at"], m["internal"])
            for m in native["messages"]]


class TestMessengerConversation:
    """data/intercom.json[0]: Fin, an assignment, a note, a reopen, a rating, tags and statistics."""

    def test_conversation_fields(self) -> None:
        native = intercom.convert(record("intercom", 0))
        assert [native[k] for k in ("external_id", "source", "channel")] == ["215468831", "intercom", "chat"]
        assert native["subject"] is None
        assert native["agent"] == {"external_id": KENJI, "name": "Kenji Sato", "email": "kenji@acme.example"}
        assert native["team"] == "Account Security"
        assert native["customer"] == {"external_id": NGOZI, "name": "Ngozi Okafor"}
        assert native["created_at"] == "2026-03-02T10:00:00Z"
        assert native["closed_at"] == "2026-03-02T11:05:00Z"  # statistics.last_close_at
        assert (native["csat"], native["tags"], native["reopen_count"]) == (4, ["login", "2fa"], 1)

    def test_parts_with_a_body_are_messages(self) -> None:
        assert messages(intercom.convert(record("intercom", 0))) == [
            ("customer", NGOZI, "Ngozi Okafor", "2026-03-02T10:00:00Z", False),  # the source
            ("bot", "4990001", "Fin", "2026-03-02T10:00:05Z", False),
            ("agent", KENJI, "Kenji Sato", "2026-03-02T10:08:20Z", True),  # note
            ("agent", KENJI, "Kenji Sato", "2026-03-02T10:09:00Z", False),
            ("customer", NGOZI, "Ngozi Okafor", "2026-03-02T11:01:40Z", False),  # an "open" part
            ("agent", KENJI, "Kenji Sato", "2026-03-02T11:05:00Z", False),  # a "close" part with a reply
        ]

    def test_html_bodies_become_text(self) -> None:
        bodies = [m["body"] for m in intercom.convert(record("intercom", 0))["messages"]]
        assert bodies[0] == "Hi, I can't log in – the 2FA code never arrives 😕"
        assert bodies[2] == "Known SMS delay with carrier X — see status page"
        assert bodies[3] == ("Hi Ngozi,\n\nSorry for the trouble. I’ve switched you to e-mail codes:\n\n"
                             "• Log out\n• Log in again")

    def test_metadata(self) -> None:
        meta = intercom.convert(record("intercom", 0))["metadata"]["intercom"]
        assert meta["custom_attributes"] == {"Plan": "Pro", "Region": "EU"}
        assert [meta[k] for k in ("state", "priority")] == ["closed", "not_priority"]
        assert meta["team_assignee_id"] == "1093"
        assert meta["statistics"]["time_to_admin_reply"] == 540
        assert (meta["source_type"], meta["source_delivered_as"]) == ("conversation", "customer_initiated")
        assert meta["rating_remark"] == "Quick, but I had to ask twice"
        assert meta["ai_agent_participated"] is True
        for gone in ("conversation_parts", "source", "contacts", "tags", "conversation_rating", "teams",
                     "title", "waiting_since"):
            assert gone not in meta

    def test_validated(self) -> None:
        validated = ingest.validate_record(intercom.convert(record("intercom", 0)))
        assert validated.key == ("intercom", "215468831")
        v = validated.values
        assert (v["created_at"], v["closed_at"]) == (datetime(2026, 3, 2, 10, tzinfo=UTC),
                                                     datetime(2026, 3, 2, 11, 5, tzinfo=UTC))
        assert (v["message_count"], v["agent_message_count"], v["customer_message_count"]) == (6, 3, 2)
        assert v["first_response_seconds"] == 540  # Fin's answer is not the first response
        assert (v["csat"], v["reopen_count"]) == (4, 1)
        assert validated.agent == ingest.AgentRef(KENJI, "Kenji Sato", "kenji@acme.example")


class TestOutboundEmail:
    """data/intercom.json[1]: a team-sent e-mail, a lead's reply, no rating, string Unix times."""

    def test_fields(self) -> None:
        native = intercom.convert(record("intercom", 1))
        assert (native["channel"], native["team"]) == ("email", None)
        assert native["subject"] == "Your invoice for March"
        assert native["agent"] == {"external_id": "5017700", "name": "Alex Kim", "email": None}
        assert native["customer"] == {"external_id": "65f1a0c2e4b0c1d2e3f4b777", "name": "Pieter de Vries"}
        assert (native["csat"], native["closed_at"], native["reopen_count"]) == (None, None, None)
        assert native["created_at"] == "2026-03-03T10:00:00Z"

    def test_messages(self) -> None:
        native = intercom.convert(record("intercom", 1))
        assert [(m["author"], m["body"]) for m in native["messages"]] == [
            ("bot", "Hello,\n\nYour invoice is attached."),  # sent as a team
            ("customer", "Why is VAT 21 % and not 6 %?"),  # the empty admin part is no message
        ]


class TestShapes:
    def test_unknown_assignee_name_stays_empty(self) -> None:
        raw = record("intercom", 1)
        raw["admin_assignee_id"] = 99
        assert intercom.convert(raw)["agent"] == {"external_id": "99", "name": None, "email": None}

    def test_team_without_a_teams_list(self) -> None:
        raw = record("intercom", 0)
        del raw["teams"]
        assert intercom.convert(raw)["team"] == "team 1093"

    def test_closed_without_statistics_uses_the_last_close_part(self) -> None:
        raw = record("intercom", 0)
        raw["statistics"] = None
        native = intercom.convert(raw)
        assert (native["closed_at"], native["reopen_count"]) == ("2026-03-02T11:05:00Z", None)

    def test_unknown_author_type(self) -> None:
        raw = record("intercom", 0)
        parts = raw["conversation_parts"]["conversation_parts"]
        parts[5]["author"]["type"] = "visitor"  # a contact: still the customer
        parts[6]["author"] = {"id": "x-1", "type": None}
        assert [m["author"] for m in intercom.convert(raw)["messages"]][-2:] == ["customer", "system"]

    def test_blank_source_author_of_a_tweet_is_the_contact(self) -> None:
        raw = record("intercom", 0)
        raw["source"].update(type="twitter", author={})
        native = intercom.convert(raw)
        assert (native["channel"], native["customer"]) == ("social", {"external_id": NGOZI,
                                                                      "name": "Ngozi Okafor"})
        assert (native["messages"][0]["author"], native["messages"][0]["author_id"]) == ("customer", NGOZI)

    def test_customer_from_contacts_when_an_admin_started(self) -> None:
        raw = record("intercom", 0)
        raw["source"]["author"] = {"type": "admin", "id": KENJI, "name": "Kenji Sato"}
        assert intercom.convert(raw)["customer"] == {"external_id": NGOZI, "name": "Ngozi Okafor"}

    @pytest.mark.parametrize(("kind", "expected"), [
        ("conversation", "chat"), ("email", "email"), ("phone_call", "phone"), ("whatsapp", "social"),
        ("instagram", "social"), ("push", "other"), (None, "other")])
    def test_channels(self, kind: str | None, expected: str) -> None:
        raw = record("intercom", 0)
        raw["source"]["type"] = kind
        assert intercom.convert(raw)["channel"] == expected

    def test_plain_part_list_and_tag_names(self) -> None:
        raw = record("intercom", 0)
        raw["conversation_parts"] = raw["conversation_parts"]["conversation_parts"]
        raw["tags"] = ["login", {"name": "2fa"}]
        assert intercom.convert(raw) == intercom.convert(record("intercom", 0))

    def test_missing_optional_fields(self) -> None:
        native = intercom.convert({"id": 7, "created_at": 1767225600, "source": {"body": "Hello"}})
        assert native["messages"] == [{"author": "system", "author_id": None, "author_name": None,
                                       "body": "Hello", "created_at": "2026-01-01T00:00:00Z",
                                       "internal": False}]
        assert [native[k] for k in ("agent", "team", "customer", "csat")] == [None, None, None, None]
        assert ingest.validate_record(native).key == ("intercom", "7")


@pytest.mark.parametrize(("path", "value", "error"), [
    ("conversation_parts.conversation_parts.2.created_at", "soon",
     "conversation 215468831: conversation_parts[2].created_at: not a Unix time: 'soon'"),
    ("conversation_parts.conversation_parts.0.body", 5,
     "conversation 215468831: conversation_parts[0].body: expected a string, got a number"),
    ("conversation_parts.conversation_parts.0.author", "Fin",
     "conversation 215468831: conversation_parts[0].author: expected an object, got a string"),
    ("conversation_parts.conversation_parts", {},
     "conversation 215468831: conversation_parts.conversation_parts: expected an array, got an object"),
    ("conversation_parts.conversation_parts.1", None,
     "conversation 215468831: conversation_parts[1]: expected an object, got null"),
    ("conversation_rating.rating", 6,
     "conversation 215468831: conversation_rating.rating: expected a whole number from 1 to 5, got 6"),
    ("conversation_rating.rating", "4",
     "conversation 215468831: conversation_rating.rating: expected a whole number from 1 to 5, got \"4\""),
    ("created_at", 1e20, "conversation 215468831: created_at: not a Unix time"),
    ("statistics.count_reopens", 1.5,
     "conversation 215468831: statistics.count_reopens: expected a whole number ≥ 0, got 1.5"),
    ("tags.tags.0", 3, "conversation 215468831: tags[0]: expected an object, got a number"),
    ("contacts.contacts.0.id", {}, "conversation 215468831: contacts[0].id: expected an id"),
    ("source", "hi", "conversation 215468831: source: expected an object, got a string"),
    ("id", None, "conversation: id: required"),
    ("id", [1], "conversation: id: expected an id (a number or a string), got an array"),
])
def test_bad_shapes_name_the_conversation_and_field(path: str, value: Any, error: str) -> None:
    with pytest.raises(RecordError) as caught:
        intercom.convert(with_value(record("intercom", 0), path, value))
    assert str(caught.value).startswith(error)


@pytest.mark.parametrize("value", [None, 1.5, "conversation", [{}]])
def test_not_an_object(value: Any) -> None:
    with pytest.raises(RecordError, match="^expected a JSON object"):
        intercom.convert(value)

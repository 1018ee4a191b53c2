"""Validating native records and the facts derived from them (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from qa.conversations.ingest import AgentRef, RecordError, stored_time, validate_record
from tests.conversations.helpers import native


def error_of(record: Any) -> str:
    with pytest.raises(RecordError) as caught:
        validate_record(record)
    return str(caught.value)


def msg(author: str, at: str | None, **extra: Any) -> dict[str, Any]:
    return {"author": author, "body": f"{author} says hi", "created_at": at, **extra}


class TestErrorsNameTheField:
    @pytest.mark.parametrize(("change", "expected"), [
        ({"external_id": None}, "external_id: Input should be a valid string"),
        ({"external_id": ""}, "external_id: String should have at least 1 character"),
        ({"external_id": "x" * 256}, "external_id: String should have at most 255 characters"),
        ({"channel": "fax"}, "channel: Input should be 'chat', 'email', 'phone', 'social' or 'other'"),
        ({"csat": 6}, "csat: Input should be less than or equal to 5"),
        ({"csat": 0}, "csat: Input should be greater than or equal to 1"),
        ({"created_at": "yesterday"},
         "created_at: Input should be an ISO 8601 date and time, got 'yesterday'"),
        ({"closed_at": 1700000000}, "closed_at: Input should be an ISO 8601 date and time string"),
        ({"messages": []}, "messages: at least one message is required"),
        ({"messages": "hello"}, "messages: Input should be a valid list"),
        ({"tags": "refund"}, "tags: Input should be a valid list"),
        ({"metadata": [1]}, "metadata: Input should be a valid dictionary"),
        ({"agent": {"name": "No id"}}, "agent.external_id: Field required"),
        ({"team": "t" * 201}, "team: String should have at most 200 characters"),
        ({"subject": "a\x00b"}, "subject: must not contain NUL"),
        ({"subject": "a\ud83db"}, "subject: must not contain a lone surrogate (\\ud83d)"),
        ({"created_at": "0001-01-01T00:00:00+01:00"},
         "created_at: Input should be an ISO 8601 date and time"),
    ])
    def test_conversation_fields(self, change: dict[str, Any], expected: str) -> None:
        assert error_of(native(**change)).startswith(expected)

    def test_missing_external_id(self) -> None:
        record = native()
        del record["external_id"]
        assert error_of(record) == "external_id: Field required"

    @pytest.mark.parametrize(("message", "expected"), [
        ({"author": "robot", "body": "x"},
         "messages[3].author: Input should be 'agent', 'customer', 'bot' or 'system'"),
        ({"body": "x"}, "messages[3].author: Field required"),
        ({"author": "agent"}, "messages[3].body: Field required"),
        ({"author": "agent", "body": None}, "messages[3].body: Input should be a valid string"),
        ({"author": "agent", "body": "x", "internal": "maybe"},
         "messages[3].internal: Input should be a valid boolean"),
        ({"author": "agent", "body": "x", "author_id": "a" * 256},
         "messages[3].author_id: String should have at most"),
        ({"author": "agent", "body": "x", "created_at": "soon"},
         "messages[3].created_at: Input should be an ISO 8601 date and time, got 'soon'"),
        ({"author": "agent", "body": "a\x00b"}, "messages[3]: text must not contain NUL"),
        ({"author": "agent", "body": "half \ud800 pair"},
         "messages[3]: text must not contain a lone surrogate"),
        ({"author": "agent", "body": "x", "author_name": "\udfff"},
         "messages[3].author_name: Input should be a valid string"),
        ("just text", "messages[3]: Input should be a valid dictionary"),
    ])
    def test_message_fields(self, message: Any, expected: str) -> None:
        record = native()
        record["messages"].append(message)
        assert error_of(record).startswith(expected)

    def test_several_errors_are_listed(self) -> None:
        assert error_of(native(channel="fax", csat=9)).count(";") == 1

    @pytest.mark.parametrize(("value", "kind"), [([], "an array"), ("x", "a string"), (3, "a number"),
                                                 (None, "null"), (True, "true")])
    def test_non_objects(self, value: Any, kind: str) -> None:
        assert error_of(value) == f"expected a JSON object, got {kind}"

    def test_created_at_is_required_when_no_message_has_a_time(self) -> None:
        record = native(created_at=None, messages=[{"author": "customer", "body": "hi"}])
        assert error_of(record).startswith("created_at: Field required")


class TestNormalisation:
    def test_numeric_ids_become_strings(self) -> None:
        record = validate_record(native(external_id=1234, agent={"external_id": 7, "name": "Dana"}))
        assert record.key == ("helpdesk", "1234")
        assert record.agent == AgentRef("7", "Dana", None)

    def test_agent_may_be_given_as_an_id(self) -> None:
        assert validate_record(native(agent="a-9")).agent == AgentRef("a-9", None, None)

    def test_channel_is_case_insensitive_and_defaults_to_other(self) -> None:
        assert validate_record(native(channel="Email")).values["channel"] == "email"
        record = native()
        del record["channel"]
        assert validate_record(record).values["channel"] == "other"

    def test_times_are_utc(self) -> None:
        record = validate_record(native(created_at="2026-03-01T12:00:00+02:00",
                                        closed_at="2026-03-01T10:20:00"))
        assert record.values["created_at"] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        assert record.values["closed_at"] == datetime(2026, 3, 1, 10, 20, tzinfo=UTC)

    def test_source_defaults_to_the_import_source(self) -> None:
        record = native()
        del record["source"]
        assert validate_record(record).key[0] == "import"
        assert validate_record(record, default_source="zendesk-eu").key[0] == "zendesk-eu"

    def test_blank_optional_values_become_null(self) -> None:
        record = validate_record(native(team="  ", language="", customer={"external_id": " ", "name": "Sam"}))
        assert record.team is None
        assert record.values["language"] == "en"  # blank, so guessed from what the customer wrote
        assert record.values["customer_external_id"] is None and record.values["customer_name"] == "Sam"

    def test_null_tags_and_metadata(self) -> None:
        record = validate_record(native(tags=None, metadata=None))
        assert record.values["tags"] == [] and record.values["metadata"] == {}

    @pytest.mark.parametrize(("text", "stored"), [
        ("2026-03-01T10:00:00Z", "2026-03-01 10:00:00.000000"),
        ("2026-03-01T10:00:00.5Z", "2026-03-01 10:00:00.500000"),
        ("2026-03-01T10:00:00.123Z", "2026-03-01 10:00:00.123000"),
        ("2026-03-01T10:00:00.123456Z", "2026-03-01 10:00:00.123456"),
        ("2026-03-01T10:00:00+02:00", "2026-03-01 08:00:00.000000"),
        ("2026-03-01 10:00", "2026-03-01 10:00:00.000000"),
        ("2026-03-01", "2026-03-01 00:00:00.000000"),
    ])
    def test_stored_time(self, text: str, stored: str) -> None:
        assert stored_time(text) == stored

    @pytest.mark.parametrize("text", ["2026-02-30T10:00:00Z", "2026-03-01T25:00:00Z", "noon", ""])
    def test_stored_time_refuses_non_times(self, text: str) -> None:
        with pytest.raises(ValueError):
            stored_time(text)


class TestDerivedFacts:
    def test_counts_first_response_and_handle_time(self) -> None:
        record = validate_record(native(messages=[
            msg("system", "2026-03-01T09:59:00Z"),
            msg("customer", "2026-03-01T10:00:00Z"),
            msg("bot", "2026-03-01T10:00:05Z"),
            msg("agent", "2026-03-01T10:00:30Z", internal=True, author_id="a-1"),  # a note: not a response
            msg("customer", "2026-03-01T10:01:00Z"),
            msg("agent", "2026-03-01T10:02:15Z", author_id="a-7"),
            msg("agent", "2026-03-01T10:03:00Z", author_id="a-7"),
        ]))
        v = record.values
        assert (v["message_count"], v["agent_message_count"], v["customer_message_count"]) == (7, 3, 2)
        assert v["first_response_seconds"] == 135
        assert v["handle_seconds"] == 20 * 60  # closed_at - created_at

    def test_handle_time_falls_back_to_the_message_span(self) -> None:
        record = validate_record(native(closed_at=None, messages=[
            msg("customer", "2026-03-01T10:00:00Z"), msg("agent", "2026-03-01T10:07:30Z")]))
        assert record.values["handle_seconds"] == 450

    def test_created_at_defaults_to_the_first_message_time(self) -> None:
        record = validate_record(native(created_at=None, closed_at=None, messages=[
            {"author": "customer", "body": "untimed"}, msg("customer", "2026-03-01T10:00:10Z"),
            msg("agent", "2026-03-01T10:00:40+00:00")]))
        assert record.values["created_at"] == datetime(2026, 3, 1, 10, 0, 10, tzinfo=UTC)
        assert record.values["handle_seconds"] == 30

    def test_no_response_without_times_or_an_agent_reply(self) -> None:
        untimed = validate_record(native(messages=[{"author": "customer", "body": "a"},
                                                   {"author": "agent", "body": "b"}]))
        assert untimed.values["first_response_seconds"] is None
        unanswered = validate_record(native(messages=[msg("agent", "2026-03-01T10:00:00Z"),
                                                      msg("customer", "2026-03-01T10:01:00Z")]))
        assert unanswered.values["first_response_seconds"] is None

    def test_closed_before_created_gives_no_handle_time(self) -> None:
        record = validate_record(native(closed_at="2026-03-01T09:00:00Z"))
        assert record.values["handle_seconds"] is None

    def test_agent_falls_back_to_the_last_agent_who_replied(self) -> None:
        record = validate_record(native(agent=None, messages=[
            msg("customer", "2026-03-01T10:00:00Z"),
            msg("agent", "2026-03-01T10:01:00Z", author_id="a-1", author_name="Ann"),
            msg("agent", "2026-03-01T10:02:00Z", author_id="a-2", author_name="Bo"),
            msg("agent", "2026-03-01T10:03:00Z", author_id="a-3", internal=True),  # a note is not a reply
            msg("agent", "2026-03-01T10:04:00Z"),  # no author id
        ]))
        assert record.agent == AgentRef("a-2", "Bo", None)

    def test_given_agent_wins_over_repliers(self) -> None:
        assert validate_record(native()).agent == AgentRef("a-7", "Dana Ruiz", "dana@example.com")

    def test_no_agent_at_all(self) -> None:
        record = validate_record(native(agent=None, messages=[{"author": "customer", "body": "hello?"}]))
        assert record.agent is None

    def test_message_rows_keep_order_and_blank_ids_become_null(self) -> None:
        record = validate_record(native(messages=[
            {"author": "customer", "body": "first", "author_id": "  "},
            {"author": "agent", "body": "", "author_id": 42, "internal": True}]))
        assert [m[:5] for m in record.messages] == [
            (0, "customer", None, None, "first"), (1, "agent", "42", None, "")]
        assert record.messages[1][6] is True

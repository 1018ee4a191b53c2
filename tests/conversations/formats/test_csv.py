"""CSV import (`formats.csv_rows`): header names, mappings, grouping, text, times, rejections, resources."""

from __future__ import annotations

import contextlib
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.conversations import ingest
from qa.conversations.formats import RecordError, csv_rows
from qa.conversations.ingest import ParsedRecord
from qa.errors import InvalidInput
from tests.conversations.formats.helpers import DATA_DIR


def read(data: bytes | str, mapping: dict[str, str] | None = None, chunk: int = 7) -> list[ParsedRecord]:
    """Every record of a CSV, fed in small chunks so that lines and characters straddle them."""
    raw = data.encode() if isinstance(data, str) else data
    return list(csv_rows.read((raw[i : i + chunk] for i in range(0, len(raw), chunk)), mapping))


def fixture(name: str, mapping: dict[str, str] | None = None) -> list[ParsedRecord]:
    return read((DATA_DIR / name).read_bytes(), mapping)


def records(parsed: list[ParsedRecord]) -> dict[str, dict[str, Any]]:
    """The good records by conversation id."""
    return {p.value["external_id"]: p.value for p in parsed if p.error is None}


def rejections(parsed: list[ParsedRecord]) -> list[tuple[int | None, str]]:
    return [(p.line, p.error) for p in parsed if p.error is not None]


def bodies(record: dict[str, Any]) -> list[str]:
    return [m["body"] for m in record["messages"]]


def error_of(data: str, mapping: dict[str, str] | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read(data, mapping)
    return caught.value


class TestDefaults:
    def test_a_helpdesk_export_becomes_native_records(self) -> None:
        parsed = fixture("helpdesk.csv")
        assert rejections(parsed) == []
        assert [(p.value["external_id"], p.line) for p in parsed] == [("T-100", 2), ("T-200", 4)]
        assert records(parsed)["T-100"] == {
            "external_id": "T-100", "subject": "Double charge", "channel": "email", "team": "Billing",
            "language": "en", "csat": 4, "tags": ["refund", "billing", "urgent"],
            "agent": {"external_id": "a-7", "name": "Dana Ruiz", "email": "dana@example.com"},
            "customer": {"external_id": "c-1", "name": "Sam Lee"},
            "messages": [
                {"author": "customer", "author_id": "c-1", "author_name": "Sam Lee",
                 "body": "Hi, I was charged twice for order #4417.", "created_at": "2026-03-01T10:00:00Z",
                 "internal": False},
                {"author": "agent", "author_id": "a-7", "author_name": "Dana Ruiz",
                 "body": "Sorry about that!\nI have refunded the second charge.",
                 "created_at": "2026-03-01T10:05:00Z", "internal": False},
                {"author": "agent", "author_id": "a-7", "author_name": "Dana Ruiz",
                 "body": "Refund ID RF-88.", "created_at": "2026-03-01T10:06:00Z", "internal": True},
            ],
            "metadata": {"csv": {"priority": "high"}},
        }

    def test_unicode_time_zones_and_vendor_words(self) -> None:
        record = records(fixture("helpdesk.csv"))["T-200"]
        assert (record["channel"], record["csat"], record["agent"]["name"]) == ("chat", 5, "Kenji 佐藤")
        assert record["customer"] == {"external_id": "c-2", "name": "Émilie Durand"}
        assert [(m["author"], m["body"], m["created_at"]) for m in record["messages"]] == [
            ("customer", "Bonjour, ma commande n'est pas arrivée 📦", "2026-03-01T11:00:00Z"),
            ("agent", "Je regarde tout de suite.", "2026-03-01T11:01:00Z"),  # Unix seconds
            ("customer", "Merci !", "2026-03-01T11:30:00Z"),  # no offset: UTC
        ]

    def test_header_names_match_whatever_their_case_spacing_and_punctuation(self) -> None:
        data = " Ticket ID ,Sender-Type,MESSAGE,Sent At\n7,Agent,Hello,2026-03-01T10:00:00Z\n"
        (parsed,) = read(data)
        assert parsed.value["external_id"] == "7"
        assert parsed.value["messages"][0] == {
            "author": "agent", "body": "Hello", "created_at": "2026-03-01T10:00:00Z", "author_id": None,
            "author_name": None, "internal": False}

    def test_without_roles_the_agents_own_rows_are_the_agents(self) -> None:
        data = ("conversation_id,author_id,author_name,body,agent_id,agent_name,date\n"
                "1,c-1,Sam,Hi,a-7,Dana,\n1,a-7,,Hello Sam,,,\n1,,Dana,Anything else?,,,\n"
                "1,c-1,Sam,No thanks,,,\n")
        (parsed,) = read(data)
        assert [m["author"] for m in parsed.value["messages"]] == ["customer", "agent", "agent", "customer"]
        assert parsed.value["customer"] == {"external_id": "c-1", "name": "Sam"}  # the first customer's

    def test_conversation_fields_come_from_any_row_and_extras_from_the_first(self) -> None:
        data = ("ticket,role,body,csat,closed_at,opened_at,queue_position,priority\n"
                "1,customer,Hi,,,2026-03-01T09:00:00Z,3,\n1,agent,Hello,,,,,high\n"
                "1,customer,Thanks,5,2026-03-01T11:00:00+01:00,,,\n")
        (parsed,) = read(data)
        record = parsed.value
        assert (record["csat"], record["created_at"], record["closed_at"]) == (
            5, "2026-03-01T09:00:00Z", "2026-03-01T10:00:00Z")
        assert record["metadata"] == {"csv": {"queue_position": "3"}}

    @pytest.mark.parametrize(("columns", "values", "agent"), [
        ("agent_email,agent_name", "dana@example.com,Dana",
         {"external_id": "dana@example.com", "name": "Dana", "email": "dana@example.com"}),
        ("assignee", "Dana", {"external_id": "Dana", "name": "Dana", "email": None}),
        ("team", "Billing", None),
    ])
    def test_the_agent_is_known_by_id_else_email_else_name(
        self, columns: str, values: str, agent: dict[str, Any] | None
    ) -> None:
        (parsed,) = read(f"ticket,role,body,time,{columns}\n1,customer,Hi,,{values}\n")
        assert parsed.value["agent"] == agent

    def test_html_bodies_become_text_and_plain_text_stays_as_written(self) -> None:
        data = ('id,ticket,role,body,time\n1,1,agent,"<p>Hello</p><p>Try <b>this</b></p>",\n'
                "2,1,customer,if a < b & c,\n")
        (parsed,) = read(data)
        assert bodies(parsed.value) == ["Hello\n\nTry this", "if a < b & c"]

    def test_channels_map_to_caliper_channels_and_an_unknown_one_is_kept(self) -> None:
        data = ("ticket,role,body,channel,time\n1,customer,a,E-Mail,\n2,customer,b,Telephone,\n"
                "3,customer,c,Carrier pigeon,\n")
        found = records(read(data))
        assert [found[k]["channel"] for k in "123"] == ["email", "phone", "other"]
        assert found["3"]["metadata"] == {"csv": {"channel": "Carrier pigeon"}}

    def test_every_role_word_of_the_issue(self) -> None:
        customer, agent = ("customer", False), ("agent", False)
        words = {"customer": customer, "End-User": customer, "end_user": customer, "user": customer,
                 "requester": customer, "contact": customer, "lead": customer, "visitor": customer,
                 "agent": agent, "Admin": agent, "staff": agent, "operator": agent, "support": agent,
                 "bot": ("bot", False), "automation": ("bot", False), "system": ("system", False),
                 "note": ("agent", True), "Internal Note": ("agent", True), "private": ("agent", True)}
        data = "ticket,role,body,time\n" + "".join(f"1,{word},{word},\n" for word in words)
        (parsed,) = read(data)
        assert {m["body"]: (m["author"], m["internal"]) for m in parsed.value["messages"]} == words

    def test_an_internal_column_marks_notes(self) -> None:
        data = ("ticket,role,body,time,is_internal\n1,agent,a,,yes\n1,agent,b,,FALSE\n1,agent,c,,\n"
                "1,agent,d,,1\n")
        (parsed,) = read(data)
        assert [m["internal"] for m in parsed.value["messages"]] == [True, False, False, True]

    def test_tags_split_on_commas_semicolons_and_bars(self) -> None:
        (parsed,) = read('ticket,body,time,tags\n1,Hi,,"a, b;c|a|| "\n')
        assert parsed.value["tags"] == ["a", "b", "c"]


class TestMapping:
    def test_a_mapping_names_the_columns(self) -> None:
        mapping = csv_rows.parse_mapping("conversation_id=Case Ref, author_role=Who; body=Said\n"
                                         "created_at=When,agent_name=Owner")
        (parsed,) = fixture("custom_headers.csv", mapping)
        record = parsed.value
        assert (record["external_id"], record["agent"]["name"]) == ("K-1", "Ana Silva")
        assert [(m["author"], m["body"]) for m in record["messages"]] == [
            ("customer", "My parcel is late."), ("agent", "It ships today, sorry.")]
        assert record["metadata"] == {"csv": {"Notes": "vip"}}

    def test_a_mapping_wins_over_the_default_names(self) -> None:
        data = "ticket_id,thread,body,time\n1,A,x,\n2,A,y,\n"
        (parsed,) = read(data, {"conversation_id": "thread"})
        assert parsed.value["external_id"] == "A" and parsed.value["metadata"] == {"csv": {"ticket_id": "1"}}

    def test_column_names_match_loosely_and_may_hold_commas(self) -> None:
        assert csv_rows.parse_mapping("Body = Text, Notes ;conversation_id=ticket id") == {
            "body": "Text, Notes", "conversation_id": "ticket id"}
        (parsed,) = read('"Text, Notes",Ticket ID,time\nhi,1,\n', csv_rows.parse_mapping(
            "body=Text, Notes,conversation_id=ticket id"))
        assert bodies(parsed.value) == ["hi"]

    def test_an_empty_mapping_is_no_mapping(self) -> None:
        assert csv_rows.parse_mapping(" \n ") == {}

    @pytest.mark.parametrize(("text", "expected"), [
        ("conversation_id=Ticket,bdy=Text", "unknown field 'bdy'; the fields are conversation_id, author"),
        ("conversation_id", "CSV mapping 'conversation_id': expected FIELD=COLUMN"),
        ("body=", "CSV mapping 'body=': expected FIELD=COLUMN"),
        ("body=a;body=b", "body is mapped twice"),
    ])
    def test_a_bad_mapping_says_what_is_wrong(self, text: str, expected: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            csv_rows.parse_mapping(text)
        assert expected in caught.value.message and caught.value.status_code == 400

    def test_a_mapping_to_a_column_the_file_lacks(self) -> None:
        error = error_of("ticket,body,time\n1,hi,\n", {"body": "Text"})
        assert error.message == ("CSV mapping body=Text: the CSV has no column 'Text' (found: ticket, body,"
                                 " time).")
        assert error.status_code == 400

    def test_a_mapping_passed_as_a_dict_is_checked_too(self) -> None:
        assert "unknown field 'bogus'" in error_of("ticket,body\n1,hi\n", {"bogus": "body"}).message

    def test_fields_list_each_field_with_header_names_that_no_other_field_claims(self) -> None:
        assert list(csv_rows.FIELDS)[:2] == ["conversation_id", "author_role"]
        assert {"conversation_id", "body", "created_at", "tags", "closed_at"} <= csv_rows.FIELDS.keys()
        names = [name for aliases in csv_rows.FIELDS.values() for name in aliases]
        assert len(names) == len(set(names))
        assert all(field in aliases for field, aliases in csv_rows.FIELDS.items())


class TestOrder:
    def test_messages_without_times_keep_the_files_order(self) -> None:
        data = ("ticket,role,body,time\n2,customer,b1,\n1,customer,a1,\n2,agent,b2,\n1,agent,a2,\n"
                "1,customer,a3,\n")
        found = records(read(data))
        assert (bodies(found["1"]), bodies(found["2"])) == (["a1", "a2", "a3"], ["b1", "b2"])

    def test_times_order_messages_and_ties_keep_the_files_order(self) -> None:
        data = ("ticket,role,body,time\n1,agent,third,2026-03-01T10:02:00Z\n"
                "1,customer,first,2026-03-01T10:00:00Z\n1,agent,tie a,2026-03-01T10:01:00Z\n"
                "1,agent,tie b,2026-03-01 10:01:00\n"
                "1,agent,fraction,2026-03-01T10:01:00.500Z\n")
        (parsed,) = read(data)
        assert bodies(parsed.value) == ["first", "tie a", "tie b", "fraction", "third"]

    def test_one_message_without_a_time_keeps_the_files_order(self) -> None:
        data = ("ticket,role,body,time\n1,agent,b,2026-03-01T10:02:00Z\n1,customer,a,\n"
                "1,agent,c,2026-03-01T10:00:00Z\n")
        (parsed,) = read(data)
        assert bodies(parsed.value) == ["b", "a", "c"]


# Conversations of 1-4 messages; the file lists their rows in any interleaving.
# Bodies are any text but NUL, "\r" (a break becomes "\n") and "<" (HTML would become text).
BODY = st.text(st.characters(codec="utf-8", exclude_characters="\x00\r<"), min_size=1, max_size=12)
CONVERSATIONS = st.lists(st.lists(BODY.filter(str.strip), min_size=1, max_size=4), min_size=1, max_size=5)


def _csv(rows: list[tuple[str, str, str, str]]) -> str:
    def quoted(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"'

    return "conversation_id,role,body,created_at\r\n" + "".join(
        ",".join(quoted(cell) for cell in row) + "\r\n" for row in rows)


class TestAnyOrder:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CONVERSATIONS, st.data())
    def test_any_interleaving_of_the_rows_gives_the_same_records(
        self, conversations: list[list[str]], data: st.DataObject
    ) -> None:
        # Without times, each conversation keeps its rows' relative order, whatever is between them.
        owners = data.draw(st.permutations([c for c, texts in enumerate(conversations) for _ in texts]))
        position = [0] * len(conversations)
        rows = []
        for c in owners:
            rows.append((f"C{c}", "customer", conversations[c][position[c]], ""))
            position[c] += 1
        found = records(read(_csv(rows), chunk=data.draw(st.integers(1, 64))))
        assert found == {
            f"C{c}": {"external_id": f"C{c}", "agent": None, "customer": None, "metadata": {},
                      "messages": [{"author": "customer", "body": text.strip(), "created_at": None,
                                    "author_id": None, "author_name": None, "internal": False}
                                   for text in texts]}
            for c, texts in enumerate(conversations)}

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CONVERSATIONS, st.randoms(use_true_random=False))
    def test_with_times_any_row_order_gives_the_same_records(
        self, conversations: list[list[str]], random: Any
    ) -> None:
        rows = [(f"C{c}", "agent" if m % 2 else "customer", text, f"2026-03-01T10:{m:02d}:00+01:00")
                for c, texts in enumerate(conversations) for m, text in enumerate(texts)]
        expected = records(read(_csv(rows)))
        random.shuffle(rows)
        assert records(read(_csv(rows))) == expected
        assert len(expected) == len(conversations)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=300), st.integers(1, 50))
    def test_whatever_bytes_follow_the_header_every_row_is_a_record_or_a_rejection(
        self, body: bytes, chunk: int
    ) -> None:
        for parsed in read(b"conversation_id,role,body,created_at,csat\n" + body, chunk=chunk):
            assert (parsed.value is None) == (parsed.error is not None) and parsed.line is not None
            if parsed.value is not None:
                with contextlib.suppress(RecordError):  # the importer rejects it with its line
                    ingest.validate_record(parsed.value)


class TestText:
    def test_a_bom_and_crlf_line_breaks(self) -> None:
        (parsed,) = fixture("bom_crlf.csv")
        assert parsed.value["external_id"] == "X-1"
        assert bodies(parsed.value) == ["Line one\nline two", "Got it."]

    def test_characters_split_across_chunks(self) -> None:
        data = "ticket,body,time\n1,Grüße aus 東京 🎉,\n".encode()
        for chunk in (1, 2, 3):
            (parsed,) = read(b"\xef\xbb\xbf" + data, chunk=chunk)
            assert bodies(parsed.value) == ["Grüße aus 東京 🎉"]

    def test_line_numbers_count_quoted_line_breaks_and_blank_lines(self) -> None:
        data = 'ticket,role,body,time\n\n1,customer,"a\nb\nc",\n,,,\n2,robot,x,\n'
        assert rejections(read(data)) == [
            (7, "conversation 2: author_role (column 'role'): unknown role 'robot' (use customer, agent, bot,"
                " system or note)")]

    def test_old_mac_line_breaks(self) -> None:
        (parsed,) = read("ticket,body,time\r1,a,\r1,b,\r")
        assert bodies(parsed.value) == ["a", "b"]


class TestTimes:
    @pytest.mark.parametrize(("written", "utc"), [
        ("2026-03-01T12:00:00+02:00", "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01t10:00:00z", "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00", "2026-03-01T10:00:00Z"),
        ("2026-03-01 10:00", "2026-03-01T10:00:00Z"),
        ("2026-03-01 10:00:30", "2026-03-01T10:00:30Z"),
        ("2026-02-28T19:00:00.25-05:00", "2026-03-01T00:00:00.250000Z"),
        ("1772359200", "2026-03-01T10:00:00Z"),
        ("1772359200.5", "2026-03-01T10:00:00.500000Z"),
        ("2026-03-01", "2026-03-01T00:00:00Z"),
    ])
    def test_accepted_times_become_utc(self, written: str, utc: str) -> None:
        (parsed,) = read(f"ticket,body,time\n1,hi,{written}\n")
        assert parsed.value["messages"][0]["created_at"] == utc

    @pytest.mark.parametrize("written", ["yesterday", "01/03/2026", "2026-13-01", "99999999999999999999"])
    def test_other_times_reject_the_row(self, written: str) -> None:
        parsed = read(f"ticket,body,time\n1,hi,{written}\n1,second,\n")
        assert rejections(parsed) == [
            (2, f"conversation 1: created_at (column 'time'): not a time: {written!r} (expected ISO 8601,"
                " YYYY-MM-DD HH:MM:SS or Unix seconds)")]
        assert bodies(records(parsed)["1"]) == ["second"]


class TestRejections:
    def test_a_bad_row_is_rejected_with_its_line_and_its_conversation_imported_without_it(self) -> None:
        data = ("ticket,role,body,time\n1,customer,Hi,2026-03-01T10:00:00Z\n"
                "1,robot,Beep,2026-03-01T10:00:01Z\n2,customer,Other,\n1,agent,Hello,2026-03-01T10:00:02Z\n")
        parsed = read(data)
        assert rejections(parsed) == [(3, "conversation 1: author_role (column 'role'): unknown role 'robot'"
                                          " (use customer, agent, bot, system or note)")]
        found = records(parsed)
        assert (bodies(found["1"]), bodies(found["2"])) == (["Hi", "Hello"], ["Other"])

    @pytest.mark.parametrize(("row", "reason"), [
        ("1,agent,   ,,", "conversation 1: body (column 'body') is empty"),
        ("1,agent,hi,", "expected 5 fields (as many as the header has), found 4"),
        ("1,agent,hi,yes,,extra", "expected 5 fields (as many as the header has), found 6"),
        (" ,agent,hi,,", "conversation_id (column 'ticket') is empty"),
        ("1,agent,hi,maybe,", "conversation 1: internal (column 'internal'): expected true or false, got"
                              " 'maybe'"),
        ("1,agent,a\x00b,,", "text must not contain NUL (\\u0000) characters"),
        ('1,agent,"hi"x,,', "malformed CSV row: ',' expected after '\"'"),
    ])
    def test_malformed_rows(self, row: str, reason: str) -> None:
        parsed = read(f"ticket,role,body,internal,time\n1,customer,first,,\n{row}\n1,customer,last,,\n")
        assert rejections(parsed) == [(3, reason)]
        assert bodies(records(parsed)["1"]) == ["first", "last"]

    def test_a_bad_conversation_field_rejects_the_conversation_at_the_line_of_its_value(self) -> None:
        data = "ticket,body,time,csat,closed_at\n1,a,,,\n1,b,,7,\n2,c,,,never\n3,d,,3,\n"
        parsed = read(data)
        assert rejections(parsed) == [
            (3, "conversation 1: csat (column 'csat'): expected 1 to 5 (or good/bad), got '7'"),
            (4, "conversation 2: closed_at (column 'closed_at'): not a time: 'never' (expected ISO 8601,"
                " YYYY-MM-DD HH:MM:SS or Unix seconds)")]
        assert list(records(parsed)) == ["3"]

    def test_a_conversation_whose_rows_are_all_bad_is_only_rejections(self) -> None:
        parsed = read("ticket,role,body,time\n1,robot,a,\n1,alien,b,\n")
        assert [line for line, _ in rejections(parsed)] == [2, 3] and records(parsed) == {}

    def test_bytes_that_are_not_utf8_reject_their_row(self) -> None:
        parsed = fixture("latin1.csv")
        assert rejections(parsed) == [(3, "not valid UTF-8: save the file as UTF-8")]
        assert bodies(records(parsed)["L-1"]) == ["Où est ma commande ?", "Merci beaucoup !"]

    def test_a_truncated_last_row_is_rejected(self) -> None:
        parsed = fixture("truncated.csv")
        assert rejections(parsed) == [(3, "the file ends inside a quoted field (is it truncated?)")]
        assert bodies(records(parsed)["Z-1"]) == ["Hello"]


class TestHeaderErrors:
    def test_a_missing_conversation_id_column_is_one_clear_error(self) -> None:
        error = error_of("a,b,message,time\n1,2,hi,\n")
        assert error.status_code == 400
        assert error.message == (
            "The CSV has no conversation id column (looked for conversation_id, ticket_id, ticket,"
            " conversation, thread_id, …; found: a, b, message, time). Map one with --map"
            " conversation_id=COLUMN.")

    def test_a_time_column_is_needed_and_a_conversation_time_will_do(self) -> None:
        error = error_of("ticket,body\n1,hi\n")
        assert error.message == (
            "The CSV has no message time column (looked for created_at, timestamp, time, date, sent_at, …;"
            " found: ticket, body). Map one with --map created_at=COLUMN.")
        (parsed,) = read("ticket,body,opened_at\n1,hi,2026-03-01T10:00:00Z\n")
        assert parsed.value["created_at"] == "2026-03-01T10:00:00Z"

    def test_every_missing_column_is_named_in_one_error(self) -> None:
        message = error_of("a,b\n1,2\n").message
        assert [part.split(" (")[0] for part in message.split(". ") if part.startswith("The CSV")] == [
            "The CSV has no conversation id column", "The CSV has no message body column",
            "The CSV has no message time column"]

    @pytest.mark.parametrize("data", ["", "\n\n", ",,\n", "\ufeff"])
    def test_an_empty_file(self, data: str) -> None:
        error = error_of(data)
        assert (error.message, error.status_code) == (
            "The CSV is empty: expected a header row, then one row per message.", 400)

    def test_a_header_alone_is_no_records(self) -> None:
        assert read("ticket,body,time\n") == []

    def test_a_header_that_is_not_utf8(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            read(b"ticket,r\xe9ponse,time\n1,hi,\n")
        assert caught.value.message == "The CSV header (line 1) is not valid UTF-8: save the file as UTF-8."


def _many_rows(count: int) -> Iterator[bytes]:
    yield b"ticket_id,role,body,created_at,note\n"
    filler = "x" * 250
    for start in range(0, count, 1000):
        yield "".join(f"T-{(i * 7919) % (count // 4)},customer,message {i} {filler},"
                      f"2026-03-01T10:00:{i % 60:02d}Z,n{i}\n" for i in range(start, start + 1000)).encode()


class TestResources:
    def test_memory_stays_bounded(self) -> None:
        count = 40_000  # ~12 MB of CSV; a list of its rows would take far more than the limit below
        tracemalloc.start()
        try:
            seen = sum(len(p.value["messages"]) for p in csv_rows.read(_many_rows(count)))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert seen == count
        assert peak < 6_000_000

    def test_the_spill_file_is_deleted_after_reading_and_after_an_abandoned_read(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        list(csv_rows.read(_many_rows(2000)))
        assert list(tmp_path.iterdir()) == []
        abandoned = csv_rows.read(_many_rows(2000))
        next(abandoned)
        assert len(list(tmp_path.iterdir())) == 1
        abandoned.close()  # type: ignore[attr-defined]
        assert list(tmp_path.iterdir()) == []

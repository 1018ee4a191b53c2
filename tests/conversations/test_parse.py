"""Reading import input: JSON arrays and JSON Lines, streamed, with bad records isolated."""

from __future__ import annotations

import json

import pytest

from qa.conversations.ingest import ParsedRecord, iter_records, parse_bytes
from qa.errors import InvalidInput

BOM = b"\xef\xbb\xbf"


def records(data: bytes, chunk: int = 1 << 20) -> list[ParsedRecord]:
    """Parse `data` as the importer would, delivered in chunks of `chunk` bytes."""
    return list(iter_records(data[i : i + chunk] for i in range(0, len(data), chunk)))


def values(data: bytes, chunk: int = 1 << 20) -> list[object]:
    parsed = records(data, chunk)
    assert all(p.error is None for p in parsed), [p.error for p in parsed]
    return [p.value for p in parsed]


ITEMS = [{"external_id": str(i), "body": "x" * i + ' "quoted", [brackets] {braces} \\ ü', "n": i * 1.5}
         for i in range(30)]


class TestJsonArray:
    @pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
    def test_elements_read_across_any_chunk_boundary(self, chunk: int) -> None:
        data = json.dumps(ITEMS, indent=1, ensure_ascii=False).encode()
        assert values(data, chunk) == ITEMS

    def test_empty_array_has_no_records(self) -> None:
        assert records(b"  [ \n ] ") == []

    def test_bom_and_leading_whitespace(self) -> None:
        assert values(BOM + b'\n  [{"a": 1}, {"b": 2}]') == [{"a": 1}, {"b": 2}]

    @pytest.mark.parametrize("chunk", [3, 1 << 20])
    def test_malformed_element_is_rejected_and_the_rest_continue(self, chunk: int) -> None:
        data = b'[{"a": 1}, {"b": nope, "c": [1, {"d": "},]"}]}, {"e": 3}, {"f": tru}, {"g": 4}]'
        parsed = records(data, chunk)
        assert [p.value for p in parsed] == [{"a": 1}, None, {"e": 3}, None, {"g": 4}]
        assert parsed[1].error is not None and parsed[1].error.startswith("invalid JSON: Expecting value")
        assert parsed[3].error is not None

    def test_non_objects_are_passed_on_for_validation_to_reject(self) -> None:
        assert values(b'[1, "two", [3], null, {"ok": true}]') == [1, "two", [3], None, {"ok": True}]

    def test_truncated_file_is_reported(self) -> None:
        parsed = records(b'[{"a": 1}, {"b": "unterminated')
        assert parsed[0] == ParsedRecord({"a": 1})
        assert parsed[1].error == "the input ends inside this record (is it truncated?)"

    def test_missing_closing_bracket_is_reported(self) -> None:
        parsed = records(b'[{"a": 1}, {"b": 2}')
        assert [p.value for p in parsed[:2]] == [{"a": 1}, {"b": 2}]
        assert parsed[2].error == "the input ends before the array is closed (is it truncated?)"

    def test_trailing_comma_is_forgiven(self) -> None:
        assert values(b'[{"a": 1},]') == [{"a": 1}]

    def test_nan_is_not_json(self) -> None:
        parsed = records(b'[{"a": NaN}, {"b": 1}]')
        assert parsed[0].error == "invalid JSON: NaN is not valid JSON"
        assert parsed[1].value == {"b": 1}

    def test_invalid_utf8_stops_with_a_reason(self) -> None:
        parsed = records(b'[{"a": 1}, {"b": "\xff\xfe"}]')
        assert parsed[0].value == {"a": 1}
        assert parsed[-1].error is not None and "not valid UTF-8" in parsed[-1].error


class TestJsonLines:
    def test_one_record_per_line_with_line_numbers(self) -> None:
        parsed = records(b'{"a": 1}\n{"b": 2}\n')
        assert parsed == [ParsedRecord({"a": 1}, 1), ParsedRecord({"b": 2}, 2)]

    @pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
    def test_blank_lines_are_skipped_and_do_not_count_as_records(self, chunk: int) -> None:
        data = b'\n{"a": 1}\r\n\n   \n{"b": 2}\r\n{"c": 3}'
        parsed = records(data, chunk)
        assert [(p.value, p.line) for p in parsed] == [({"a": 1}, 2), ({"b": 2}, 5), ({"c": 3}, 6)]

    def test_bom_is_ignored(self) -> None:
        assert values(BOM + b'{"a": 1}\n{"b": 2}\n') == [{"a": 1}, {"b": 2}]

    def test_malformed_lines_are_rejected_with_their_line(self) -> None:
        parsed = records(b'{"a": 1}\n{"b": \n[1, 2]\n{"c": 3}\nnot json\n')
        assert [p.value for p in parsed] == [{"a": 1}, None, [1, 2], {"c": 3}, None]
        assert parsed[1].line == 2 and parsed[1].error is not None
        assert parsed[1].error.startswith("invalid JSON: Expecting value (column")
        assert parsed[4].line == 5

    def test_invalid_utf8_line_is_rejected_alone(self) -> None:
        parsed = records(b'{"a": "\xff"}\n{"b": 1}\n')
        assert parsed[0].error == "not valid UTF-8 (byte 8 of the line)"
        assert parsed[1] == ParsedRecord({"b": 1}, 2)

    def test_pretty_printed_single_object(self) -> None:
        data = json.dumps({"external_id": "x", "messages": [{"author": "agent", "body": "hi"}]}, indent=2)
        assert values(data.encode()) == [json.loads(data)]

    def test_broken_first_line_is_still_reported_per_line(self) -> None:
        parsed = records(b'{"a": \n{"b": 2}\n')
        assert parsed[0].error is not None and parsed[0].line == 1
        assert parsed[1] == ParsedRecord({"b": 2}, 2)

    def test_empty_input_has_no_records(self) -> None:
        assert records(b"") == [] and records(b"\n \n") == []


class TestParseBytes:
    def test_array(self) -> None:
        assert [p.value for p in parse_bytes(b'[{"a": 1}, 2]', "application/json")] == [{"a": 1}, 2]

    def test_single_object_is_one_record(self) -> None:
        assert [p.value for p in parse_bytes(b'{"a": 1}', "application/json; charset=utf-8")] == [{"a": 1}]

    @pytest.mark.parametrize("content_type",
                             ["application/x-ndjson", "application/jsonl", "Application/X-NDJSON"])
    def test_ndjson_is_read_line_by_line(self, content_type: str) -> None:
        parsed = list(parse_bytes(b'{"a": 1}\n\nbroken\n{"b": 2}\n', content_type))
        assert [(p.value, p.line, p.error is None) for p in parsed] == [
            ({"a": 1}, 1, True), (None, 3, False), ({"b": 2}, 4, True)]

    @pytest.mark.parametrize(("body", "message"), [
        (b"", "The request body is empty"),
        (b"  \n", "The request body is empty"),
        (b'[{"a": 1},', "Malformed JSON in record 1: the input ends inside this record"),
        (b'[{"a": 1}, {"b": x}]', "Malformed JSON in record 1: Expecting value (character 7)."),
        (b'{"a": 1', "Malformed JSON at line 1, column 8: Expecting ',' delimiter."),
        (b'{"a": 1}\n{"b": 2}', "send Content-Type: application/x-ndjson"),
        (b"42", "Expected a JSON array"),
        (b'[{"a": NaN}]', "Malformed JSON in record 0: NaN is not valid JSON."),
        (b'["\xff"]', "Malformed JSON in record 0: not valid UTF-8 from byte 3 on."),
        (b'{"a": "\xff"}', "The body is not valid UTF-8 (byte 8)."),
    ])
    def test_malformed_bodies_are_bad_requests(self, body: bytes, message: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            list(parse_bytes(body, "application/json"))
        assert caught.value.status_code == 400
        assert message in caught.value.message

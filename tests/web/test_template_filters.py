"""The small formatting filters templates use."""

from __future__ import annotations

from datetime import UTC, datetime

from qa.web.templates import format_dt, format_duration, format_size


def test_file_sizes_read_like_people_write_them() -> None:
    assert [format_size(n) for n in (0, 512, 2048, 5 * 1024**2 + 1, 3 * 1024**3, None)] == [
        "0 B", "512 B", "2.0 KB", "5.0 MB", "3.0 GB", "0 B"]


def test_times_and_durations() -> None:
    at = datetime(2026, 3, 1, 9, 5, 7, tzinfo=UTC)
    assert (format_dt(at), format_dt(at, "%b %d"), format_dt(None)) == ("2026-03-01 09:05", "Mar 01", "")
    assert [format_duration(s) for s in (None, 7, 200, 3900)] == ["—", "7s", "3m 20s", "1h 05m"]

"""Helpers shared by the benchmarks: machine facts, timing statistics, result files, a uvicorn server, wrk.

Nothing here touches the network beyond 127.0.0.1: the server binds to loopback and wrk is only ever
pointed at it, for a bounded duration.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "bench" / "out"
LOOPBACK = "127.0.0.1"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---- machine and results ------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model and count, memory, Python and SQLite versions: what a reader needs to compare figures."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages * page_size / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_speed_ms": cpu_speed_ms(),
    }


def cpu_speed_ms() -> float:
    """Milliseconds one core takes for a fixed pure-Python loop (best of 3): the machine's speed now.

    Shared virtual machines change speed: on the reference machine this read 260 ms at some times
    of the day and 480-640 ms at others, and every figure moved with it. Printed beside the results
    so two runs can be compared.
    """
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write `data` as bench/out/<name>-<timestamp>.json (and <name>-latest.json); returns the path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT_DIR / f"{name}-{stamp}.json"
    text = json.dumps(data, indent=2, default=str)
    path.write_text(text + "\n")
    (OUT_DIR / f"{name}-latest.json").write_text(text + "\n")
    return path


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99, mean and max of durations in seconds, as milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str], raw: Sequence[Any] | None) -> str:
        out = []
        for i, text in enumerate(row):
            numeric = raw is not None and isinstance(raw[i], int | float)
            out.append(text.rjust(widths[i]) if numeric else text.ljust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [line(cells[0], None), "  ".join("-" * w for w in widths)]
    lines += [line(cells[i + 1], row) for i, row in enumerate(rows)]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Stopwatch:
    """Wall and CPU time of a block: `with Stopwatch() as sw: ...; sw.wall, sw.cpu`."""

    wall = cpu = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


# ---- a uvicorn server on loopback and wrk ---------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _installed(module: str) -> bool:
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, check=False)
    return probe.returncode == 0


@dataclass
class Server:
    """A running uvicorn worker: its base URL and process."""

    base_url: str
    process: subprocess.Popen[bytes]
    options: list[str]


@contextmanager
def uvicorn_server(
    env: dict[str, str], *, port: int | None = None, log_path: Path | None = None, timeout: float = 60.0
) -> Iterator[Server]:
    """Start ONE uvicorn worker of Caliper on 127.0.0.1 (uvloop/httptools when installed); stop it after."""
    port = port or free_port()
    options = ["--http", "httptools"] if _installed("httptools") else []
    options += ["--loop", "uvloop"] if _installed("uvloop") else []
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        os.environ.get("BENCH_APP", "qa.app:create_app"),
        "--factory",
        "--workers",
        "1",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        *options,
    ]
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}; see {log_path}")
            try:
                if httpx.get(f"{base_url}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not answer within {timeout:.0f} s")
            time.sleep(0.2)
        yield Server(base_url, process, options)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def login_cookie(base_url: str, email: str, password: str) -> str:
    """Log in through the real form and return the session cookie as a Cookie header value."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        match = CSRF_INPUT.search(client.get("/login").text)
        if not match:
            raise RuntimeError("the login page has no CSRF field")
        response = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": match.group(1)}
        )
        if response.status_code != 303:
            raise RuntimeError(f"login failed: {response.status_code} {response.text[:200]}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), for CPU cost per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_path() -> str:
    """The wrk binary (Debian package `wrk`)."""
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    return found


def run_wrk(
    url: str, *, cookie: str, duration: int, connections: int, threads: int = 1, server_pid: int | None = None
) -> dict[str, Any]:
    """Load one loopback URL with wrk for `duration` seconds; requests/s, latency percentiles, errors.

    With `server_pid`, also the server's CPU time per request, which other load on the machine
    disturbs much less than requests/s does.
    """
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError("wrk is only pointed at the local server")
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-H",
        f"Cookie: {cookie}",
        url,
    ]
    cpu_before = process_cpu_seconds(server_pid) if server_pid else 0.0
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True)
    result = parse_wrk(done.stdout)
    if server_pid and result.get("requests"):
        cpu_ms = (process_cpu_seconds(server_pid) - cpu_before) * 1000 / result["requests"]
        result["server_cpu_ms_per_request"] = round(cpu_ms, 2)
    return result


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return round(float(number) * _UNITS[unit], 2)


def parse_wrk(text: str) -> dict[str, Any]:
    """The figures of `wrk --latency` output."""
    result: dict[str, Any] = {"raw": text}
    if found := re.search(r"Requests/sec:\s+([\d.]+)", text):
        result["requests_per_s"] = float(found.group(1))
    if found := re.search(r"(\d+) requests in ([\d.]+\w+)", text):
        result["requests"] = int(found.group(1))
    for pct in ("50", "75", "90", "99"):
        if found := re.search(rf"^\s+{pct}%\s+([\d.]+\w+)", text, re.M):
            result[f"p{pct}_ms"] = _ms(found.group(1))
    if found := re.search(r"Latency\s+([\d.]+\w+)", text):
        result["mean_ms"] = _ms(found.group(1))
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    result["non_2xx"] = int(found.group(1)) if found else 0
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["socket_errors"] = sum(int(g) for g in found.groups()) if found else 0
    return result

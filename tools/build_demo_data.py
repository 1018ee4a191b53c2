"""Build Caliper's demo data subset (qa/demo/data/) from the shared conversation files.

Deterministic: the same input files give the same bytes. Each kept conversation is copied as its
original JSON line, unchanged (dates are moved to "recent" only when `qa demo` loads them).

    python3 tools/build_demo_data.py [--source ../shared/data] [--out qa/demo/data]

Selection:
- ubuntu-irc-support.jsonl: every conversation whose agent is one of the IRC_AGENTS agents with the
  most conversations (ties broken by external id);
- twitter-customer-care.jsonl: every conversation of the TWITTER_TEAMS companies.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IRC_FILE = "ubuntu-irc-support.jsonl"
TWITTER_FILE = "twitter-customer-care.jsonl"
LICENSES = ("LICENSE-ubuntu-irc.txt", "LICENSE-twitter-customer-care.txt")
IRC_AGENTS = 9
MIN_AGENT_CONVERSATIONS = 20
TWITTER_TEAMS = ("AppleSupport", "Google", "SpotifyCares", "TeamYouTube")


def _lines(path: Path) -> list[tuple[str, dict[str, object]]]:
    """Each non-empty line of a JSON Lines file with its parsed record."""
    with path.open(encoding="utf-8") as handle:
        return [(line.rstrip("\n"), json.loads(line)) for line in handle if line.strip()]


def _agent(record: dict[str, object]) -> str:
    agent = record.get("agent")
    return str(agent.get("external_id")) if isinstance(agent, dict) else ""


def busiest_agents(records: list[dict[str, object]], count: int) -> list[str]:
    """The `count` agents with the most conversations (at least MIN_AGENT_CONVERSATIONS each)."""
    counts = Counter(_agent(record) for record in records)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [agent for agent, n in ranked[:count] if n >= MIN_AGENT_CONVERSATIONS]


def select_irc(lines: list[tuple[str, dict[str, object]]]) -> list[str]:
    """The IRC lines whose agent is one of the busiest agents, in file order."""
    agents = set(busiest_agents([record for _, record in lines], IRC_AGENTS))
    return [line for line, record in lines if _agent(record) in agents]


def select_twitter(lines: list[tuple[str, dict[str, object]]]) -> list[str]:
    """The Twitter lines of the chosen companies, in file order."""
    return [line for line, record in lines if record.get("team") in TWITTER_TEAMS]


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"{path}: {len(lines)} conversations, {path.stat().st_size / 1e6:.2f} MB")


def build(source: Path, out: Path) -> None:
    """Write the two subsets and copy the licence files into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    _write(out / IRC_FILE, select_irc(_lines(source / IRC_FILE)))
    _write(out / TWITTER_FILE, select_twitter(_lines(source / TWITTER_FILE)))
    for name in LICENSES:
        shutil.copyfile(source / name, out / name)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "qa" / "demo" / "data")
    args = parser.parse_args(argv)
    build(args.source, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

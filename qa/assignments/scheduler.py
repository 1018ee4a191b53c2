"""Runs scheduled sampling rules at their period while the app runs, and expires overdue assignments.

Each app process runs one daemon thread that wakes every minute. A period is claimed by inserting its run
(unique rule + period), so with several processes, or after a restart, a period runs exactly once. When the
app starts after being down, the current period's run happens at once; earlier missed periods are not
replayed (their conversations fall in the current window of a relative date filter anyway).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from qa.assignments import service
from qa.coaching import goals as coaching_goals
from qa.db import session_scope
from qa.models import utcnow

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60.0


@dataclass
class TickResult:
    """What one tick did: the runs it made (ids) and how many assignments expired."""

    runs: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    expired: int = 0


def tick(engine: Engine, now: datetime | None = None) -> TickResult:
    """Run every scheduled rule whose current period has not run, each in its own transaction."""
    now = now or utcnow()
    result = TickResult()
    with session_scope(engine, write=False) as session:
        due = service.due_rules(session, now)
    for rule_id, _key in due:
        try:
            with session_scope(engine) as session:
                run = service.run_scheduled(session, rule_id=rule_id, now=now)
                if run is not None:
                    (result.runs if run.status == "done" else result.failed).append(run.id or 0)
        except Exception:  # one broken rule must not stop the others
            log.exception("scheduled sampling rule %s failed", rule_id)
            result.failed.append(rule_id)
    with session_scope(engine) as session:
        result.expired = service.expire_overdue(session, now)
    with session_scope(engine) as session:  # coaching goals: settle those past due, announce those due soon
        coaching_goals.process_due(session, now.date())
    return result


class Scheduler:
    """The background thread of one app process."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="caliper-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                tick(self.engine)
            except Exception:
                log.exception("sampling scheduler tick failed")
            self._stop.wait(self.interval)

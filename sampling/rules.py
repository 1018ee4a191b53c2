"""Sampling rules: the native definition (JSON/YAML), parsed and validated, and turned back into a dict.

A rule says which conversations qualify (filters), how many to pick (quota) and how (strategy), who reviews
them (reviewer pool), how often (period) and when they are due. Validation collects every problem with the
path of the offending field (``filters.csat[2]``, ``reviewers[1].capacity``), like scorecard definitions.

Decisions written down here because nobody is there to ask:
- Periods are UTC days and ISO weeks (Monday 00:00 UTC). A relative window (`last_days`) ends at the start of
  the run's period for scheduled rules ("closed in the last 7 days" on a weekly rule = the previous week) and
  at the moment of the run for one-off rules.
- Ids (teams, agents, reviewers, scorecard) are database ids; the service checks they exist and are visible.
- `csat` lists the ratings wanted (1-5) and/or ``"none"`` for conversations without a rating.
- Bot conversations are those a bot answered and no human agent did (`handled_by: "bot"`); the default
  `"any"` takes both. A per-agent quota treats conversations without an agent as one group.
- Weighted sampling weighs by a conversation fact (`weight_by`), so the weights are explainable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Literal

__all__ = [
    "CHANNELS",
    "PERIODS",
    "STRATA_FIELDS",
    "STRATEGIES",
    "WEIGHT_FIELDS",
    "Filters",
    "QuotaSpec",
    "ReviewerSpec",
    "Rule",
    "RuleError",
    "parse_filters",
    "parse_rule",
    "rule_to_dict",
]

STRATEGIES = ("random", "stratified", "weighted", "spotlight")
PERIODS = ("once", "daily", "weekly")
STRATA_FIELDS = ("channel", "team", "source", "language", "csat", "topic")
WEIGHT_FIELDS = ("messages", "agent_messages", "customer_messages", "handle_time", "first_response_time",
                 "low_csat", "reopens")
CHANNELS = ("chat", "email", "phone", "social", "other")
HANDLED_BY = ("any", "human", "bot")
DATE_FIELDS = ("created", "closed")
QUOTA_KINDS = ("per_agent", "percent", "total")
MAX_QUOTA = 100_000
MAX_LIST = 1_000
MAX_DAYS = 3_660
MAX_DUE_DAYS = 365
MAX_NAME = 200
MAX_SEED = 2**63 - 1
MAX_ID = 2**31 - 1  # database ids are 32-bit integers

_RANGES = {  # filter name -> what it bounds (min_/max_ prefixes)
    "messages": "message count", "agent_messages": "agent replies", "customer_messages": "customer messages",
    "first_response_seconds": "first-response time", "handle_seconds": "handle time",
}


class RuleError(ValueError):
    """A rule that can't be used; `problems` lists (field path, message) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{path}: {msg}" if path else msg for path, msg in self.problems))

    @property
    def field(self) -> str:
        return self.problems[0][0] if self.problems else ""


@dataclass(frozen=True)
class Filters:
    """Which conversations qualify. Empty lists and None mean "no restriction"."""

    teams: tuple[int, ...] = ()
    agents: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    date_field: Literal["created", "closed"] = "created"
    date_from: date | None = None
    date_to: date | None = None          # inclusive day
    last_days: int | None = None          # relative window, see the module docstring
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    csat: tuple[int | str, ...] = ()      # 1..5 and/or "none"
    min_messages: int | None = None
    max_messages: int | None = None
    min_agent_messages: int | None = None
    max_agent_messages: int | None = None
    min_customer_messages: int | None = None
    max_customer_messages: int | None = None
    min_first_response_seconds: int | None = None
    max_first_response_seconds: int | None = None
    min_handle_seconds: int | None = None
    max_handle_seconds: int | None = None
    handled_by: Literal["any", "human", "bot"] = "any"
    not_reviewed: bool = False            # no submitted manual review yet
    not_assigned: bool = False            # no open or done assignment yet, from any rule


@dataclass(frozen=True)
class QuotaSpec:
    """How many: `per_agent` N, `percent` of the matching conversations, or a fixed `total`."""

    kind: Literal["per_agent", "percent", "total"]
    value: float


@dataclass(frozen=True)
class ReviewerSpec:
    """A reviewer in the pool, with an optional cap on assignments per period."""

    id: int
    capacity: int | None = None


@dataclass(frozen=True)
class Rule:
    """A whole sampling rule."""

    name: str
    scorecard_id: int
    quota: QuotaSpec
    reviewers: tuple[ReviewerSpec, ...]
    filters: Filters = field(default_factory=Filters)
    backup_filters: Filters | None = None
    strategy: Literal["random", "stratified", "weighted", "spotlight"] = "random"
    stratify_by: str | None = None
    weight_by: str | None = None
    period: Literal["once", "daily", "weekly"] = "once"
    due_days: int = 7
    seed: int = 0
    description: str = ""


class _Reader:
    """Collects problems while reading a mapping, so one pass reports all of them."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def integer(self, value: Any, path: str, *, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(value, float) and not value.is_integer()):
            self.fail(path, "must be a whole number")
            return None
        number = int(value)
        if not low <= number <= high:
            self.fail(path, f"must be between {low} and {high}")
            return None
        return number

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
            return False
        return value

    def text(self, value: Any, path: str, *, max_length: int = MAX_NAME, required: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(path, "must be text")
            return ""
        value = value.strip()
        if required and not value:
            self.fail(path, "is required")
        elif len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters")
        return str(value)

    def choice(self, value: Any, path: str, choices: Sequence[str]) -> str | None:
        if value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}")
            return None
        return str(value)

    def listing(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            self.fail(path, "must be a list")
            return []
        if len(value) > MAX_LIST:
            self.fail(path, f"must have at most {MAX_LIST} entries")
            return []
        return list(value)

    def ids(self, value: Any, path: str) -> tuple[int, ...]:
        found = [self.integer(v, f"{path}[{i}]", low=1, high=MAX_ID) for i, v in
                 enumerate(self.listing(value, path))]
        return tuple(dict.fromkeys(v for v in found if v is not None))

    def texts(self, value: Any, path: str, *, choices: Sequence[str] | None = None) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(self.listing(value, path)):
            if choices is not None:
                chosen = self.choice(item, f"{path}[{i}]", choices)
                if chosen:
                    out.append(chosen)
            elif (text := self.text(item, f"{path}[{i}]", required=True)):
                out.append(text)
        return tuple(dict.fromkeys(out))

    def day(self, value: Any, path: str) -> date | None:
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(path, "must be a date like 2026-03-01")
            return None

    def unknown(self, data: Mapping[str, Any], known: Sequence[str], path: str) -> None:
        for key in data:
            if key not in known:
                where = f"{path}.{key}" if path else str(key)
                self.fail(where, "is not a field of a sampling rule" if not path else "is not a known filter")


_FILTER_FIELDS = tuple(f.name for f in fields(Filters))


def _read_filters(r: _Reader, data: Any, path: str) -> Filters:
    if data is None:
        return Filters()
    if not isinstance(data, Mapping):
        r.fail(path, "must be an object")
        return Filters()
    r.unknown(data, _FILTER_FIELDS, path)
    values: dict[str, Any] = {}
    for name in ("teams", "agents"):
        values[name] = r.ids(data.get(name), f"{path}.{name}")
    values["channels"] = r.texts(data.get("channels"), f"{path}.channels", choices=CHANNELS)
    values["sources"] = r.texts(data.get("sources"), f"{path}.sources")
    values["languages"] = r.texts(data.get("languages"), f"{path}.languages")
    for name in ("tags_any", "tags_all", "tags_none"):
        values[name] = r.texts(data.get(name), f"{path}.{name}")
    date_field = r.choice(data.get("date_field", "created"), f"{path}.date_field", DATE_FIELDS)
    values["date_field"] = date_field or "created"
    values["date_from"] = r.day(data.get("date_from"), f"{path}.date_from")
    values["date_to"] = r.day(data.get("date_to"), f"{path}.date_to")
    if values["date_from"] and values["date_to"] and values["date_from"] > values["date_to"]:
        r.fail(f"{path}.date_from", "is after date_to")
    if data.get("last_days") is not None:
        values["last_days"] = r.integer(data["last_days"], f"{path}.last_days", low=1, high=MAX_DAYS)
        if values["date_from"] or values["date_to"]:
            r.fail(f"{path}.last_days", "can't be combined with date_from/date_to")
    csat: list[int | str] = []
    for i, item in enumerate(r.listing(data.get("csat"), f"{path}.csat")):
        if item == "none":
            csat.append("none")
        elif (rating := r.integer(item, f"{path}.csat[{i}]", low=1, high=5)) is not None:
            csat.append(rating)
    values["csat"] = tuple(dict.fromkeys(csat))
    for name, what in _RANGES.items():
        low_name, high_name = f"min_{name}", f"max_{name}"
        for key in (low_name, high_name):
            if data.get(key) is not None:
                values[key] = r.integer(data[key], f"{path}.{key}", low=0, high=10**9)
        low, high = values.get(low_name), values.get(high_name)
        if low is not None and high is not None and low > high:
            r.fail(f"{path}.{low_name}", f"is above {high_name} ({what})")
    values["handled_by"] = r.choice(data.get("handled_by", "any"), f"{path}.handled_by", HANDLED_BY) or "any"
    for name in ("not_reviewed", "not_assigned"):
        values[name] = r.boolean(data.get(name, False), f"{path}.{name}")
    return Filters(**values)


def parse_filters(data: Any, path: str = "filters") -> Filters:
    """Filters alone (the page builds them field by field); RuleError lists every problem."""
    reader = _Reader()
    filters = _read_filters(reader, data, path)
    if reader.problems:
        raise RuleError(reader.problems)
    return filters


_RULE_FIELDS = ("name", "description", "scorecard_id", "filters", "backup_filters", "strategy", "stratify_by",
                "weight_by", "quota", "reviewers", "period", "due_days", "seed")


def _read_quota(r: _Reader, data: Any) -> QuotaSpec | None:
    if not isinstance(data, Mapping) or len(data) != 1:
        r.fail("quota", 'must be one of {"per_agent": N}, {"percent": P} or {"total": N}')
        return None
    ((kind, value),) = data.items()
    if kind not in QUOTA_KINDS:
        r.fail(f"quota.{kind}", f"is not a quota; use one of {', '.join(QUOTA_KINDS)}")
        return None
    if kind == "percent":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not 0 < value <= 100:
            r.fail("quota.percent", "must be a number above 0 and at most 100")
            return None
        return QuotaSpec("percent", float(value))
    number = r.integer(value, f"quota.{kind}", low=1, high=MAX_QUOTA)
    return None if number is None else QuotaSpec("total" if kind == "total" else "per_agent", float(number))


def _read_reviewers(r: _Reader, data: Any) -> tuple[ReviewerSpec, ...]:
    items = r.listing(data, "reviewers")
    if not items and not any(p == "reviewers" for p, _ in r.problems):
        r.fail("reviewers", "needs at least one reviewer")
    out: dict[int, ReviewerSpec] = {}
    for i, item in enumerate(items):
        path = f"reviewers[{i}]"
        if isinstance(item, Mapping):
            r.unknown(item, ("id", "capacity"), path)
            ident = r.integer(item.get("id"), f"{path}.id", low=1, high=MAX_ID)
            capacity = None
            if item.get("capacity") is not None:
                capacity = r.integer(item["capacity"], f"{path}.capacity", low=1, high=MAX_QUOTA)
        else:
            ident, capacity = r.integer(item, path, low=1, high=MAX_ID), None
        if ident is not None:
            if ident in out:
                r.fail(path, "is listed twice")
            out[ident] = ReviewerSpec(ident, capacity)
    return tuple(out.values())


def parse_rule(data: Any) -> Rule:
    """A Rule from its native dict; RuleError lists every problem with its field path."""
    r = _Reader()
    if not isinstance(data, Mapping):
        raise RuleError([("", "A sampling rule must be a JSON object.")])
    r.unknown(data, _RULE_FIELDS, "")
    name = r.text(data.get("name"), "name", required=True)
    description = r.text(data.get("description") or "", "description", max_length=2000)
    scorecard_id = r.integer(data.get("scorecard_id"), "scorecard_id", low=1, high=MAX_ID)
    filters = _read_filters(r, data.get("filters"), "filters")
    backup = None if data.get("backup_filters") is None else _read_filters(r, data["backup_filters"],
                                                                          "backup_filters")
    strategy = r.choice(data.get("strategy", "random"), "strategy", STRATEGIES) or "random"
    stratify_by = data.get("stratify_by") or None
    if strategy == "stratified":
        stratify_by = r.choice(stratify_by or "channel", "stratify_by", STRATA_FIELDS)
    elif stratify_by is not None:
        r.fail("stratify_by", "only applies to the stratified strategy")
    weight_by = data.get("weight_by") or None
    if strategy == "weighted":
        weight_by = r.choice(weight_by, "weight_by", WEIGHT_FIELDS)
    elif weight_by is not None:
        r.fail("weight_by", "only applies to the weighted strategy")
    quota = _read_quota(r, data.get("quota"))
    reviewers = _read_reviewers(r, data.get("reviewers"))
    period = r.choice(data.get("period", "once"), "period", PERIODS) or "once"
    due_days = r.integer(data.get("due_days", 7), "due_days", low=0, high=MAX_DUE_DAYS)
    seed = r.integer(data.get("seed", 0), "seed", low=0, high=MAX_SEED)
    if r.problems:
        raise RuleError(r.problems)
    assert scorecard_id is not None and quota is not None and due_days is not None and seed is not None
    return Rule(name=name, description=description, scorecard_id=scorecard_id, filters=filters,
                backup_filters=backup, strategy=strategy, stratify_by=stratify_by,  # type: ignore[arg-type]
                weight_by=weight_by, quota=quota, reviewers=reviewers, period=period,  # type: ignore[arg-type]
                due_days=due_days, seed=seed)


def _filters_to_dict(filters: Filters) -> dict[str, Any]:
    default = Filters()
    out: dict[str, Any] = {}
    for f in fields(Filters):
        value = getattr(filters, f.name)
        if value == getattr(default, f.name):
            continue
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[f.name] = value
    return out


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """The native dict of a rule; parse_rule(rule_to_dict(r)) == r."""
    quota_value: float | int = rule.quota.value if rule.quota.kind == "percent" else int(rule.quota.value)
    out: dict[str, Any] = {
        "name": rule.name, "description": rule.description, "scorecard_id": rule.scorecard_id,
        "filters": _filters_to_dict(rule.filters),
        "backup_filters": None if rule.backup_filters is None else _filters_to_dict(rule.backup_filters),
        "strategy": rule.strategy, "quota": {rule.quota.kind: quota_value},
        "reviewers": [{"id": r.id, "capacity": r.capacity} if r.capacity else {"id": r.id}
                      for r in rule.reviewers],
        "period": rule.period, "due_days": rule.due_days, "seed": rule.seed,
    }
    if rule.stratify_by:
        out["stratify_by"] = rule.stratify_by
    if rule.weight_by:
        out["weight_by"] = rule.weight_by
    return out

"""Sampling pages: rules (list, form, page), runs, and the assignment actions (skip, replace, reassign).

Managers and admins manage rules and runs; reviewers act on their own assignments from the queue's
"Your assignments" panel (`assignments_panel`, rendered by the queue route).

Decisions:
- The rule form is one flat HTML form whose fields are turned into the native rule dict and validated by
  `sampling.rules.parse_rule`, so the form, the API and the CLI accept exactly the same rules. Values the
  form can't read as numbers are passed through as text: `parse_rule` then names the field that is wrong.
- Every problem is shown next to its field (and in a summary at the top), keyed by the form field: a
  problem at `filters.csat[2]` belongs to the `f_csat` field.
- Filter fields carry a prefix (`f_` for the filters, `b_` for the backup filter) so one Jinja macro renders
  both fieldsets. Times are asked in minutes (people think of response times in minutes) and stored in
  seconds, as the rule format has them.
- The form covers every field of a rule, so editing a rule made through the API never drops a filter; ids
  the choice lists don't offer (an agent beyond the list's limit) are kept as extra, selected options.
- Strategy-specific selects (stratify by, weight by) are always in the page; CSS hides the ones that don't
  apply where the browser supports `:has()`, and the builder ignores them, so nothing needs JavaScript.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from qa.assignments import service
from qa.auth.deps import ManagerUser, ReviewerUser, SessionDep
from qa.errors import Conflict, InvalidInput, NotFound
from qa.models import SamplingRule, SamplingRun, User, utcnow
from qa.reviews import service as review_service
from qa.scorecard_admin import service as scorecard_service
from qa.web.htmx import hx_redirect, hx_trigger, is_htmx
from qa.web.templates import format_duration, render
from sampling.rules import (
    CHANNELS,
    PERIODS,
    STRATA_FIELDS,
    WEIGHT_FIELDS,
    Filters,
    Rule,
    RuleError,
    parse_rule,
)

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the public API

FLASH_KEY = "sampling_flash"
PANEL_FLASH_KEY = "assignments_flash"
PANEL_EVENT = "assignments-changed"  # the queue table refreshes itself on this event
RUNS_SHOWN = 20
AGENTS_SHOWN = 200  # a run's per-agent table; the short ones come first
SEED_LIMIT = 2**31  # a pre-filled seed people can read and retype

PREFIXES = {"filters": "f_", "backup_filters": "b_"}
MINUTE_FIELDS = {"first_response_seconds": "first_response_minutes", "handle_seconds": "handle_minutes"}
RANGES = (("messages", "Messages"), ("agent_messages", "Agent replies"),
          ("customer_messages", "Customer messages"), ("first_response_minutes", "First response (minutes)"),
          ("handle_minutes", "Handle time (minutes)"))
TEXT_LISTS = ("sources", "languages", "tags_any", "tags_all", "tags_none")
QUOTA_KINDS = (("per_agent", "per agent"), ("percent", "% of the matching conversations"),
               ("total", "in total"))
STRATEGY_LABELS = {"random": "Random", "stratified": "Stratified by a field",
                   "weighted": "Weighted by a field", "spotlight": "Spotlight: the ones that stand out"}
STRATUM_LABELS = {"channel": "channel", "team": "team", "source": "source", "language": "language",
                  "csat": "CSAT", "topic": "topic (found in the text)"}
WEIGHT_LABELS = {"messages": "message count", "agent_messages": "agent replies",
                 "customer_messages": "customer messages", "handle_time": "handle time",
                 "first_response_time": "first-response time", "low_csat": "low CSAT", "reopens": "reopens"}
PERIOD_LABELS = {"once": "Once", "daily": "Every day", "weekly": "Every week"}
TRIGGER_LABELS = {"page": "Page", "api": "API", "cli": "Command line", "schedule": "Schedule"}
HANDLED_LABELS = {"any": "Anyone", "human": "A human agent", "bot": "A bot only"}
FIELD_LABELS = {
    "name": "Name", "description": "Description", "scorecard_id": "Scorecard", "strategy": "Strategy",
    "stratify_by": "Stratify by", "weight_by": "Weight by", "quota_value": "Quota", "period": "Period",
    "due_days": "Due after", "seed": "Seed", "reviewers": "Reviewers", "form": "Rule",
    "teams": "Teams", "agents": "Agents", "channels": "Channels", "sources": "Sources",
    "languages": "Languages",
    "date_field": "Date", "last_days": "Last days", "date_from": "From", "date_to": "To",
    "tags_any": "Tags (any)", "tags_all": "Tags (all)", "tags_none": "Tags (none)", "csat": "CSAT",
    "handled_by": "Handled by", "not_reviewed": "Not yet reviewed", "not_assigned": "Not yet assigned",
    **{f"{end}_{name}": f"{label} ({end})" for name, label in RANGES for end in ("min", "max")},
}


async def _form(request: Request) -> FormData:
    return await request.form()  # parsed once: verify_csrf may have read it already


FormDep = Annotated[FormData, Depends(_form)]


# ---------------------------------------------------------------------------------------------
# Form values <-> the native rule dict
# ---------------------------------------------------------------------------------------------


class FormValues:
    """The rule form's values by field name (every field a list, as HTML sends them), for the template."""

    def __init__(self, values: Mapping[str, Sequence[str]] | None = None) -> None:
        self.values = {k: [str(v) for v in vs] for k, vs in (values or {}).items()}

    @classmethod
    def from_form(cls, form: FormData) -> FormValues:
        return cls({k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form})

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0].strip() if found else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self.values.get(name, []) if v.strip()]

    def has(self, name: str, value: Any = "1") -> bool:
        return str(value) in self.values.get(name, [])


def _number(raw: str) -> Any:
    """A number from a form field; "" is None; anything else unreadable stays text for parse_rule to name."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        return raw
    return value if math.isfinite(value) else raw


def _seconds(raw: str) -> Any:
    minutes = _number(raw)
    if isinstance(minutes, int | float) and not isinstance(minutes, bool):
        return round(minutes * 60)
    return minutes


def _comma_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def filters_dict(v: FormValues, prefix: str) -> dict[str, Any]:
    """One filter fieldset's values as the rule format's filters (empty fields left out)."""
    out: dict[str, Any] = {}
    for name in ("teams", "agents"):
        if ids := v.getlist(prefix + name):
            out[name] = [_number(i) for i in ids]
    if channels := v.getlist(prefix + "channels"):
        out["channels"] = channels
    for name in TEXT_LISTS:
        if items := _comma_list(v.get(prefix + name)):
            out[name] = items
    if csat := v.getlist(prefix + "csat"):
        out["csat"] = [c if c == "none" else _number(c) for c in csat]
    out["date_field"] = v.get(prefix + "date_field", "created") or "created"
    for name in ("date_from", "date_to"):
        if day := v.get(prefix + name):
            out[name] = day
    if (days := _number(v.get(prefix + "last_days"))) is not None:
        out["last_days"] = days
    for name in ("messages", "agent_messages", "customer_messages", *MINUTE_FIELDS):
        form_name = MINUTE_FIELDS.get(name, name)
        read = _seconds if name in MINUTE_FIELDS else _number
        for end in ("min", "max"):
            if (value := read(v.get(f"{prefix}{end}_{form_name}"))) is not None:
                out[f"{end}_{name}"] = value
    out["handled_by"] = v.get(prefix + "handled_by", "any") or "any"
    for name in ("not_reviewed", "not_assigned"):
        out[name] = v.has(prefix + name)
    return out


def rule_dict(v: FormValues) -> dict[str, Any]:
    """The native rule dict the form describes (validated afterwards by parse_rule)."""
    strategy = v.get("strategy", "random")
    data: dict[str, Any] = {
        "name": v.get("name"), "description": v.get("description"),
        "scorecard_id": _number(v.get("scorecard_id")), "strategy": strategy,
        "quota": {v.get("quota_kind", "per_agent"): _number(v.get("quota_value"))},
        "period": v.get("period", "once"), "filters": filters_dict(v, PREFIXES["filters"]),
        "reviewers": [{"id": _number(rid)} | ({"capacity": cap} if (cap := _number(v.get(f"capacity_{rid}")))
                                              is not None else {}) for rid in v.getlist("reviewers")],
    }
    if strategy == "stratified":
        data["stratify_by"] = v.get("stratify_by") or None
    if strategy == "weighted":
        data["weight_by"] = v.get("weight_by") or None
    for name in ("due_days", "seed"):
        if (number := _number(v.get(name))) is not None:
            data[name] = number
    if v.has("use_backup"):
        data["backup_filters"] = filters_dict(v, PREFIXES["backup_filters"])
    return data


def _minutes_text(seconds: Any) -> str:
    return f"{seconds / 60:.6g}" if isinstance(seconds, int | float) else str(seconds)


def _filter_values(filters: Mapping[str, Any], prefix: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in filters.items():
        if name in TEXT_LISTS:
            out[prefix + name] = [", ".join(value)]
        elif isinstance(value, bool):
            out[prefix + name] = ["1"] if value else []
        elif isinstance(value, list):
            out[prefix + name] = [str(item) for item in value]
        elif (stem := name[4:]) in MINUTE_FIELDS and name[:4] in ("min_", "max_"):
            out[f"{prefix}{name[:4]}{MINUTE_FIELDS[stem]}"] = [_minutes_text(value)]
        else:
            out[prefix + name] = [str(value)]
    return out


def values_from_rule(definition: Mapping[str, Any]) -> FormValues:
    """The form's values for a stored rule (the inverse of rule_dict)."""
    ((kind, amount),) = definition["quota"].items()
    values: dict[str, list[str]] = {
        "name": [definition["name"]], "description": [definition.get("description") or ""],
        "scorecard_id": [str(definition["scorecard_id"])],
        "strategy": [definition.get("strategy", "random")],
        "stratify_by": [definition.get("stratify_by") or ""],
        "weight_by": [definition.get("weight_by") or ""],
        "quota_kind": [kind], "quota_value": [f"{amount:g}"], "period": [definition.get("period", "once")],
        "due_days": [str(definition.get("due_days", 7))], "seed": [str(definition.get("seed", 0))],
        "reviewers": [str(r["id"]) for r in definition.get("reviewers", [])],
    }
    for reviewer in definition.get("reviewers", []):
        if reviewer.get("capacity"):
            values[f"capacity_{reviewer['id']}"] = [str(reviewer["capacity"])]
    values |= _filter_values(definition.get("filters") or {}, PREFIXES["filters"])
    if definition.get("backup_filters") is not None:
        values["use_backup"] = ["1"]
        values |= _filter_values(definition["backup_filters"], PREFIXES["backup_filters"])
    return FormValues(values)


def new_rule_values() -> FormValues:
    """A new rule's starting point: weekly, 5 per agent, closed in the last 7 days, not yet reviewed."""
    return FormValues({"strategy": ["random"], "quota_kind": ["per_agent"], "quota_value": ["5"],
                       "period": ["weekly"], "due_days": ["7"], "seed": [str(secrets.randbelow(SEED_LIMIT))],
                       "f_date_field": ["closed"], "f_last_days": ["7"], "f_not_reviewed": ["1"]})


# ---------------------------------------------------------------------------------------------
# Problems, by form field
# ---------------------------------------------------------------------------------------------


@dataclass
class Problems:
    """What is wrong with a submitted form: messages per form field, and a summary in form order."""

    by_field: dict[str, list[str]] = field(default_factory=dict)
    summary: list[tuple[str, str, str]] = field(default_factory=list)  # (field, label, message)

    def add(self, key: str, message: str) -> None:
        self.by_field.setdefault(key, []).append(message)
        self.summary.append((key, field_label(key), message))

    def get(self, key: str) -> list[str]:
        return self.by_field.get(key, [])

    def any_with(self, prefix: str) -> bool:
        return any(key.startswith(prefix) for key in self.by_field)

    def __bool__(self) -> bool:
        return bool(self.summary)


def field_label(key: str) -> str:
    """A form field's label for the problem summary."""
    if key.startswith(PREFIXES["backup_filters"]):
        return "Backup filter: " + FIELD_LABELS.get(key[2:], key[2:])
    if key.startswith("capacity_"):
        return "Reviewer capacity"
    return FIELD_LABELS.get(key.removeprefix(PREFIXES["filters"]), key)


_PATH_PART = re.compile(r"[.\[]")


def form_field(path: str, reviewer_ids: Sequence[str] = ()) -> str:
    """The form field a rule path belongs to: filters.csat[2] -> f_csat, quota.per_agent -> quota_value."""
    head, _, rest = path.partition(".")
    base = _PATH_PART.split(head, maxsplit=1)[0]
    if base in PREFIXES and rest:
        name = _PATH_PART.split(rest, maxsplit=1)[0]
        for stem, minutes in MINUTE_FIELDS.items():
            name = name.replace(stem, minutes)
        return PREFIXES[base] + name
    if base == "quota":
        return "quota_value"
    if base == "reviewers" and rest == "capacity" and (index := re.search(r"\[(\d+)\]", head)):
        position = int(index.group(1))
        return f"capacity_{reviewer_ids[position]}" if position < len(reviewer_ids) else "reviewers"
    return base if base in FIELD_LABELS else "form"


# parse_rule names the rule format's fields; the form calls them otherwise.
_FORM_WORDS = ((re.compile(r"is above max_\w+ \(([^)]*)\)"), r"is more than the “at most” \1"),
               (re.compile(r"is after date_to"), "is after the “to” date"),
               (re.compile(r"date_from/date_to"), "from/to dates"))


def _sentence(message: str) -> str:
    for pattern, words in _FORM_WORDS:
        message = pattern.sub(words, message)
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith((".", "?", "!")) else ".")


def problems_of(pairs: Iterable[tuple[str, str]], values: FormValues) -> Problems:
    """(rule path, message) pairs as problems of the form's fields."""
    problems = Problems()
    reviewer_ids = values.getlist("reviewers")
    for path, message in pairs:
        problems.add(form_field(path, reviewer_ids), _sentence(message))
    return problems


# ---------------------------------------------------------------------------------------------
# A rule in plain words
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Display names of what rules refer to by id."""

    teams: Mapping[int, str]
    agents: Mapping[int, str]
    users: Mapping[int, str]
    scorecards: Mapping[int, str]

    def of(self, kind: str, ids: Iterable[int]) -> list[str]:
        table: Mapping[int, str] = getattr(self, kind)
        return [table.get(i, f"#{i}") for i in ids]


def _join(items: Sequence[str], word: str = "and") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _plural(count: int | float, one: str, many: str) -> str:
    return f"{count:g} {one if count == 1 else many}"


def _date_phrase(f: Filters) -> str | None:
    what = f.date_field
    if f.last_days:
        return f"{what} in the last {_plural(f.last_days, 'day', 'days')}"
    if f.date_from and f.date_to:
        return f"{what} from {f.date_from.isoformat()} to {f.date_to.isoformat()}"
    if f.date_from:
        return f"{what} since {f.date_from.isoformat()}"
    if f.date_to:
        return f"{what} until {f.date_to.isoformat()}"
    return None


def _range_phrase(low: int | None, high: int | None, what: str, time: bool = False) -> str | None:
    def show(value: int) -> str:
        return format_duration(value) if time else f"{value:,}"

    if low is not None and high is not None:
        return f"{show(low)}–{show(high)} {what}" if not time else f"a {what} of {show(low)}–{show(high)}"
    if low is not None:
        return f"at least {show(low)} {what}" if not time else f"a {what} of at least {show(low)}"
    if high is not None:
        return f"at most {show(high)} {what}" if not time else f"a {what} of at most {show(high)}"
    return None


def _where_phrases(f: Filters, names: Names) -> list[str]:
    where = [p for p in [_date_phrase(f)] if p]
    if f.teams:
        where.append(f"in {'team' if len(f.teams) == 1 else 'teams'} {_join(names.of('teams', f.teams))}")
    if f.agents:
        where.append(f"handled by {_join(names.of('agents', f.agents), 'or')}")
    if f.handled_by != "any":
        where.append("answered by a human agent" if f.handled_by == "human" else "answered by a bot only")
    if f.channels:
        where.append(f"on {_join(f.channels, 'or')}")
    if f.sources:
        where.append(f"from {'source' if len(f.sources) == 1 else 'sources'} {_join(f.sources, 'or')}")
    if f.languages:
        where.append(f"in {'language' if len(f.languages) == 1 else 'languages'} {_join(f.languages, 'or')}")
    if f.tags_any:
        where.append(f"tagged {_join(f.tags_any, 'or')}")
    if f.tags_all:
        where.append(f"tagged {_join(f.tags_all, 'and')}")
    if f.tags_none:
        where.append(f"not tagged {_join(f.tags_none, 'or')}")
    return where


def _with_phrases(f: Filters) -> list[str]:
    found = [
        _range_phrase(f.min_messages, f.max_messages, "messages"),
        _range_phrase(f.min_agent_messages, f.max_agent_messages, "agent replies"),
        _range_phrase(f.min_customer_messages, f.max_customer_messages, "customer messages"),
        _range_phrase(f.min_first_response_seconds, f.max_first_response_seconds, "first response",
                      time=True),
        _range_phrase(f.min_handle_seconds, f.max_handle_seconds, "handle time", time=True),
    ]
    if f.csat:
        found.append("CSAT " + _join(["no rating" if c == "none" else str(c) for c in f.csat], "or"))
    return [p for p in found if p]


def describe_filters(f: Filters, names: Names) -> str:
    """Which conversations qualify, in words: "conversations closed in the last 7 days with ..."."""
    text = " ".join(["conversations", *_where_phrases(f, names)])
    if with_ := _with_phrases(f):
        text += " with " + _join(with_)
    flags = [label for on, label in ((f.not_reviewed, "not yet reviewed"),
                                     (f.not_assigned, "not yet assigned")) if on]
    if flags:
        text += ", " + " and ".join(flags)
    return "all conversations" if text == "conversations" else text


def describe_quota(rule: Rule) -> str:
    """The quota in words: 5 per agent, 10% of the matching conversations, 50 in total."""
    value = rule.quota.value
    if rule.quota.kind == "per_agent":
        return f"{value:g} per agent"
    if rule.quota.kind == "percent":
        return f"{value:g}% of the matching conversations"
    return f"{value:g} in total"


def describe_strategy(rule: Rule) -> str:
    """The strategy in words: random, stratified by channel, weighted by handle time, spotlight."""
    if rule.strategy == "stratified":
        return f"stratified by {STRATUM_LABELS.get(rule.stratify_by or '', rule.stratify_by)}"
    if rule.strategy == "weighted":
        return f"weighted by {WEIGHT_LABELS.get(rule.weight_by or '', rule.weight_by)}"
    if rule.strategy == "spotlight":
        return "spotlight (the conversations that stand out)"
    return "random"


def describe_rule(rule: Rule, names: Names) -> str:
    """The whole rule as one sentence a QA lead would say."""
    text = (f"{PERIOD_LABELS[rule.period]}, {describe_quota(rule)}, {describe_strategy(rule)}, "
            f"from {describe_filters(rule.filters, names)}")
    if rule.backup_filters is not None:
        text += f" (topped up when short from {describe_filters(rule.backup_filters, names)})"
    reviewers = [name + (f" (cap {spec.capacity})" if spec.capacity else "")
                 for spec, name in zip(rule.reviewers, names.of("users", [r.id for r in rule.reviewers]),
                                       strict=True)]
    due = ("due the same day" if rule.due_days == 0
           else f"due after {_plural(rule.due_days, 'day', 'days')}")
    scorecard = names.scorecards.get(rule.scorecard_id, f"scorecard #{rule.scorecard_id}")
    return (f"{text}; scored with {scorecard}; reviewers: {_join(reviewers)}; {due}; seed {rule.seed}.")


def _names(session: Session, user: User) -> Names:
    choices = review_service.filter_choices(session, actor=user)
    return Names(teams={c.id: c.name for c in choices.teams}, agents={c.id: c.name for c in choices.agents},
                 users={u.id: u.name for u in service.reviewer_choices(session) if u.id is not None},
                 scorecards={card.id: card.name for card, _, _ in
                             scorecard_service.list_scorecards(session, include_archived=True)
                             if card.id is not None})


# ---------------------------------------------------------------------------------------------
# Page contexts
# ---------------------------------------------------------------------------------------------


def _flash(request: Request, message: str, key: str = FLASH_KEY) -> None:
    request.session[key] = message


def _pop_flash(request: Request, key: str = FLASH_KEY) -> str | None:
    message = request.session.pop(key, None)
    return message if isinstance(message, str) else None


@dataclass(frozen=True)
class Option:
    """One choice of a select or checkbox group."""

    id: int | str
    name: str


def _with_extra(choices: Sequence[Option], chosen: Iterable[str], label: str) -> list[Option]:
    """The choices plus any chosen id they lack (kept selected, so saving never drops it)."""
    known = {str(c.id) for c in choices}
    return [*choices, *(Option(i, f"{label} #{i}") for i in chosen if i not in known)]


def _form_context(session: Session, user: User, values: FormValues, problems: Problems,
                  row: SamplingRule | None) -> dict[str, Any]:
    choices = review_service.filter_choices(session, actor=user)
    cards = scorecard_service.list_scorecards(session)
    scorecards = [Option(card.id or 0, card.name) for card, _, _ in cards]
    chosen_card = [values.get("scorecard_id")] if values.get("scorecard_id") else []
    teams = [Option(c.id, c.name) for c in choices.teams]
    agents = [Option(c.id, c.name) for c in choices.agents]
    picked = {p: (values.getlist(p + "teams"), values.getlist(p + "agents")) for p in PREFIXES.values()}
    return {
        "v": values, "problems": problems, "rule_row": row, "active_nav": "sampling",
        "scorecards": _with_extra(scorecards, chosen_card, "Scorecard"),
        "teams": {p: [(o.id, o.name) for o in _with_extra(teams, t, "Team")] for p, (t, _) in picked.items()},
        "agents": {p: _with_extra(agents, a, "Agent") for p, (_, a) in picked.items()},
        "reviewers": _pool_first(_reviewer_options(session), values.getlist("reviewers")),
        "strategies": STRATEGY_LABELS, "strata": [(s, STRATUM_LABELS[s]) for s in STRATA_FIELDS],
        "weights": [(w, WEIGHT_LABELS[w]) for w in WEIGHT_FIELDS], "periods": PERIODS,
        "period_labels": PERIOD_LABELS, "quota_kinds": QUOTA_KINDS,
        "channels": [(c, c.capitalize()) for c in CHANNELS],
        "handled_labels": HANDLED_LABELS, "ranges": RANGES,
    }


def _form_page(request: Request, session: Session, user: User, values: FormValues, problems: Problems,
               row: SamplingRule | None = None) -> Response:
    ctx = _form_context(session, user, values, problems, row)
    return render(request, "sampling/form.html", ctx, status_code=422 if problems else 200)


def _parse_form(session: Session, user: User, values: FormValues, row: SamplingRule | None
                ) -> SamplingRule | Problems:
    """Create or update the rule the form describes; its problems when it can't be stored."""
    try:
        rule = parse_rule(rule_dict(values))
        if row is None:
            return service.create_rule(session, actor=user, rule=rule)
        return service.update_rule(session, actor=user, rule_id=row.id, rule=rule)
    except RuleError as exc:
        return problems_of(exc.problems, values)
    except InvalidInput as exc:
        return problems_of([(exc.field or "", exc.message)], values)


@dataclass(frozen=True)
class RuleLine:
    """A rule as the rules table shows it."""

    row: SamplingRule
    rule: Rule
    last_run: SamplingRun | None


def _pool_first(options: list[Option], chosen: list[str]) -> list[Option]:
    """The rule's reviewers first, in the rule's order (allocation follows it), then everyone else."""
    by_id = {str(o.id): o for o in options}
    pool = [by_id.pop(i) for i in chosen if i in by_id]
    return [*pool, *by_id.values()]


def _reviewer_options(session: Session) -> list[Option]:
    return [Option(u.id or 0, u.name) for u in service.reviewer_choices(session)]


# ---------------------------------------------------------------------------------------------
# Rule pages
# ---------------------------------------------------------------------------------------------


@router.get("/sampling", name="sampling:rules")
def rules_page(request: Request, session: SessionDep, user: ManagerUser) -> Response:
    """Every rule the manager may run, with its last run and a Run now button."""
    rows = service.list_rules(session, actor=user)
    last = service.last_runs(session, rule_ids=[row.id for row in rows if row.id is not None])
    lines = [RuleLine(row, service.rule_of(row), last.get(row.id or 0)) for row in rows]
    ctx = {"lines": lines, "flash": _pop_flash(request), "active_nav": "sampling",
           "describe_quota": describe_quota, "describe_strategy": describe_strategy,
           "period_labels": PERIOD_LABELS}
    return render(request, "sampling/rules.html", ctx)


@router.get("/sampling/rules/new", name="sampling:new")
def new_page(request: Request, session: SessionDep, user: ManagerUser) -> Response:
    """The rule form, pre-filled with a common weekly rule and a fresh random seed."""
    return _form_page(request, session, user, new_rule_values(), Problems())


@router.post("/sampling/rules/new", name="sampling:create")
def create(request: Request, session: SessionDep, user: ManagerUser, form: FormDep) -> Response:
    """Store the rule; on problems show the form again, values kept, each problem by its field (422)."""
    values = FormValues.from_form(form)
    result = _parse_form(session, user, values, None)
    if isinstance(result, Problems):
        return _form_page(request, session, user, values, result)
    when = "Run it now, or let it run on schedule" if result.period != "once" else "Run it when you are ready"
    _flash(request, f"Rule “{result.name}” created. {when}.")
    return hx_redirect(request, str(request.url_for("sampling:rule", rule_id=result.id)))


@router.get("/sampling/rules/{rule_id}/edit", name="sampling:edit")
def edit_page(request: Request, rule_id: str, session: SessionDep, user: ManagerUser) -> Response:
    """The rule form filled with the stored rule."""
    row = service.get_rule(session, actor=user, rule_id=rule_id)
    return _form_page(request, session, user, values_from_rule(row.definition), Problems(), row)


@router.post("/sampling/rules/{rule_id}/edit", name="sampling:update")
def update(request: Request, rule_id: str, session: SessionDep, user: ManagerUser, form: FormDep) -> Response:
    """Save the edited rule (runs already made keep their parameters)."""
    row = service.get_rule(session, actor=user, rule_id=rule_id)
    values = FormValues.from_form(form)
    result = _parse_form(session, user, values, row)
    if isinstance(result, Problems):
        return _form_page(request, session, user, values, result, row)
    _flash(request, f"Rule “{result.name}” saved. Runs already made keep the rule they ran with.")
    return hx_redirect(request, str(request.url_for("sampling:rule", rule_id=result.id)))


@router.get("/sampling/rules/{rule_id}", name="sampling:rule")
def rule_page(request: Request, rule_id: str, session: SessionDep, user: ManagerUser) -> Response:
    """The rule in plain words, its actions and its latest runs."""
    row = service.get_rule(session, actor=user, rule_id=rule_id)
    rule = service.rule_of(row)
    runs = service.runs_of(session, actor=user, rule_id=row.id, limit=RUNS_SHOWN)
    ctx = {"row": row, "rule": rule, "sentence": describe_rule(rule, _names(session, user)), "runs": runs,
           "people": service.user_names(session, [r.run_by_id for r in runs]), "flash": _pop_flash(request),
           "active_nav": "sampling", "triggers": TRIGGER_LABELS,
           "runs_shown": RUNS_SHOWN}
    return render(request, "sampling/rule.html", ctx)


@router.post("/sampling/rules/{rule_id}/run", name="sampling:run")
def run_now(request: Request, rule_id: str, session: SessionDep, user: ManagerUser) -> Response:
    """Run the rule now and show the run."""
    run = service.run_stored_rule(session, actor=user, rule_id=rule_id, trigger="page")
    return hx_redirect(request, str(request.url_for("sampling:run_detail", run_id=run.id)))


@router.post("/sampling/rules/{rule_id}/active", name="sampling:set_active")
def set_active(request: Request, rule_id: str, session: SessionDep, user: ManagerUser,
               active: Annotated[str, Form(max_length=5)] = "") -> Response:
    """Pause (active=0) or resume (active=1) a rule's scheduled runs."""
    row = service.set_active(session, actor=user, rule_id=rule_id, active=active == "1")
    state = "resumed" if row.active else "paused"
    if row.period != "once":
        state += ": it runs on schedule again" if row.active else ": it no longer runs on schedule"
    _flash(request, f"“{row.name}” {state}.")
    return hx_redirect(request, str(request.url_for("sampling:rule", rule_id=row.id)))


# ---------------------------------------------------------------------------------------------
# Runs and reassigning
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """One stratum of a run: how much of the matches and of the picks it holds."""

    name: str
    matched: int
    picked: int
    matched_share: float
    picked_share: float


def stratum_shares(per_stratum: Sequence[Mapping[str, Any]]) -> list[Share]:
    """Each stratum's share of the matched and of the picked conversations (0..1)."""
    matched = sum(int(s.get("matched", 0)) for s in per_stratum) or 1
    picked = sum(int(s.get("picked", 0)) for s in per_stratum) or 1
    return [Share(str(s.get("stratum", "")), int(s.get("matched", 0)), int(s.get("picked", 0)),
                  int(s.get("matched", 0)) / matched, int(s.get("picked", 0)) / picked) for s in per_stratum]


def _run_context(session: Session, user: User, run: SamplingRun) -> dict[str, Any]:
    try:
        row = service.get_rule(session, actor=user, rule_id=run.rule_id) if run.rule_id else None
    except NotFound:  # whoever ran it may read the run without managing the rule
        row = None
    assignments = service.run_assignments(session, actor=user, run_id=run.id)
    loads = run.per_reviewer or []
    return {"run": run, "run_id": run.id, "rule_row": row, "assignments": assignments,
            "shares": stratum_shares(run.per_stratum or []), "loads": loads,
            "load_scale": max([int(r.get("assigned", 0)) for r in loads]
                              + [int(r.get("capacity") or 0) for r in loads] + [1]),
            "per_agent": (run.per_agent or [])[:AGENTS_SHOWN],
            "agents_hidden": max(0, len(run.per_agent or []) - AGENTS_SHOWN),
            "reviewers": _reviewer_options(session),
            "people": service.user_names(session, [run.run_by_id]), "active_nav": "sampling",
            "triggers": TRIGGER_LABELS}


@router.get("/sampling/runs/{run_id}", name="sampling:run_detail")
def run_page(request: Request, run_id: str, session: SessionDep, user: ManagerUser) -> Response:
    """A run: what matched, what was picked per agent and stratum, each reviewer's load, the assignments."""
    run = service.get_run(session, actor=user, run_id=run_id)
    ctx = _run_context(session, user, run) | {"flash": _pop_flash(request)}
    return render(request, "sampling/run.html", ctx)


def _run_row(session: Session, user: User, run_id: str, assignment_id: str) -> service.AssignmentRow | None:
    """One assignment as its run's table shows it (None beyond the rows the run page lists)."""
    try:
        if run_id:
            service.get_run(session, actor=user, run_id=run_id)
        return service.assignment_row(session, actor=user, assignment_id=assignment_id)
    except NotFound:  # a run of a rule the actor doesn't manage: no row to show
        return None


@router.post("/assignments/{assignment_id}/reassign", name="assignments:reassign")
def reassign(request: Request, assignment_id: str, session: SessionDep, user: ManagerUser,
             reviewer_id: Annotated[str, Form(max_length=20)] = "",
             run_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Give an open assignment to another reviewer; htmx gets the row back, a form post the run page."""
    error: InvalidInput | None = None
    try:
        assignment = service.reassign(session, actor=user, assignment_id=assignment_id,
                                      reviewer_id=reviewer_id)
        run_id = str(assignment.run_id or "")
    except InvalidInput as exc:
        if not is_htmx(request):
            raise
        error = exc
    row = _run_row(session, user, run_id, assignment_id) if is_htmx(request) else None
    if row is None:
        if error is not None:
            raise error
        _flash(request, "Assignment reassigned.")
        target = (request.url_for("sampling:run_detail", run_id=run_id) if run_id
                  else request.url_for("sampling:rules"))
        return hx_redirect(request, str(target))
    ctx = {"a": row, "run_id": run_id, "row_error": error.message if error else None,
           "row_saved": error is None, "reviewers": _reviewer_options(session)}
    return render(request, "sampling/_assignment_row.html", ctx, status_code=422 if error else 200)


# ---------------------------------------------------------------------------------------------
# The reviewer's assignments (the queue's panel)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelItem:
    """One open assignment in the panel, with its due date in words."""

    row: service.AssignmentRow
    due_text: str
    due_kind: str  # overdue, today, soon, later, none


@dataclass(frozen=True)
class Panel:
    """The queue's "Your assignments" panel."""

    items: list[PanelItem]
    total: int
    message: str | None = None
    error: str | None = None
    error_id: int | None = None


def due_words(due_at: datetime | None, now: datetime) -> tuple[str, str]:
    """A due date as the panel shows it, and its kind: overdue, today, soon (tomorrow), later or none."""
    if due_at is None:
        return "No due date", "none"
    day, today = due_at.date(), now.date()
    if due_at < now:
        return (f"Overdue since {due_at:%b} {day.day}" if day < today else "Overdue today"), "overdue"
    if day == today:
        return "Due today", "today"
    if day == today + timedelta(days=1):
        return "Due tomorrow", "soon"
    return f"Due {due_at:%a %b} {day.day}", "later"


def assignments_panel(request: Request, session: Session, user: User, *, message: str | None = None,
                      error: str | None = None, error_id: int | None = None) -> Panel | None:
    """The user's open assignments for the queue page; None when there are none and nothing to say."""
    rows, total = service.my_open_assignments(session, actor=user)
    message = message or _pop_flash(request, PANEL_FLASH_KEY)
    if not total and not message and not error:
        return None
    now = utcnow()
    items = [PanelItem(row, *due_words(row.due_at, now)) for row in rows]
    return Panel(items=items, total=total, message=message, error=error, error_id=error_id)


def _panel_response(request: Request, session: Session, user: User, *, message: str | None = None,
                    error: str | None = None, error_id: int | None = None,
                    status_code: int = 200) -> Response:
    """After a skip or replace: htmx gets the panel (and the queue table is told to refresh), a form post
    goes back to the queue with the message."""
    if not is_htmx(request):
        _flash(request, message or "", PANEL_FLASH_KEY)
        return RedirectResponse(str(request.url_for("reviews:queue")), status_code=303)
    panel = assignments_panel(request, session, user, message=message, error=error, error_id=error_id)
    response = render(request, "sampling/_my_assignments.html", {"panel": panel},
                      status_code=status_code)
    return response if error else hx_trigger(response, PANEL_EVENT)


def _id_of(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _subject(session: Session, user: User, assignment_id: int | None) -> str:
    rows, _ = service.my_open_assignments(session, actor=user)
    return next((f"“{r.subject}”" for r in rows if r.id == assignment_id), "the conversation")


@router.post("/assignments/{assignment_id}/skip", name="assignments:skip")
def skip(request: Request, assignment_id: str, session: SessionDep, user: ReviewerUser,
         reason: Annotated[str, Form(max_length=service.MAX_REASON + 500)] = "") -> Response:
    """Skip an open assignment, saying why; htmx gets the panel back (422 and the message if no reason)."""
    subject = _subject(session, user, _id_of(assignment_id))
    try:
        service.skip_assignment(session, actor=user, assignment_id=assignment_id, reason=reason)
    except (InvalidInput, Conflict) as exc:
        if not is_htmx(request):
            raise
        return _panel_response(request, session, user, error=exc.message, error_id=_id_of(assignment_id),
                               status_code=exc.status_code)
    return _panel_response(request, session, user, message=f"Skipped {subject}.")


@router.post("/assignments/{assignment_id}/replace", name="assignments:replace")
def replace(request: Request, assignment_id: str, session: SessionDep, user: ReviewerUser) -> Response:
    """Swap an open assignment for another conversation the same rule picks; htmx gets the panel back."""
    subject = _subject(session, user, _id_of(assignment_id))
    try:
        new = service.replace_assignment(session, actor=user, assignment_id=assignment_id)
    except (InvalidInput, Conflict) as exc:
        if not is_htmx(request):
            raise
        return _panel_response(request, session, user, error=exc.message, error_id=_id_of(assignment_id),
                               status_code=exc.status_code)
    return _panel_response(request, session, user,
                           message=f"Replaced {subject} with {_subject(session, user, new.id)}.")

"""The native sampling rule: parsing, every problem named by its field, and a lossless round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sampling.rules import CHANNELS, STRATA_FIELDS, WEIGHT_FIELDS, RuleError, parse_rule, rule_to_dict

BASE: dict[str, Any] = {
    "name": "Weekly",
    "scorecard_id": 1,
    "quota": {"per_agent": 5},
    "reviewers": [{"id": 2}],
}


def problems(data: Any) -> dict[str, str]:
    with pytest.raises(RuleError) as caught:
        parse_rule(data)
    return dict(caught.value.problems)


def test_defaults() -> None:
    rule = parse_rule(BASE)
    assert (rule.strategy, rule.period, rule.due_days, rule.seed) == ("random", "once", 7, 0)
    assert rule.filters.handled_by == "any" and rule.backup_filters is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": " "}, "name"),
        ({"scorecard_id": "one"}, "scorecard_id"),
        ({"quota": {"per_agent": 0}}, "quota.per_agent"),
        ({"quota": {"percent": 150}}, "quota.percent"),
        ({"quota": {"per_agent": 1, "total": 2}}, "quota"),
        ({"quota": {"some": 1}}, "quota.some"),
        ({"reviewers": []}, "reviewers"),
        ({"reviewers": [{"id": 2}, {"id": 2}]}, "reviewers[1]"),
        ({"reviewers": [{"id": 2, "capacity": 0}]}, "reviewers[0].capacity"),
        ({"strategy": "best"}, "strategy"),
        ({"strategy": "weighted"}, "weight_by"),
        ({"stratify_by": "channel"}, "stratify_by"),
        ({"period": "monthly"}, "period"),
        ({"due_days": -1}, "due_days"),
        ({"seed": 1.5}, "seed"),
        ({"colour": "red"}, "colour"),
        ({"filters": {"csat": [0]}}, "filters.csat[0]"),
        ({"filters": {"channels": ["fax"]}}, "filters.channels[0]"),
        ({"filters": {"date_from": "2026-02-30"}}, "filters.date_from"),
        ({"filters": {"date_from": "2026-03-02", "date_to": "2026-03-01"}}, "filters.date_from"),
        ({"filters": {"last_days": 7, "date_from": "2026-03-01"}}, "filters.last_days"),
        ({"filters": {"min_messages": 5, "max_messages": 2}}, "filters.min_messages"),
        ({"filters": {"tags_any": "vip"}}, "filters.tags_any"),
        ({"filters": {"not_reviewed": "yes"}}, "filters.not_reviewed"),
        ({"filters": {"sorcery": 1}}, "filters.sorcery"),
        ({"backup_filters": {"handled_by": "robot"}}, "backup_filters.handled_by"),
        ({"filters": []}, "filters"),
    ],
)
def test_each_problem_names_its_field(change: dict[str, Any], field: str) -> None:
    assert field in problems({**BASE, **change})


def test_all_problems_at_once() -> None:
    found = problems({"quota": {"total": 0}, "filters": {"csat": [7]}})
    assert {"name", "scorecard_id", "quota.total", "filters.csat[0]", "reviewers"} <= set(found)
    assert problems("nope") == {"": "A sampling rule must be a JSON object."}


filters_strategy = st.fixed_dictionaries(
    {},
    optional={
        "teams": st.lists(st.integers(1, 10**6), max_size=3, unique=True),
        "channels": st.lists(st.sampled_from(CHANNELS), max_size=3, unique=True),
        "tags_any": st.lists(st.text("abcxyz-", min_size=1, max_size=5), max_size=3, unique=True),
        "tags_none": st.lists(st.text("abcxyz-", min_size=1, max_size=5), max_size=3, unique=True),
        "csat": st.lists(st.sampled_from([1, 2, 3, 4, 5, "none"]), max_size=3, unique=True),
        "last_days": st.integers(1, 365),
        "min_agent_messages": st.integers(0, 50),
        "handled_by": st.sampled_from(["any", "human", "bot"]),
        "not_reviewed": st.booleans(),
        "date_field": st.sampled_from(["created", "closed"]),
    },
)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    strategy = draw(st.sampled_from(["random", "stratified", "weighted", "spotlight"]))
    rule: dict[str, Any] = {
        "name": draw(st.text("Billing weekly", min_size=1, max_size=20).filter(str.strip)).strip(),
        "scorecard_id": draw(st.integers(1, 10**6)),
        "strategy": strategy,
        "quota": draw(
            st.one_of(
                st.builds(lambda n: {"per_agent": n}, st.integers(1, 100)),
                st.builds(lambda n: {"total": n}, st.integers(1, 1000)),
                st.builds(lambda p: {"percent": p}, st.floats(0.5, 100)),
            )
        ),
        "reviewers": [
            {"id": i} for i in draw(st.lists(st.integers(1, 1000), min_size=1, max_size=4, unique=True))
        ],
        "filters": draw(filters_strategy),
        "period": draw(st.sampled_from(["once", "daily", "weekly"])),
        "due_days": draw(st.integers(0, 30)),
        "seed": draw(st.integers(0, 2**63 - 1)),
    }
    if draw(st.booleans()):
        rule["backup_filters"] = draw(filters_strategy)
    if strategy == "stratified":
        rule["stratify_by"] = draw(st.sampled_from(STRATA_FIELDS))
    if strategy == "weighted":
        rule["weight_by"] = draw(st.sampled_from(WEIGHT_FIELDS))
    return rule


@settings(max_examples=150, deadline=None)
@given(rules())
def test_round_trip(data: dict[str, Any]) -> None:
    rule = parse_rule(data)
    assert parse_rule(rule_to_dict(rule)) == rule

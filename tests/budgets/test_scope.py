"""A budget's settings as data: scope, thresholds and channels validated and put into words."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from budgets.scope import (
    mask_url,
    mask_urls,
    parse_filter,
    parse_threshold,
    scope_clean,
    scope_filters,
    scope_words,
    thresholds_clean,
    webhooks_clean,
)
from finops.explorer.query import DimFilter


def test_the_scope_merges_filters_and_becomes_explorer_filters() -> None:
    scope = scope_clean(
        [
            {"dimension": "team", "values": ["search"]},
            {"dimension": "team", "values": ["ads", "search"]},
            {"dimension": "account", "values": [123456789012], "exclude": True},
        ]
    )
    assert scope == [
        {"dimension": "team", "values": ["search", "ads"], "exclude": False},
        {"dimension": "account", "values": ["123456789012"], "exclude": True},
    ]
    assert scope_filters(scope) == (
        DimFilter("team", ("search", "ads")),
        DimFilter("account", ("123456789012",), exclude=True),
    )
    assert scope_words(scope) == "Team is search, ads; Account is not 123456789012"
    assert scope_words([]) == "All spend of the tenant"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"dimension": "team"}, "is a list of filters"),
        (["team=search"], "is not like"),
        ([{"dimension": "colour", "values": ["red"]}], "unknown dimension 'colour'"),
        ([{"dimension": "week", "values": ["2026-11-02"]}], "time bucket"),
        ([{"dimension": "team", "values": []}], "one or more values"),
        ([{"dimension": "team", "values": ["a"], "exclude": "yes"}], "exclude is true or false"),
        ([{"dimension": "team", "values": ["a"], "colour": "red"}], "unknown keys colour"),
        ([{"dimension": "team", "values": [str(i) for i in range(201)]}], "at most 200 values"),
    ],
)
def test_a_bad_scope_says_what_is_wrong(raw: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        scope_clean(raw)


def test_command_line_filters_and_thresholds() -> None:
    assert parse_filter("team=search,ads") == {"dimension": "team", "values": ["search", "ads"], "exclude": False}
    assert parse_filter("team!=search") == {"dimension": "team", "values": ["search"], "exclude": True}
    assert parse_filter("team=(none)")["values"] == [""]
    assert parse_threshold("forecast:90%") == {"kind": "forecast", "pct": 90}
    assert thresholds_clean([{"kind": "actual", "pct": 100}, {"kind": "actual", "pct": 80}] * 2) == [
        {"kind": "actual", "pct": 80},
        {"kind": "actual", "pct": 100},
    ]
    with pytest.raises(ValidationError, match="whole number"):
        thresholds_clean([{"kind": "actual", "pct": True}])


def test_webhooks_are_https_and_shown_masked() -> None:
    assert webhooks_clean(["https://hooks.example.com/a", "https://hooks.example.com/a"]) == [
        "https://hooks.example.com/a"
    ]
    with pytest.raises(ValidationError, match="https"):
        webhooks_clean(["http://hooks.example.com/a"])
    assert mask_url("https://hooks.example.com/services/T/B/secret-token") == "https://hooks.example.com/…oken"
    text = "Webhook (Slack-compatible): https://hooks.example.com/services/T/B/secret-token refused"
    assert mask_urls(text) == "Webhook (Slack-compatible): https://hooks.example.com/…oken refused"

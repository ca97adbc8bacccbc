"""CloudWatch Logs filter patterns, read as AWS reads them: the one reader the infra tests
(infra/tests/test_log_filters.py: each metric filter against the lines the code writes) and the
rehearsal's canary share."""

from __future__ import annotations

import json

import pytest
from query_devstack import FilterPatternError, log_filter_matches

FIVE_XX = '{ ($.message = "request handled") && ($.status >= 500) }'
FOUR_XX = '{ ($.message = "request handled") && ($.status >= 400) && ($.status < 500) }'


def _line(**fields: object) -> str:
    return json.dumps({"level": "INFO", "message": "request handled", **fields})


def test_the_stacks_patterns_count_by_status() -> None:
    assert log_filter_matches(FIVE_XX, _line(status=503, function_version="2"))
    assert not log_filter_matches(FIVE_XX, _line(status=200))
    forwarded = json.dumps({"message": "request forwarded", "status": 503})
    assert not log_filter_matches(FIVE_XX, forwarded)
    assert log_filter_matches(FOUR_XX, _line(status=400))
    assert not log_filter_matches(FOUR_XX, _line(status=500))
    assert not log_filter_matches(FIVE_XX, "not json at all")
    assert not log_filter_matches(FIVE_XX, json.dumps([1, 2]))  # JSON, but no object
    assert not log_filter_matches(FIVE_XX, _line(status="503"))  # a string is not a number


def test_star_is_the_only_wildcard() -> None:
    """Fails with fnmatch's rules, where ``?`` and ``[...]`` are wildcards too."""
    assert log_filter_matches('{ $.message = "request *" }', _line())
    assert not log_filter_matches('{ $.message = "request handle?" }', _line())
    assert log_filter_matches('{ $.message = "a?[b]" }', json.dumps({"message": "a?[b]"}))
    assert not log_filter_matches('{ $.message = "a?[b]" }', json.dumps({"message": "ax b"}))


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        (
            '{ ($.message = "request handled") && ($.status >= 500) }',
            {"message": "request handled", "status": 502},
            True,
        ),
        (
            '{ ($.message = "request handled") && ($.status >= 500) }',
            {"message": "request handled", "status": 200},
            False,
        ),
        (
            '{ ($.message = "request handled") && ($.status >= 500) }',
            {"message": "request forwarded", "status": 502},
            False,
        ),
        ("{ $.status >= 500 }", {"status": "502"}, False),  # a string is no number
        ("{ $.status != 200 }", {"message": "x"}, False),  # a missing field matches nothing
        ('{ $.a.b = "x*" }', {"a": {"b": "xyz"}}, True),
        ("{ $.a = 1 || $.b = 2 }", {"b": 2}, True),
        ("{ ($.a = 1 || $.b = 2) && $.c = 3 }", {"b": 2}, False),
        ('"request handled"', {"message": "request handled"}, True),
        ('"request forwarded"', {"message": "request handled"}, False),
    ],
)
def test_the_pattern_evaluator(pattern, line, expected):
    assert log_filter_matches(pattern, json.dumps(line)) is expected


@pytest.mark.parametrize("pattern", ["{ $.a = }", "{ $.a ~ 1 }", "[ip, user]", '{ $.a = "x" '])
def test_the_evaluator_refuses_what_it_does_not_know(pattern):
    with pytest.raises(FilterPatternError, match="pattern"):
        log_filter_matches(pattern, "{}")

"""CloudWatch Logs filter patterns, the subset the stack's metric filters use, evaluated here:
the one reader of them that the infra tests (each metric filter against the lines the code
writes) and the rehearsal's canary (the alarms over real traffic) share.

moto 5.2.5 has no ``TestMetricFilter`` and matches every line with a JSON pattern, and no kept
library evaluates them (docs/decisions/0010-canary-rollback-signals.md), so this reads: JSON
patterns ``{ SELECTOR OP VALUE }`` joined with ``&&``/``||``
and parentheses, SELECTOR ``$.a.b``, OP one of ``= != < <= > >=``, VALUE a number, a quoted
string or a bare word (``*`` a wildcard in strings); and a quoted term (``"request
handled"``), which matches the raw text. Anything else raises ``FilterPatternError`` (a
``ValueError``): a pattern this does not understand fails instead of matching by accident.

AWS's rules kept here: a string compares only with a string, a number only with a number;
a missing field matches nothing (``!=`` included); a line that is not JSON matches no JSON
pattern.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["FilterPatternError", "log_filter_matches"]

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<and>&&)|(?P<or>\|\|)"
    r"|(?P<selector>\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+)"
    r"|(?P<op>!=|<=|>=|=|<|>)"
    r'|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?\d+(?:\.\d+)?(?![\w.]))"
    r"|(?P<word>[A-Za-z0-9_*.:/-]+))"
)
_MISSING = object()


class FilterPatternError(ValueError):
    """A filter pattern this reader does not understand (the message names where)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise FilterPatternError(f"unsupported filter pattern near {text[position:]!r}")
        kind = str(match.lastgroup)  # one named group matched: the pattern has no other
        found.append((kind, match[kind]))
        position = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else "end"

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise FilterPatternError(f"filter pattern: expected {kind}, found {self.peek()}")
        self.at += 1
        return self.tokens[self.at - 1][1]

    def expression(self, line: dict[str, Any]) -> bool:
        result = self.conjunction(line)
        while self.peek() == "or":
            self.take("or")
            result = self.conjunction(line) or result  # parse both sides, always
        return result

    def conjunction(self, line: dict[str, Any]) -> bool:
        result = self.atom(line)
        while self.peek() == "and":
            self.take("and")
            result = self.atom(line) and result
        return result

    def atom(self, line: dict[str, Any]) -> bool:
        if self.peek() == "open":
            self.take("open")
            result = self.expression(line)
            self.take("close")
            return result
        selector = self.take("selector")
        operator = self.take("op")
        kind = self.peek()
        if kind not in ("string", "number", "word"):
            raise FilterPatternError(
                f"filter pattern: a value after {selector} {operator}, not {kind}"
            )
        raw = self.take(kind)
        return _compare(_select(line, selector), operator, kind, raw)


def _select(line: dict[str, Any], selector: str) -> Any:
    value: Any = line
    for part in selector.split(".")[1:]:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _compare(value: Any, operator: str, kind: str, raw: str) -> bool:
    if value is _MISSING:
        return False
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        number = float(raw)
        return {
            "=": value == number,
            "!=": value != number,
            "<": value < number,
            "<=": value <= number,
            ">": value > number,
            ">=": value >= number,
        }[operator]
    if operator not in ("=", "!="):
        raise FilterPatternError(f"filter pattern: {operator} compares numbers only")
    if not isinstance(value, str):
        return False
    text = json.loads(raw) if kind == "string" else raw
    # ``*`` is CloudWatch's only wildcard (fnmatch's ``?`` and ``[...]`` would be others).
    equal = re.fullmatch(re.escape(text).replace(r"\*", ".*"), value, re.DOTALL) is not None
    return equal if operator == "=" else not equal


def log_filter_matches(pattern: str, message: str) -> bool:
    """Whether CloudWatch Logs' ``pattern`` matches the log event ``message``."""
    text = pattern.strip()
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError(f"unbalanced JSON filter pattern: {pattern!r}")
        try:
            line = json.loads(message)
        except ValueError:
            return False
        if not isinstance(line, dict):
            return False
        parser = _Parser(_tokens(text[1:-1]))
        result = parser.expression(line)
        if parser.peek() != "end":
            raise FilterPatternError(f"filter pattern: unexpected {parser.peek()} in {pattern!r}")
        return result
    terms = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    if not terms or re.sub(r'"(?:[^"\\]|\\.)*"', "", text).strip():
        raise FilterPatternError(f"unsupported filter pattern: {pattern!r}")
    return all(json.loads(f'"{term}"') in message for term in terms)

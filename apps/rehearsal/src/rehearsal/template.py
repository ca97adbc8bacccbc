"""The synthesized template's intrinsic functions, evaluated (for the resources created through
their own APIs) or rewritten (for the part sent to moto's CloudFormation, whose references to
the other part become the values created there).

Only what the CDK emits is known: ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``,
``Fn::Select``, ``Fn::Split``; anything else fails naming the function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["TemplateError", "Values", "dependencies", "evaluate", "rewrite"]

_SUB = re.compile(r"\$\{(?P<name>[^}!][^}]*)\}")


class TemplateError(Exception):
    """The template holds what the deploy cannot read, or names what it has not created."""


class Values:
    """What each created resource answers to ``Ref`` and ``Fn::GetAtt``, and the pseudo
    parameters of the stack."""

    def __init__(self, pseudo: dict[str, str]) -> None:
        self.pseudo = pseudo
        self.refs: dict[str, Any] = {}
        self.attributes: dict[tuple[str, str], Any] = {}

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name not in self.refs:
            raise TemplateError(f"Ref {name}: not created (yet)")
        return self.refs[name]

    def attribute(self, logical_id: str, name: str) -> Any:
        if (logical_id, name) not in self.attributes:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{name}: not created (yet)")
        return self.attributes[(logical_id, name)]

    def known(self, logical_id: str) -> bool:
        return logical_id in self.refs


def _target(node: dict[str, Any]) -> tuple[str, str] | None:
    """``(logical id, attribute)`` of a ``Ref`` (attribute ``""``) or ``Fn::GetAtt`` node."""
    if len(node) != 1:
        return None
    if isinstance(ref := node.get("Ref"), str):
        return ref, ""
    if (att := node.get("Fn::GetAtt")) is not None:
        parts = att if isinstance(att, list) else str(att).split(".", 1)
        return str(parts[0]), str(parts[1])
    return None


def _sub_names(node: Any) -> Iterator[str]:
    text = node if isinstance(node, str) else node[0]
    for found in _SUB.finditer(text):
        yield found["name"].split(".", 1)[0]


def dependencies(node: Any) -> set[str]:
    """The logical ids (and pseudo parameters) ``node`` refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        if target := _target(node):
            found.add(target[0])
        elif "Fn::Sub" in node:
            found.update(_sub_names(node["Fn::Sub"]))
            if isinstance(node["Fn::Sub"], list):
                found.update(dependencies(node["Fn::Sub"][1]))
        else:
            for value in node.values():
                found |= dependencies(value)
    elif isinstance(node, list):
        for value in node:
            found |= dependencies(value)
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def evaluate(node: Any, values: Values) -> Any:
    """``node`` with every intrinsic function replaced by its value."""
    if isinstance(node, list):
        return [evaluate(value, values) for value in node]
    if not isinstance(node, dict):
        return node
    if target := _target(node):
        name, attribute = target
        return values.attribute(name, attribute) if attribute else values.ref(name)
    functions = [key for key in node if key.startswith("Fn::")]
    if not functions:
        return {key: evaluate(value, values) for key, value in node.items()}
    if len(node) != 1:
        raise TemplateError(f"{functions[0]} beside other keys")
    name, argument = functions[0], node[functions[0]]
    if name == "Fn::Join":
        separator, parts = argument
        return separator.join(_text(part) for part in evaluate(parts, values))
    if name == "Fn::Select":
        index, items = argument
        return evaluate(items, values)[int(evaluate(index, values))]
    if name == "Fn::Split":
        separator, text = argument
        return str(evaluate(text, values)).split(separator)
    if name == "Fn::Sub":
        text, local = (argument, {}) if isinstance(argument, str) else argument
        local = evaluate(local, values)

        def one(found: re.Match[str]) -> str:
            key = found["name"]
            if key in local:
                return _text(local[key])
            if "." in key:
                return _text(values.attribute(*key.split(".", 1)))
            return _text(values.ref(key))

        return _SUB.sub(one, text)
    raise TemplateError(f"{name}: not an intrinsic function this deploy knows")


def rewrite(node: Any, outside: Callable[[str], bool], values: Values) -> Any:
    """``node`` with each ``Ref``/``Fn::GetAtt`` to a resource for which ``outside`` is true
    (and each ``${...}`` of a ``Fn::Sub`` naming one) replaced by its value; the rest kept for
    CloudFormation to resolve."""
    if isinstance(node, list):
        return [rewrite(value, outside, values) for value in node]
    if not isinstance(node, dict):
        return node
    if (target := _target(node)) and outside(target[0]):
        return evaluate(node, values)
    if "Fn::Sub" in node and len(node) == 1:
        argument = node["Fn::Sub"]
        text, local = (argument, None) if isinstance(argument, str) else argument

        def one(found: re.Match[str]) -> str:
            key = found["name"]
            if outside(key.split(".", 1)[0]) and not (local and key in local):
                return _text(evaluate({"Fn::Sub": "${" + key + "}"}, values))
            return found[0]

        text = _SUB.sub(one, text)
        if local is None:
            return {"Fn::Sub": text}
        return {"Fn::Sub": [text, rewrite(local, outside, values)]}
    return {key: rewrite(value, outside, values) for key, value in node.items()}

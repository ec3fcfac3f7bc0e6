"""EventBridge event patterns (aws-behaviour.md §4.3), with the semantics of aws/event-ruler.

`matches(pattern, event)` decides; `validate(pattern)` raises PatternError with the reason AWS
would give at PutRule / TestEventPattern. Numbers are compared by their JSON text (300 != 300.0),
so callers that can should parse both sides with `loads_exact`; plain Python numbers work too.
Usable by any component (the pipes engine can use it for filter criteria)."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_MISSING = object()
_STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_OPERATORS = frozenset((*_STRING_OPERATORS, "anything-but", "numeric", "exists", "cidr"))
_NUMERIC_OPS = frozenset(("<", "<=", "=", ">=", ">"))
# event-ruler: numeric matching covers -5e9..5e9 with six decimals.
_NUMERIC_LIMIT = Decimal("5e9")


class PatternError(ValueError):
    """An event pattern AWS would refuse (InvalidEventPatternException)."""


class JsonNumber:
    """A JSON number that remembers its text: exact matching compares texts, numeric compares values."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def loads_exact(text: str) -> Any:
    """json.loads keeping every number as a JsonNumber."""
    return json.loads(text, parse_int=JsonNumber, parse_float=JsonNumber)


@functools.lru_cache(maxsize=2048)
def compile_pattern(raw: str) -> dict[str, Any]:
    """Parse (with exact numbers) and validate a pattern text once; patterns are immutable after."""
    try:
        pattern = loads_exact(raw)
    except ValueError as error:
        raise PatternError("Invalid JSON") from error
    validate(pattern)
    return pattern  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------- matching


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Does `event` (a JSON object) match `pattern`? An empty pattern matches everything."""
    return _match_object(pattern, event)


def _match_object(pattern: dict[str, Any], node: Any) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_match_object(alternative, node) for alternative in sub):
                return False
            continue
        value = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
        if isinstance(sub, dict):
            if not _match_nested(sub, value):
                return False
        elif isinstance(sub, list):
            if not _match_leaf(sub, value):
                return False
        else:
            return False
    return True


def _match_nested(pattern: dict[str, Any], value: Any) -> bool:
    if isinstance(value, dict):
        return _match_object(pattern, value)
    if isinstance(value, list):
        # Arrays of objects: each element on its own, fields are never combined across elements.
        return any(_match_nested(pattern, element) for element in value)
    # Absent, or a leaf where an object was expected: only exists:false conditions can hold.
    return _match_object(pattern, {})


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for element in value for leaf in _leaves(element)]
    if isinstance(value, dict):
        return []  # an object is not a leaf value
    return [value]


def _match_leaf(conditions: list[Any], value: Any) -> bool:
    leaves = [] if value is _MISSING else _leaves(value)
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if bool(leaves) == condition["exists"]:
                return True
        elif any(_match_one(condition, leaf) for leaf in leaves):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (JsonNumber, int, float)) and not isinstance(value, bool)


def _number_text(value: Any) -> str:
    if isinstance(value, JsonNumber):
        return value.text
    return json.dumps(value)


def _number_value(value: Any) -> Decimal:
    return Decimal(value.text) if isinstance(value, JsonNumber) else Decimal(str(value))


def _literal_equals(expected: Any, value: Any) -> bool:
    if expected is None or isinstance(expected, bool):
        return value is expected
    if isinstance(expected, str):
        return isinstance(value, str) and value == expected
    if _is_number(expected):
        return _is_number(value) and _number_text(value) == _number_text(expected)
    return False


def _match_one(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return _literal_equals(condition, value)
    (operator, argument), = condition.items()
    if operator == "anything-but":
        return _anything_but(argument, value)
    if operator in _STRING_OPERATORS:
        return isinstance(value, str) and _string_operator(operator, argument, value)
    if operator == "numeric":
        return _is_number(value) and _numeric(argument, value)
    if operator == "cidr":
        return isinstance(value, str) and _cidr(argument, value)
    return False


def _string_operator(operator: str, argument: Any, value: str) -> bool:
    if isinstance(argument, list):
        return any(_string_operator(operator, item, value) for item in argument)
    ignore_case = isinstance(argument, dict)
    text = argument["equals-ignore-case"] if ignore_case else argument
    if operator == "equals-ignore-case":
        return value.lower() == text.lower()
    if operator == "wildcard":
        return _wildcard_regex(text).fullmatch(value) is not None
    if ignore_case:
        value, text = value.lower(), text.lower()
    return value.startswith(text) if operator == "prefix" else value.endswith(text)


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, dict):
        (operator, inner), = argument.items()
        # A non-string cannot start with / end with / equal the string, so it is "anything but".
        return not (isinstance(value, str) and _string_operator(operator, inner, value))
    if isinstance(argument, list):
        return not any(_literal_equals(item, value) for item in argument)
    return not _literal_equals(argument, value)


def _numeric(argument: list[Any], value: Any) -> bool:
    number = _number_value(value)
    for operator, bound in zip(argument[::2], argument[1::2], strict=True):
        limit = _number_value(bound)
        ok = {
            "<": number < limit, "<=": number <= limit, "=": number == limit,
            ">=": number >= limit, ">": number > limit,
        }[operator]
        if not ok:
            return False
    return True


def _cidr(argument: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(argument, strict=False)
    except ValueError:
        return False


@functools.lru_cache(maxsize=1024)
def _wildcard_regex(text: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "*\\":
            parts.append(re.escape(text[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


# -------------------------------------------------------------------------------------- validation


def validate(pattern: Any) -> None:
    if not isinstance(pattern, dict):
        raise PatternError("Filter is not an object")
    _validate_object(pattern)


def _validate_object(node: dict[str, Any]) -> None:
    for key, value in node.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
                raise PatternError("$or must be an array of at least 2 objects")
            for alternative in value:
                _validate_object(alternative)
        elif isinstance(value, dict):
            _validate_object(value)
        elif isinstance(value, list):
            if not value:
                raise PatternError("Empty arrays are not allowed")
            for condition in value:
                _validate_condition(key, condition)
        else:
            raise PatternError(f"'{key}' must be an object or an array")


def _is_literal(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool)) or _is_number(value)


def _validate_condition(key: str, condition: Any) -> None:
    if _is_literal(condition):
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        raise PatternError(f"Match value for '{key}' must be a string, number, boolean, null or one operator object")
    (operator, argument), = condition.items()
    if operator not in _OPERATORS:
        raise PatternError(f"Unrecognized match type {operator}")
    if operator == "exists":
        if not isinstance(argument, bool):
            raise PatternError("exists match pattern must be either true or false.")
    elif operator == "numeric":
        _validate_numeric(argument)
    elif operator == "cidr":
        try:
            ipaddress.ip_network(argument, strict=False)
        except (TypeError, ValueError) as error:
            raise PatternError(f"Nonstandard IP address: {argument}") from error
    elif operator == "anything-but":
        _validate_anything_but(argument)
    else:
        _validate_string_operator(operator, argument)


def _validate_string_operator(operator: str, argument: Any) -> None:
    if operator in ("prefix", "suffix") and isinstance(argument, dict):
        if list(argument) != ["equals-ignore-case"] or not isinstance(argument["equals-ignore-case"], str):
            raise PatternError(f"{operator} match pattern must be a string or an equals-ignore-case object")
        return
    if not isinstance(argument, str):
        raise PatternError(f"{operator} match pattern must be a string")
    if operator == "wildcard" and "**" in argument.replace("\\*", ""):
        raise PatternError("Consecutive wildcard characters at pos " + str(argument.find("**") + 1))


def _validate_anything_but(argument: Any) -> None:
    if isinstance(argument, dict):
        if len(argument) != 1 or next(iter(argument)) not in _STRING_OPERATORS:
            raise PatternError("Unsupported anything-but pattern")
        (operator, inner), = argument.items()
        items = inner if isinstance(inner, list) and operator in ("equals-ignore-case", "wildcard") else [inner]
        for item in items:
            if not isinstance(item, str):
                raise PatternError(f"anything-but/{operator} match pattern must be a string")
        return
    if isinstance(argument, list):
        if not argument:
            raise PatternError("Empty arrays are not allowed")
        all_strings = all(isinstance(item, str) for item in argument)
        all_numbers = all(_is_number(item) for item in argument)
        if not (all_strings or all_numbers):
            raise PatternError("Inside anything but list, start|null|boolean is not supported.")
        return
    if not (isinstance(argument, str) or _is_number(argument)):
        raise PatternError("Inside anything but list, start|null|boolean is not supported.")


def _validate_numeric(argument: Any) -> None:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise PatternError("Value of numeric must be an array with 2 or 4 elements.")
    for operator, bound in zip(argument[::2], argument[1::2], strict=True):
        if operator not in _NUMERIC_OPS:
            raise PatternError(f"Unrecognized numeric range operator: {operator}")
        if not _is_number(bound):
            raise PatternError("Value of < must be numeric")
        try:
            if abs(_number_value(bound)) > _NUMERIC_LIMIT:
                raise PatternError("Value of numeric is out of range")
        except InvalidOperation as error:
            raise PatternError("Value of numeric must be a number") from error
    if len(argument) == 4 and "=" in argument[::2]:
        raise PatternError("Bad numeric range operator: =")

"""What a rule target receives (aws-behaviour.md §4.4 last bullet, §4.6): the whole event, `Input`,
`InputPath` or `InputTransformer`.

Transformer rules, from the EventBridge user guide (eb-transform-target-input):
- a placeholder outside a JSON string is a JSON value: strings are quoted for you (`"state": <state>`
  gives `"state": "RUNNING"`), objects/arrays/numbers/booleans are inserted as JSON;
- inside a string, the value is inserted as is, not escaped;
- a variable whose path does not exist "isn't created and won't appear in the output": it is
  replaced by nothing (UNCONFIRMED what AWS does with the now invalid JSON; SQS accepts any text);
- JSON output is minified; output that is not JSON (a plain text template) is delivered as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_MISSING = object()
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]")


class TransformError(ValueError):
    """The target input cannot be built (e.g. an InputPath that is not a JSONPath)."""


def dumps(value: Any) -> str:
    """Compact JSON, as EventBridge sends it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def extract(document: Any, path: str) -> Any:
    """Resolve the JSONPath subset EventBridge supports ($, .key, [n], .* and [*]); _MISSING if absent."""
    if not path.startswith("$"):
        raise TransformError(f"Invalid JSONPath {path!r}: must start with $")
    nodes = [document]
    spread = False
    position = 1
    while position < len(path):
        token = _PATH_TOKEN.match(path, position)
        if token is None:
            raise TransformError(f"Invalid JSONPath {path!r} at position {position}")
        position = token.end()
        key, index = token.group(1), token.group(2)
        found: list[Any] = []
        for node in nodes:
            if key == "*" or index == "*":
                spread = True
                found.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else [])
            elif key is not None:
                if isinstance(node, dict) and key in node:
                    found.append(node[key])
            elif isinstance(node, list) and int(index) < len(node):
                found.append(node[int(index)])
        nodes = found
    if spread:
        return nodes
    return nodes[0] if nodes else _MISSING


def render(
    input_paths_map: Mapping[str, str], template: str, event: dict[str, Any], predefined: Mapping[str, Any]
) -> str:
    """Fill an InputTemplate. `predefined` holds the aws.events.* variables."""
    values: dict[str, Any] = dict(predefined)
    for name, path in input_paths_map.items():
        values[name] = extract(event, path)
    out: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        char = template[position]
        if char == "\\" and in_string:
            out.append(template[position : position + 2])
            position += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            placeholder = _PLACEHOLDER.match(template, position)
            if placeholder is not None and placeholder.group(1) in values:
                out.append(_substitute(values[placeholder.group(1)], in_string))
                position = placeholder.end()
                continue
        out.append(char)
        position += 1
    rendered = "".join(out)
    try:
        json.loads(rendered)
    except ValueError:
        return rendered
    return _minify(rendered)


def _substitute(value: Any, in_string: bool) -> str:
    if value is _MISSING:
        return ""
    if in_string:
        return value if isinstance(value, str) else dumps(value)
    return dumps(value)


def _minify(text: str) -> str:
    """Drop insignificant whitespace without re-serialising (keeps number texts and key order)."""
    out: list[str] = []
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char not in " \t\r\n":
            out.append(char)
    return "".join(out)


def target_input(target: Mapping[str, Any], event: dict[str, Any], predefined: Mapping[str, Any]) -> str:
    """The message body for `target`; the whole event unless Input / InputPath / InputTransformer."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        value = extract(event, target["InputPath"])
        # UNCONFIRMED what AWS sends for a path that matches nothing; null keeps the body valid JSON.
        return dumps(None if value is _MISSING else value)
    transformer = target.get("InputTransformer")
    if transformer:
        return render(transformer.get("InputPathsMap") or {}, transformer.get("InputTemplate", ""), event, predefined)
    return dumps(event)

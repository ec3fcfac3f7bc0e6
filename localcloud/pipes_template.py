"""EventBridge Pipes input templates and `$.` paths (aws-behaviour.md §3.4).

Rules implemented:
- `<$.path>` uses the partial JSONPath Pipes supports: `.name` (alphanumerics, `-`, `_`, `/`), `[n]`,
  `.*` / `[*]`. The path reads the record with an SQS `body` that is valid JSON already parsed.
- A placeholder in a *value position* (outside quotes, inside a JSON object or array) that resolves to
  a string gets quotes added (the value is not escaped: AWS says values are not escaped); an object,
  array, number, boolean or null is inserted as JSON.
- A placeholder inside a quoted string, or in free text at the top level (a template that is just
  `<$.body>`), is inserted as text: strings as they are, objects/arrays as JSON with every `"`
  removed (the doc's `{"key": "value"}` -> `{key: value}`).
- Reserved variables `<aws.pipes.*>` as listed in §3.4.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .jsonlimits import loads_strict

MISSING: Any = object()

_PLACEHOLDER = re.compile(r"<(\$(?:[.\[][^<>\s\"]*)?|aws\.pipes\.[A-Za-z.\-]+)>")
_PATH_TOKEN = re.compile(r"\.\*|\[\*\]|\[(\d+)\]|\.([^.\[\]\s]+)")
_WILDCARD = object()


class TemplateError(ValueError):
    """The template or a path in it cannot be evaluated."""


def parse_body(body: str) -> Any:
    """Pipes parses an SQS body that is valid JSON before filtering and transforming (§3.4)."""
    try:
        return loads_strict(body)
    except ValueError:  # not JSON (or not JSON a real parser accepts): the body stays a string
        return body


def _tokens(path: str) -> list[Any]:
    if not path.startswith("$"):
        raise TemplateError(f"path {path!r} does not start with $")
    rest, tokens, pos = path[1:], [], 0
    while pos < len(rest):
        match = _PATH_TOKEN.match(rest, pos)
        if match is None:
            raise TemplateError(f"unsupported JSONPath {path!r} at {rest[pos:]!r}")
        if match.group(1) is not None:
            tokens.append(int(match.group(1)))
        elif match.group(2) is not None:
            tokens.append(match.group(2))
        else:
            tokens.append(_WILDCARD)
        pos = match.end()
    return tokens


def resolve_path(data: Any, path: str) -> Any:
    """Value at `path`, MISSING if absent; a path with a wildcard gives the list of matches."""
    nodes, wildcard = [data], False
    for token in _tokens(path):
        found: list[Any] = []
        for node in nodes:
            if token is _WILDCARD:
                wildcard = True
                if isinstance(node, dict):
                    found.extend(node.values())
                elif isinstance(node, list):
                    found.extend(node)
            elif isinstance(token, int):
                if isinstance(node, list) and token < len(node):
                    found.append(node[token])
            elif isinstance(node, dict) and token in node:
                found.append(node[token])
        nodes = found
    if wildcard:
        return nodes if nodes else MISSING
    return nodes[0] if nodes else MISSING


def _as_value(value: Any) -> str:
    if value is MISSING:
        # UNCONFIRMED (§3.4/§9): AWS only says a missing path "won't appear in the output". `null`
        # keeps `{"k": <$.missing>}` valid JSON, the safest reading.
        return "null"
    if isinstance(value, str):
        return f'"{value}"'  # auto-quoted, not escaped (§3.4)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _as_text(value: Any) -> str:
    if value is MISSING:
        return ""  # UNCONFIRMED: nothing appears for a missing path inside a string
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False).replace('"', "")
    return json.dumps(value)


def render(template: str, event: Any, reserved: Mapping[str, Any]) -> str:
    """Render `template` for one record. `event` is the record with its body parsed; `reserved` maps
    names such as "aws.pipes.pipe-arn" to their values."""
    out: list[str] = []
    in_string = escaped = False
    depth = pos = 0
    while pos < len(template):
        char = template[pos]
        if char == "<":
            match = _PLACEHOLDER.match(template, pos)
            if match is not None:
                name = match.group(1)
                if name.startswith("$"):
                    value = resolve_path(event, name)
                elif name in reserved:
                    value = reserved[name]
                else:
                    out.append(match.group(0))  # not a Pipes variable: kept as written
                    pos = match.end()
                    continue
                out.append(_as_text(value) if in_string or depth == 0 else _as_value(value))
                pos = match.end()
                continue
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth = max(0, depth - 1)
        out.append(char)
        pos += 1
    return "".join(out)


def dynamic(value: Any, event: Any) -> Any:
    """A target parameter that is a whole `$.` path reads the pre-transform event (§3.4)."""
    if isinstance(value, str) and value.startswith("$."):
        return resolve_path(event, value)
    return value

"""JSON schemas as structured-output servers take them: local `$ref`s inlined, every object closed."""
from __future__ import annotations

import copy
from typing import Any


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a pydantic JSON schema with local `$ref`s replaced by their `$defs`, and `title`s dropped."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                merged = {**copy.deepcopy(defs[name]), **{k: v for k, v in node.items() if k != "$ref"}}
                return walk(merged)
            out = {}
            for key, value in node.items():
                if key in ("$defs", "title"):
                    continue
                # "properties" maps field names to schemas: a field named "title" must survive.
                out[key] = {k: walk(v) for k, v in value.items()} if key == "properties" else walk(value)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    result = walk(schema)
    for node in _objects(result):
        node.setdefault("additionalProperties", False)
        node["required"] = list(node.get("properties", {}))
    return result


def _objects(node: Any):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)

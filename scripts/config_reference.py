"""Print the session config reference (every field, type, default, range, meaning) as Markdown.

The README's "Config reference" section is this script's output:
    .venv/bin/python scripts/config_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workstation.config import SessionConfig, config_json_schema  # noqa: E402

_DEFAULTS = SessionConfig(name="defaults", symbols=["A"],
                          backtest={"start_date": "2024-01-02", "end_date": "2024-01-02"}).model_dump(mode="json")


def _default_of(path: str, prop: dict):
    if "default" in prop:
        return prop["default"]
    node = _DEFAULTS
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    return node


def _type(schema: dict, node: dict) -> str:
    node = _resolve(schema, node)
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "anyOf" in node:
        return " or ".join(_type(schema, n) for n in node["anyOf"])
    t = node.get("type", "object")
    if t == "array":
        return f"list of {_type(schema, node.get('items', {}))}"
    fmt = node.get("format")
    return f"{t} ({fmt})" if fmt else t


def _range(node: dict) -> str:
    """The bounds of a field, also of the value of an optional one (`anyOf` with null)."""
    options = [n for n in node.get("anyOf", []) if n.get("type") != "null"]
    if len(options) == 1 and not any(k in node for k in ("minimum", "maximum")):
        node = options[0]
    parts = []
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
                     ("minLength", "length >="), ("maxLength", "length <="), ("minItems", "items >="),
                     ("maxItems", "items <=")):
        if key in node:
            parts.append(f"{sym} {node[key]}")
    return ", ".join(parts)


def rows(schema: dict, node: dict, prefix: str = "") -> list[str]:
    out = []
    node = _resolve(schema, node)
    required = set(node.get("required", []))
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        target = _resolve(schema, prop)
        if target.get("type") == "object" and "properties" in target and "$ref" in prop:
            out.extend(rows(schema, target, path + "."))
            continue
        if target.get("type") == "array" and "$ref" in target.get("items", {}):
            item = _resolve(schema, target["items"])
            desc = prop.get("description") or target.get("description", "")
            out.append(f"| `{path}` | list of objects | {'required' if name in required else '`[]`'} | | {desc} |")
            out.extend(rows(schema, item, path + "[]."))
            continue
        value = _default_of(path, prop)
        if value is None and target.get("type") == "object":
            value = {}
        default = "required" if name in required else f"`{json.dumps(value)}`"
        desc = (prop.get("description") or "").replace("|", "\\|").replace("\n", " ")
        out.append(f"| `{path}` | {_type(schema, prop)} | {default} | {_range(prop)} | {desc} |")
    return out


def main() -> None:
    schema = config_json_schema()
    print("| field | type | default | range | meaning |")
    print("|---|---|---|---|---|")
    print("\n".join(rows(schema, schema)))


if __name__ == "__main__":
    main()

"""A JSON document as people read and diff it: a line per key, a line per record.

``json.dumps(doc, indent=1)`` puts every list item and every key of every node record on a
line of its own (a ResNet50 profile: 140,000 lines), and ``indent`` makes ``json`` take
its pure-Python encoder, several times slower than its C one. Here the top level's keys,
and those of the objects it holds, take a line each; a list of objects or of strings (node
records, notes) takes a line per item, each item written compactly by the C encoder. The
text parses to the same document.
"""

from __future__ import annotations

import json

_ENCODERS = {
    sort_keys: json.JSONEncoder(separators=(", ", ": "), sort_keys=sort_keys).encode
    for sort_keys in (False, True)
}


def json_text(doc: dict, sort_keys: bool = False) -> str:
    """``doc`` as JSON text, ending with a newline (the module doc)."""
    return _object(doc, _ENCODERS[sort_keys], sort_keys, depth=1) + "\n"


def _object(obj: dict, encode, sort_keys: bool, depth: int) -> str:
    if not obj:
        return "{}"
    indent = " " * depth
    keys = sorted(obj) if sort_keys else list(obj)
    items = []
    for key in keys:
        value = obj[key]
        if depth == 1 and isinstance(value, dict):
            text = _object(value, encode, sort_keys, depth + 1)
        elif isinstance(value, list) and value and all(isinstance(v, (dict, str)) for v in value):
            lines = ",\n".join(f"{indent} {encode(v)}" for v in value)
            text = f"[\n{lines}\n{indent}]"
        else:
            text = encode(value)
        if not isinstance(key, str):  # (json.dumps would spell True "true": no such keys)
            raise TypeError(f"json_text writes string keys only, not {key!r}")
        items.append(f"{indent}{encode(key)}: {text}")
    return "{\n" + ",\n".join(items) + "\n" + " " * (depth - 1) + "}"

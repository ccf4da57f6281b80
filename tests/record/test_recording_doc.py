"""docs/recording.md's field tables are the JSON Schemas' (every property of every schema, with its type and
description, and nothing else), and its topic table names each JSON topic's schema: the doc cannot go stale.

``PYTHONPATH=src python tests/record/test_recording_doc.py`` rewrites the tables from the schemas.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from rigsync.record.json_schemas import JSON_SCHEMAS, TOPIC_SCHEMAS

DOC = Path(__file__).parents[2] / "docs" / "recording.md"
_BLOCK = re.compile(r"<!-- fields (\S+) -->\n(.*?)<!-- end fields -->\n", re.S)


def _type(prop: dict[str, Any]) -> str:
    kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    main = kinds[0]
    if main == "array":
        items = prop.get("items", {})
        main = "array of objects" if items.get("type") == "object" else f"array of {items.get('type', 'values')}s"
    return main + (" or null" if "null" in kinds else "")


def _rows(schema: dict[str, Any], path: str = "") -> list[str]:
    rows = []
    for name, prop in schema.get("properties", {}).items():
        meaning = prop["description"]
        values = prop.get("enum") or prop.get("items", {}).get("enum")
        if values and not all(f"`{v}`" in meaning for v in values if v is not None):
            meaning += " One of " + ", ".join(f"`{v}`" for v in values if v is not None) + "."
        rows.append(f"| `{path}{name}` | {_type(prop)} | {meaning.replace('|', chr(92) + '|')} |")
        rows += _rows(prop, f"{path}{name}.") + _rows(prop.get("items", {}), f"{path}{name}[].")
    return rows


def field_table(name: str) -> str:
    """The doc's table of schema ``name``: one row per property (nested ones as ``members[].device``)."""
    return "\n".join(["| field | type | meaning |", "| --- | --- | --- |", *_rows(JSON_SCHEMAS[name])]) + "\n"


def rewrite(text: str) -> str:
    return _BLOCK.sub(lambda m: f"<!-- fields {m[1]} -->\n{field_table(m[1])}<!-- end fields -->\n", text)


def test_each_schema_has_its_generated_field_table_and_no_other_table_is_there() -> None:
    """Every JSON schema has exactly one field table in docs/recording.md, equal to the one its properties give
    (name, type, description, allowed values); no table names a schema that does not exist."""
    text = DOC.read_text(encoding="utf-8")
    blocks = _BLOCK.findall(text)
    assert sorted(name for name, _ in blocks) == sorted(JSON_SCHEMAS)
    for name, table in blocks:
        assert table == field_table(name), f"{name}: the table is stale: PYTHONPATH=src python {__file__}"


def test_the_topic_table_names_each_json_topics_schema() -> None:
    """The topic table lists every JSON topic rigsync writes with its schema (a host's topic as ``<host>``), and
    says no JSON channel is schemaless."""
    section = DOC.read_text(encoding="utf-8").split("\n## Topics\n")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `/")]
    for topic, schema in TOPIC_SCHEMAS:
        shown = f"`{topic}<host>`" if topic.endswith("/") else f"`{topic}`"
        (row,) = [r for r in rows if r.startswith(f"| {shown} ")]
        assert f"JSON Schema `{schema}`" in row, row
    assert not [r for r in rows if "no schema" in r]


if __name__ == "__main__":
    DOC.write_text(rewrite(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)

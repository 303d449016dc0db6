"""The JSON Schemas of the documents people write (segment definitions, alert rules) say what
their readers say: every example is accepted by both or refused by both, and the schemas'
lists (categories, attributes, operators, modes) are the code's."""

from __future__ import annotations

from typing import Any

import pytest

import schemas
from alerts import rules
from analyzer.documents import DocumentError
from analyzer.experiments import definition as experiments
from analyzer.funnels.spec import MODES
from analyzer.segments import definition
from analyzer.vocabulary import OPS as FILTER_OPS

READERS = {
    schemas.SEGMENT_DOCUMENT: definition.parse_document,
    schemas.ALERT_DOCUMENT: rules.parse_document,
    schemas.EXPERIMENT_DOCUMENT: experiments.parse_document,
}
CASES = [(name, file, doc) for name in READERS for file, doc in schemas.examples(name)]


@pytest.mark.parametrize(("name", "file", "doc"), CASES, ids=[f"{n}:{f}" for n, f, _ in CASES])
def test_the_reader_and_the_schema_agree(name: str, file: str, doc: Any) -> None:
    if file.startswith("valid_"):
        schemas.validate(name, doc)
        assert READERS[name](doc)
    else:
        with pytest.raises(schemas.SchemaViolation):
            schemas.validate(name, doc)
        with pytest.raises(DocumentError):
            READERS[name](doc)


def test_the_segment_schema_lists_what_the_reader_knows() -> None:
    found = schemas.load(schemas.SEGMENT_DOCUMENT)["definitions"]
    variants = found["definition"]["oneOf"]
    assert set(variants[0]["properties"]["category"]["enum"]) == set(definition.CATEGORIES)
    conditions = found["rule"]["oneOf"]
    attributes = [c for c in conditions if c.get("required") == ["attribute"]]
    named = {a for c in attributes for a in c["properties"]["attribute"]["enum"]}
    assert named == set(definition.ATTRIBUTES)
    assert set(conditions[3]["properties"]) - {"trait"} == set(definition.OPS)
    operators = set(found["filter"]["properties"]["op"]["enum"])
    assert operators == set(FILTER_OPS)


def test_the_alert_schema_lists_what_the_reader_knows() -> None:
    rule = schemas.load(schemas.ALERT_DOCUMENT)["definitions"]["rule"]
    assert set(rule["properties"]) == set(rules.RULE_KEYS)
    assert rule["properties"]["funnel"]["properties"]["mode"]["enum"] == list(MODES)


def test_the_experiment_schema_lists_what_the_reader_knows() -> None:
    found = schemas.load(schemas.EXPERIMENT_DOCUMENT)["definitions"]
    assert set(found["experiment"]["properties"]) == set(experiments.EXPERIMENT_KEYS)
    assert set(found["metric"]["properties"]) == {"name", "converts", "revenue", "within", "worse"}

import pytest

import schemas

CASES = [
    (name, file, payload)
    for name in (schemas.INBOUND_MESSAGE, schemas.EVENT, schemas.EVENT_BATCH)
    for file, payload in schemas.examples(name)
]


def test_every_schema_has_valid_and_invalid_examples() -> None:
    for name in (schemas.INBOUND_MESSAGE, schemas.EVENT, schemas.EVENT_BATCH):
        files = [f for f, _ in schemas.examples(name)]
        assert any(f.startswith("valid_") for f in files)
        assert any(f.startswith("invalid_") for f in files)


@pytest.mark.parametrize(("name", "file", "payload"), CASES, ids=[f"{n}:{f}" for n, f, _ in CASES])
def test_examples_match_their_verdict(name: str, file: str, payload: dict) -> None:
    if file.startswith("valid_"):
        schemas.validate(name, payload)
    else:
        with pytest.raises(schemas.SchemaViolation):
            schemas.validate(name, payload)


def test_violation_names_the_field() -> None:
    with pytest.raises(schemas.SchemaViolation, match="^properties must be object"):
        schemas.validate(
            schemas.INBOUND_MESSAGE,
            {"type": "track", "event": "x", "anonymousId": "a", "properties": 3},
        )


def test_schema_files_carry_their_version() -> None:
    for name in (schemas.INBOUND_MESSAGE, schemas.EVENT, schemas.EVENT_BATCH, schemas.DEAD_LETTER):
        vendor, schema_name, version = name.split("/")
        assert schemas.load(name)["self"] == {
            "vendor": vendor,
            "name": schema_name,
            "format": "jsonschema",
            "version": version,
        }

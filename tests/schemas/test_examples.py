import pytest

import schemas

DOCUMENTED = (
    schemas.INBOUND_MESSAGE,
    schemas.EVENT,
    schemas.EVENT_BATCH,
    schemas.SEGMENT_DOCUMENT,
    schemas.ALERT_DOCUMENT,
    schemas.EXPERIMENT_DOCUMENT,
)
CASES = [(name, file, payload) for name in DOCUMENTED for file, payload in schemas.examples(name)]


def test_every_schema_has_valid_and_invalid_examples() -> None:
    for name in DOCUMENTED:
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
    for name in (*DOCUMENTED, schemas.DEAD_LETTER):
        vendor, schema_name, version = name.split("/")
        assert schemas.load(name)["self"] == {
            "vendor": vendor,
            "name": schema_name,
            "format": "jsonschema",
            "version": version,
        }


def test_the_fast_check_never_accepts_what_the_full_validator_rejects() -> None:
    import random

    import fastjsonschema

    fast = schemas._fast_check(schemas.EVENT)
    assert fast is not None
    full = fastjsonschema.compile(schemas.load(schemas.EVENT))
    base = dict(schemas.examples(schemas.EVENT))["valid_track.json"]
    rng = random.Random(3)
    odd_values = [
        None,
        1,
        1.5,
        True,
        [],
        {},
        "",
        "x" * 9000,
        "2024-05-01T12:00:00Z",
        "2024-05-01 12:00",
        "desktop",
        "laptop",
        "journey/event/1-0-0",
        "\u00e9" * 8192,
    ]
    agreed = 0
    for _ in range(3000):
        payload = dict(base)
        for _ in range(rng.randint(1, 3)):
            action = rng.random()
            key = rng.choice([*base, "unknown_field"])
            if action < 0.7:
                payload[key] = rng.choice(odd_values)
            else:
                payload.pop(key, None)
        try:
            full(payload)
            valid = True
        except fastjsonschema.JsonSchemaValueException:
            valid = False
        if fast(payload):
            assert valid, payload
        agreed += fast(payload) == valid
    assert agreed > 2900  # the fast check is rarely more cautious than it needs to be

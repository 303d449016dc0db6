"""Properties and traits as paths: one flat object, top-level values first, then nested leaves."""

from __future__ import annotations

import orjson

from storage.paths import MAX_PATHS, is_path, paths

ORDER_COMPLETED = {  # the Segment e-commerce spec's example, shortened
    "order_id": "50314b8e9bcf000000000000",
    "products": [
        {"product_id": "507f1f77bcf86cd799439011", "price": 19, "category": "Games"},
        {"product_id": "505bd76785ebb509fc183733", "price": 3.5, "category": "Card Games"},
    ],
    "total": 27.5,
    "revenue": 25.0,
    "currency": "USD",
    "category": "Checkout",
    "coupon": None,
    "gift": False,
}


def _pairs(document: object) -> list[tuple[str, str]]:
    return list(orjson.loads(paths(document)).items())


def test_top_level_values_come_first_as_text_then_nested_leaves() -> None:
    assert _pairs(ORDER_COMPLETED) == [
        ("order_id", "50314b8e9bcf000000000000"),
        ("total", "27.5"),
        ("revenue", "25.0"),
        ("currency", "USD"),
        ("category", "Checkout"),
        ("coupon", ""),  # null: present, empty
        ("gift", "false"),
        ("products[0].product_id", "507f1f77bcf86cd799439011"),
        ("products[0].price", "19"),
        ("products[0].category", "Games"),
        ("products[1].product_id", "505bd76785ebb509fc183733"),
        ("products[1].price", "3.5"),
        ("products[1].category", "Card Games"),
    ]
    # nothing is nested, so the first "category": key is the top-level one
    text = paths(ORDER_COMPLETED)
    assert text.index('"category":"Checkout"') < text.index('"products[0].category"')
    assert " " not in text.replace("Card Games", "")  # compact, as visitParamExtract needs


def test_traits_with_address_and_company() -> None:
    found = dict(
        _pairs(
            {
                "company": {"name": "X", "country": "DE"},
                "email": "a@b.c",
                "address": {"country": "FR"},
            }
        )
    )
    assert found == {
        "email": "a@b.c",
        "company.name": "X",
        "company.country": "DE",
        "address.country": "FR",
    }


def test_a_top_level_key_wins_over_the_same_path_nested() -> None:
    assert dict(_pairs({"a": {"b": "nested"}, "a.b": "top"})) == {"a.b": "top"}


def test_what_has_no_paths_and_what_is_bounded() -> None:
    assert paths(None) == paths([1, 2]) == paths({}) == paths({"empty": {}}) == "{}"
    assert len(_pairs({"top": 1, "many": list(range(5 * MAX_PATHS))})) == 1 + MAX_PATHS
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(100):
        deep = {"d": deep}
    assert _pairs({"deep": deep}) == []  # its leaf lies deeper than MAX_DEPTH
    # keys a path cannot name are left to the JSON as sent
    assert _pairs({'say "hi"': 1, "back\\slash": {"x": 1}, "ok": {'q"': 2, "r": 3}}) == [
        ("ok.r", "3")
    ]


def test_the_notation() -> None:
    for good in (
        "category",
        "products[0].price",
        "address.country",
        "Plan Type",
        "$value",
        "a[12]",
    ):
        assert is_path(good), good
    for bad in ("", "a..b", ".a", "a.", "a[", "a[x]", 'a"b', "a\\b", "a\nb", "x" * 201, 7):
        assert not is_path(bad), bad


def test_long_keys_nested_deep_cannot_blow_up_an_event() -> None:
    """A 31.5 KB event whose keys are long and nested deep: each leaf's path repeats every key
    above it, which once made 22.5 MB of paths of it. A path longer than any analysis can name
    is not listed; the JSON as sent keeps everything."""
    key = "k" * 1700
    document: dict[str, object] = {"leaves": list(range(1000)), "plan": "pro", key: "top"}
    for _ in range(15):
        document = {key: document}
    sent = orjson.dumps(document)
    assert 28_000 < len(sent) < 32_768  # within the collector's limit for one event
    flat = paths(document)
    assert len(flat) < 1024
    assert all(is_path(name) for name in orjson.loads(flat))
    shallow = paths({"a": {"b": [1, 2]}, "x" * 250: 1})  # named ones are all still there
    assert orjson.loads(shallow) == {"a.b[0]": "1", "a.b[1]": "2"}

"""Properties and traits as paths: top-level keys first, nested leaves by path."""

from __future__ import annotations

from storage.paths import MAX_PATHS, paths

ORDER_COMPLETED = {  # the Segment e-commerce spec's example, shortened
    "order_id": "50314b8e9bcf000000000000",
    "total": 27.5,
    "revenue": 25.0,
    "currency": "USD",
    "category": "Checkout",
    "coupon": None,
    "gift": False,
    "products": [
        {"product_id": "507f1f77bcf86cd799439011", "price": 19, "category": "Games"},
        {"product_id": "505bd76785ebb509fc183733", "price": 3.5, "category": "Card Games"},
    ],
}


def test_top_level_keys_come_first_with_their_values_as_text() -> None:
    keys, values = paths(ORDER_COMPLETED)
    top = dict(zip(keys[:8], values[:8], strict=True))
    assert list(top) == list(ORDER_COMPLETED)
    assert top["total"] == "27.5"
    assert top["category"] == "Checkout"
    assert top["coupon"] == ""  # null: present, empty
    assert top["gift"] == "false"
    assert top["products"].startswith('[{"product_id":"507f1f77bcf86cd799439011"')


def test_nested_leaves_follow_by_path() -> None:
    keys, values = paths(ORDER_COMPLETED)
    nested = dict(zip(keys[8:], values[8:], strict=True))
    assert nested == {
        "products[0].product_id": "507f1f77bcf86cd799439011",
        "products[0].price": "19",
        "products[0].category": "Games",
        "products[1].product_id": "505bd76785ebb509fc183733",
        "products[1].price": "3.5",
        "products[1].category": "Card Games",
    }
    # the first "category" is the top-level one: what indexOf finds
    assert values[keys.index("category")] == "Checkout"


def test_traits_with_address_and_company() -> None:
    keys, values = paths(
        {"email": "a@b.c", "address": {"country": "FR", "city": "Lyon"}, "company": {"name": "X"}}
    )
    found = dict(zip(keys, values, strict=True))
    assert found["address.country"] == "FR"
    assert found["company.name"] == "X"
    assert "country" not in found


def test_a_top_level_key_wins_over_the_same_path_nested() -> None:
    keys, values = paths({"a": {"b": "nested"}, "a.b": "top"})
    assert values[keys.index("a.b")] == "top"


def test_nothing_but_an_object_has_paths_and_the_list_is_bounded() -> None:
    assert paths(None) == ([], [])
    assert paths([1, 2]) == ([], [])
    assert paths({}) == ([], [])
    keys, _ = paths({"top": 1, "many": list(range(5 * MAX_PATHS))})
    assert len(keys) == 2 + MAX_PATHS
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(100):
        deep = {"d": deep}
    keys, _ = paths({"deep": deep})
    assert keys == ["deep"]  # its leaf lies deeper than MAX_DEPTH

"""The store's order query is keyed by the session's customer and never crosses customers."""


def test_customer_orders_returns_only_that_customers_orders(tiny_store):
    orders = tiny_store.customer_orders("C1")
    assert [o.id for o in orders] == ["1042"]
    assert orders[0].tracking_number == "1Z999AA10123456784"
    assert orders[0].lines[0].name == "Barista Oat Milk"
    assert orders[0].total == 6.98


def test_customer_orders_for_another_customer_never_include_the_first(tiny_store):
    assert [o.id for o in tiny_store.customer_orders("C2")] == ["1043"]


def test_orders_asked_for_by_number_are_only_the_customers_own(tiny_store):
    assert [o.id for o in tiny_store.customer_orders("C1", ids=["1042", "1043"])] == ["1042"]
    assert tiny_store.customer_orders("C2", ids=["1042"]) == []


def test_unknown_customer_sees_no_orders(tiny_store):
    assert tiny_store.customer_orders("C999") == []


def test_catalog_fingerprint_changes_with_product_text(tiny_store):
    from retrieval.schema import Product

    before = tiny_store.catalog_fingerprint()
    with tiny_store.transaction() as s:
        s.get(Product, "P2").description = "Now organic."
    assert tiny_store.catalog_fingerprint() != before


def test_a_scratch_copy_has_the_shop_and_keeps_its_writes_to_itself(tiny_store, tmp_path):
    from bot.assistant.conversations import Conversations
    from retrieval.schema import Conversation
    from retrieval.store import Store, scratch_copy

    with scratch_copy(f"sqlite:///{tmp_path / 'shop.db'}") as url:
        copy = Store(url)
        assert [o.id for o in copy.customer_orders("C1")] == ["1042"]
        Conversations(copy).create("C1")
        with copy.session() as s:
            assert s.query(Conversation).count() == 1
        copy.engine.dispose()
    with tiny_store.session() as s:
        assert s.query(Conversation).count() == 0


def test_a_scratch_copy_of_a_server_database_is_that_database():
    from retrieval.store import scratch_copy

    with scratch_copy("postgresql+psycopg://shop@db/shop") as url:
        assert url == "postgresql+psycopg://shop@db/shop"


def test_product_tags_are_every_tag_any_product_carries(tiny_store):
    assert tiny_store.product_tags() == {"vegan", "dairy-free", "vegetarian", "gluten-free"}

"""How specifically a question names a product: the tie-breaker between look-alike products."""

from retrieval.documents import SearchDoc
from retrieval.lexical import LexicalIndex, mention, tokenize, uses_phrase


def product(name, brand=None, size=None):
    return SearchDoc(name, name, "product", name, name, {"brand": brand, "size": size})


def terms(question):
    return set(tokenize(question))


def test_a_product_is_named_only_when_every_word_of_its_name_is_in_the_question():
    eggs = product("Free-Range Large Eggs", "Brookfield Farms", "12 ct")
    assert mention(eggs, terms("do you sell large eggs?")) == 0
    assert mention(eggs, terms("do you sell free-range large eggs?")) > 0


def test_brand_and_size_make_a_mention_more_specific():
    small = product("Grated Parmesan", "Meadowvale", "200 g")
    large = product("Grated Parmesan", "Meadowvale", "400 g")
    question = terms("how much is the Meadowvale Grated Parmesan 200 g?")
    assert 0 < mention(large, question) < mention(small, question)


def test_a_one_word_name_inside_another_question_is_not_a_mention():
    limes = product("Limes", "Sunfield Farms", "1 lb")
    assert mention(limes, terms("lime fizzy water")) == 0
    assert mention(limes, terms("are the Sunfield Farms limes fresh?")) > 0


def test_words_match_across_plurals_and_glued_units():
    assert mention(product("Riced Cauliflower", "Green Basket", "750 g"), terms("cauliflower rice")) > 0
    skim = product("Skim Milk", "Brookfield Farms", "4 L")
    assert mention(skim, terms("skim milk 4L jug")) > mention(
        product("Skim Milk", "Meadowvale", "1 L"), terms("skim milk 4L jug")
    )


def test_policies_are_never_product_mentions():
    policy = SearchDoc("returns#0", "returns", "policy", "Returns", "Returns and refunds.", {})
    assert mention(policy, terms("returns")) == 0


def test_one_shared_word_of_a_blurb_does_not_relate_a_product_but_its_name_or_two_words_do():
    cleaner = SearchDoc(
        "P1",
        "P1",
        "product",
        "Glass Cleaner",
        "Streak-free shine on windows and mirrors.",
        {"brand": "PureHome", "category": "Household > Cleaning"},
    )
    index = LexicalIndex([cleaner])
    assert not index.related(cleaner, terms("can I change my delivery window?"))
    assert index.related(cleaner, terms("any glass cleaners?")) and index.related(cleaner, terms("PureHome stuff?"))
    assert index.related(cleaner, terms("something to shine windows")) and index.related(cleaner, terms("cleaning"))


def test_a_tag_is_used_when_its_words_come_in_a_row_however_hyphenated():
    assert uses_phrase(tokenize("is it dairy free?"), "dairy-free")
    assert uses_phrase(tokenize("I'm shopping gluten-free."), "gluten-free")
    assert not uses_phrase(tokenize("is it free of dairy?"), "dairy-free")
    assert not uses_phrase(tokenize("is it vegetarian?"), "vegan")

"""A shopper's misspelt words are read as the shop's own words; everything else is left as written."""

from retrieval.spelling import Speller, words_of

SHOP = words_of(
    [
        "You can return unopened, non-perishable items within 30 days of delivery for a full refund.",
        "Choose Forgot password? on the sign-in page and we will email you a reset link.",
        "Otherwise the driver waits 10 minutes and calls you.",
        "We accept Visa, Mastercard, American Express and PayPal.",
        "Chickpea Nuggets, Peppermint Tea, Halloumi",
        "talk to a person, cancel my order, the usual please",
    ]
)


def speller() -> Speller:
    return Speller(SHOP)


def test_a_misspelt_word_becomes_the_shops_word():
    assert speller().correct("how long to retrun an unopend box?") == "how long to return an unopened box?"
    assert speller().correct("pasword reset") == "password reset"


def test_a_dropped_letter_is_put_back_before_a_commoner_word_is_guessed():
    assert speller().correct("will the drivr wait") == "will the driver wait"


def test_correct_english_and_the_shops_words_are_kept_as_written():
    text = "Do you sell Halloumi or vapes? My cat is fussy."
    assert speller().correct(text) == text


def test_a_word_the_shop_never_uses_is_not_made_into_one_it_does():
    # "duk" is too short to guess and "perogies" is two edits from anything the shop sells
    assert speller().correct("duk breast and perogies") == "duk breast and perogies"


def test_shorthand_and_missing_apostrophes_are_read_as_meant():
    assert speller().correct("do u take amex? i dont have visa") == ("do you take American Express? i don't have visa")


def test_numbers_order_ids_and_punctuation_are_untouched():
    text = "where is order 5245?? tracking GBC-261116-02361 pls!"
    assert speller().correct(text) == "where is order 5245?? tracking GBC-261116-02361 please!"


def test_a_word_split_in_two_is_made_whole():
    assert Speller(SHOP | {"couscous"}).correct("the cous cous and one cous cous") == "the couscous and one couscous"


def test_another_form_of_a_shop_word_is_kept_as_written():
    assert Speller(SHOP | {"redelivery"}).correct("redeliver my order") == "redeliver my order"

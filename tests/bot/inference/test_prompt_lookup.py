"""Draft tokens come from the sequence itself: what followed the latest earlier occurrence of its tail."""

from bot.inference.prompt_lookup import draft


def test_the_tokens_after_an_earlier_occurrence_of_the_last_three_are_the_guess():
    assert draft([1, 2, 3, 4, 5, 9, 1, 2, 3], 3) == [4, 5, 9]


def test_the_guess_is_cut_to_the_room_given():
    assert draft([1, 2, 3, 4, 5, 9, 1, 2, 3], 2) == [4, 5]
    assert draft([1, 2, 3, 4, 5, 9, 1, 2, 3], 0) == []


def test_the_latest_occurrence_wins():
    assert draft([1, 2, 3, 4, 1, 2, 3, 7, 1, 2, 3], 2) == [7, 1]


def test_a_shorter_tail_is_tried_when_the_longer_one_never_occurred():
    assert draft([1, 2, 3, 4, 5, 9, 2, 3], 3) == [4, 5, 9]


def test_no_guess_without_an_earlier_occurrence():
    assert draft([5, 6, 7, 8], 4) == []
    assert draft([5], 4) == []


def test_the_tail_itself_is_not_an_earlier_occurrence():
    # [2, 3] occurs once, at the end: nothing followed it yet
    assert draft([9, 2, 3], 4) == []

from __future__ import annotations

import re

from metanode.codec import tags


def test_every_name_and_number_is_unique() -> None:
    names = [tag.name for tag in tags.ALL]
    numbers = [tag.number for tag in tags.ALL]
    assert len(set(names)) == len(names)
    assert len(set(numbers)) == len(numbers)
    assert len(tags.BY_NAME) == len(tags.BY_NUMBER) == len(tags.ALL)


def test_names_follow_the_scheme_and_are_ascii_without_nul() -> None:
    for tag in tags.ALL:
        assert re.fullmatch(r"metanode/[a-z0-9-]+/v[0-9]+", tag.name), tag.name
        assert b"\x00" not in tag.name_bytes


def test_numbers_are_in_the_first_come_first_served_range() -> None:
    for tag in tags.ALL:
        assert tag.number >= 32768
        assert tag.number - tags.NUMBER_BASE < 0x1_0000

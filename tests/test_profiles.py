"""The hypothesis profiles of tests/conftest.py: the default run draws at most QUICK_EXAMPLES
examples of a property, the thorough one (`make test-all`) each property's full count."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import QUICK, QUICK_EXAMPLES, THOROUGH, examples


@pytest.fixture
def load() -> Iterator[Callable[[str], None]]:
    """Loads a profile for one test; the run's own comes back after it."""
    previous = settings.get_current_profile_name()
    yield settings.load_profile
    settings.load_profile(previous)


def drawn_by(full: int) -> int:
    """How many examples a property pinned at `full` draws under the loaded profile."""
    drawn: list[int] = []

    @settings(max_examples=examples(full), database=None)
    @given(st.integers())
    def property_(value: int) -> None:
        drawn.append(value)

    property_()
    return len(drawn)


def test_the_default_run_caps_a_pinned_count_and_keeps_a_smaller_one(
    load: Callable[[str], None],
) -> None:
    load(QUICK)
    assert examples(3_000) == QUICK_EXAMPLES
    assert examples(10) == 10
    assert drawn_by(1_000) == QUICK_EXAMPLES
    assert settings.default.max_examples == QUICK_EXAMPLES
    assert settings.default.deadline is None


def test_the_thorough_profile_draws_every_pinned_count(load: Callable[[str], None]) -> None:
    load(THOROUGH)
    assert examples(3_000) == 3_000
    assert drawn_by(200) == 200
    assert settings.default.max_examples == settings.get_profile("default").max_examples


def test_the_default_run_loads_the_quick_profile(request: pytest.FixtureRequest) -> None:
    chosen = request.config.getoption("--hypothesis-profile") or QUICK
    assert settings.get_current_profile_name() == chosen

"""The guard's rule score, throttle, decaying bans and override, driven with hand-made time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.guard import constants
from metanode.guard.score import Allowance, Guard, Kind, Override, Verdict, features
from tests.conftest import examples

ALLOWANCE = Allowance(per_s=10, burst=20)
WHO = "client:192.0.2.1"


def test_requests_within_the_allowance_pass_and_score_grows_with_time_known() -> None:
    guard = Guard(ALLOWANCE, None)
    for second in range(30):
        for step in range(5):
            at = second * 1000 + step * 200
            assert guard.observe(WHO, Kind.REQUEST, at, 300) is Verdict.PASS
            guard.observe(WHO, Kind.DELIVERY, at)
        guard.tick(second * 1000 + 999)
    assert guard.score(WHO, 30_000) > 0
    assert features(guard.subjects[WHO], 29_999)[0] == 5.0  # requests per second


def test_a_flood_is_throttled_then_banned_and_the_ban_ends() -> None:
    guard = Guard(ALLOWANCE, None)
    verdicts = [guard.observe(WHO, Kind.REQUEST, ms, 100) for ms in range(0, 5_000, 2)]
    assert verdicts[:20] == [Verdict.PASS] * 20  # the burst
    assert Verdict.THROTTLE in verdicts
    assert verdicts[-1] is Verdict.BAN
    assert guard.banned(WHO, 5_000)
    assert guard.observe(WHO, Kind.REQUEST, 5_001) is Verdict.BAN
    after = 5_000 + constants.ban_base_ms
    assert guard.verdict(WHO, after) is Verdict.PASS


def test_invalid_signatures_ban_quickly_and_repeat_bans_double() -> None:
    bans: list[int] = []
    guard = Guard(ALLOWANCE, None, lambda _who, ms: bans.append(ms))
    at = 0
    for _ in range(2):
        while not guard.banned(WHO, at):
            guard.observe(WHO, Kind.REQUEST, at)
            guard.observe(WHO, Kind.BAD_SIGNATURE, at)
            at += 100
        at = guard.subjects[WHO].banned_until_ms
    assert bans == [constants.ban_base_ms, 2 * constants.ban_base_ms]
    # Strikes are forgiven with time (one every strike_decay_ms), seen through a trickle of
    # harmless requests that keeps the subject remembered.
    for later in range(at, at + 2 * constants.strike_decay_ms + 1, 60_000):
        guard.observe(WHO, Kind.REQUEST, later)
    assert guard.subjects[WHO].strikes == 0


def test_a_rare_error_or_nonce_race_never_throttles() -> None:
    guard = Guard(ALLOWANCE, None)
    for second in range(120):
        at = second * 1000
        guard.observe(WHO, Kind.REQUEST, at)
        guard.observe(WHO, Kind.NONCE if second % 7 == 0 else Kind.ERROR, at)
        guard.tick(at + 999)
        assert guard.verdict(WHO, at + 999) is Verdict.PASS


class AlwaysAnomalous:
    def anomalous(self, rows: object) -> list[bool]:
        return [True] * len(rows)  # type: ignore[arg-type]


def test_the_model_alone_throttles_but_never_bans() -> None:
    guard = Guard(ALLOWANCE, AlwaysAnomalous())
    for second in range(60):
        guard.observe(WHO, Kind.REQUEST, second * 1000)
        guard.tick(second * 1000 + 999)
    assert guard.verdict(WHO, 60_000) is Verdict.THROTTLE
    assert not guard.banned(WHO, 60_000)


def test_operator_allow_ban_and_pardon() -> None:
    guard = Guard(ALLOWANCE, None)
    guard.override(WHO, Override.ALLOW, 0)
    assert all(guard.observe(WHO, Kind.BAD_SIGNATURE, ms) is Verdict.PASS for ms in range(50))
    guard.override(WHO, Override.CLEAR, 60)
    assert guard.verdict(WHO, 60) is Verdict.BAN
    guard.override(WHO, Override.BAN, 100)
    assert guard.verdict(WHO, 100) is Verdict.BAN
    assert guard.status(100)[0].banned_for_ms == constants.ban_max_ms
    guard.override(WHO, Override.PARDON, 200)
    assert guard.verdict(WHO, 200) is Verdict.PASS
    assert guard.status(200)[0].strikes == 0


def test_an_allowed_subject_is_never_throttled_nor_forgotten_when_quiet() -> None:
    guard = Guard(ALLOWANCE, None)
    guard.override(WHO, Override.ALLOW, 0)
    quiet_until = constants.idle_forget_ms * 3
    guard.tick(quiet_until)  # long idle: an unallowed subject would be forgotten here
    flood = range(quiet_until, quiet_until + ALLOWANCE.burst * 10)
    assert all(guard.observe(WHO, Kind.REQUEST, ms) is Verdict.PASS for ms in flood)


def test_the_table_is_bounded() -> None:
    guard = Guard(ALLOWANCE, None)
    for index in range(constants.subjects_max + 5):
        guard.observe(f"client:{index}", Kind.REQUEST, index)
    assert len(guard.subjects) == constants.subjects_max
    assert "client:0" not in guard.subjects  # the quietest went first


@settings(max_examples=examples(50), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 100_000), st.sampled_from(list(Kind)), st.integers(0, 1 << 24)),
        max_size=200,
    )
)
def test_any_observations_keep_the_guard_consistent(
    observations: list[tuple[int, Kind, int]],
) -> None:
    guard = Guard(ALLOWANCE, None)
    for at, kind, size in sorted(observations):
        verdict = guard.observe(WHO, kind, at, size)
        assert verdict in Verdict
        guard.tick(at)
        for status in guard.status(at):
            assert (status.verdict is Verdict.BAN) == (status.banned_for_ms > 0)


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20_000), st.sampled_from(list(Kind)), st.integers(0, 1 << 20)),
        max_size=60,
    ),
    st.integers(0, 30_000),
    st.integers(1, 600),
)
def test_deliveries_reported_at_once_are_those_reported_one_by_one(
    before: list[tuple[int, Kind, int]], at: int, count: int
) -> None:
    """`observe_deliveries` against `count` observations, after any history: the same subjects
    (every counter, bucket and ban), the same totals and bans, the last verdict."""
    bans: list[list[tuple[str, int]]] = [[], []]
    one_by_one, at_once = (
        Guard(ALLOWANCE, None, lambda who, ms, seen=seen: seen.append((who, ms))) for seen in bans
    )
    for guard in (one_by_one, at_once):
        for when, kind, size in sorted(before):
            guard.observe(WHO, kind, when, size)
    at += max((when for when, _, _ in before), default=0)
    verdicts = [one_by_one.observe(WHO, Kind.DELIVERY, at) for _ in range(count)]
    assert at_once.observe_deliveries(WHO, count, at) is verdicts[-1]
    assert at_once.subjects == one_by_one.subjects
    assert (at_once.throttled, at_once.banned_total) == (
        one_by_one.throttled,
        one_by_one.banned_total,
    )
    assert bans[0] == bans[1]

"""The global limiter in Redis: exact windows, calendar days, leases, all-or-nothing."""

from datetime import datetime
from zoneinfo import ZoneInfo

from reachly import limiter


def test_a_sliding_window_allows_exactly_the_limit_then_says_when_to_come_back():
    lim = limiter.window("t:window", 3, "second")
    decisions = [limiter.acquire([lim]) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 0 < decisions[3].retry_after <= 1.0
    assert decisions[3].denied_by == lim
    assert limiter.usage(lim) == 3


def test_weighted_uses_count_their_weight_and_an_oversized_one_can_never_pass():
    lim = limiter.window("t:tokens", 1000, "minute", weight=600)
    assert limiter.acquire([lim]).allowed
    assert not limiter.acquire([lim]).allowed  # 600 + 600 > 1000
    too_big = limiter.window("t:tokens", 1000, "minute", weight=1500)
    assert limiter.acquire([too_big]).retry_after == -1


def test_a_denial_by_one_limit_records_nothing_in_the_others():
    loose = limiter.window("t:loose", 100, "second")
    tight = limiter.window("t:tight", 1, "second")
    assert limiter.acquire([loose, tight]).allowed
    denied = limiter.acquire([loose, tight])
    assert not denied.allowed and denied.denied_by == tight
    assert limiter.usage(loose) == 1


def test_peek_checks_without_using():
    lim = limiter.window("t:peek", 1, "second")
    assert limiter.acquire([lim], peek=True).allowed
    assert limiter.acquire([lim]).allowed
    assert not limiter.acquire([lim], peek=True).allowed


def test_a_refund_gives_the_use_back():
    lim = limiter.window("t:refund", 1, "hour")
    first = limiter.acquire([lim])
    first.refund()
    assert limiter.acquire([lim]).allowed


def test_calendar_days_count_in_the_accounts_time_zone_and_wait_until_local_midnight():
    tz = "America/New_York"
    evening = datetime(2026, 11, 23, 23, 0, tzinfo=ZoneInfo(tz))  # 04:00 UTC the next day
    lim = limiter.calendar_day("acct:1:invite", 2, tz, now=evening)
    assert lim.bucket == "2026-11-23"
    assert limiter.acquire([lim]).allowed and limiter.acquire([lim]).allowed
    denied = limiter.acquire([lim])
    assert not denied.allowed
    assert denied.retry_after == 3600.0  # one hour to midnight in New York
    next_day = limiter.calendar_day("acct:1:invite", 2, tz, now=evening.replace(day=24, hour=9))
    assert limiter.acquire([next_day]).allowed


def test_concurrency_leases_hold_until_released_or_expired():
    lim = limiter.lease("t:lease", 2, ttl_seconds=30)
    a, b = limiter.acquire([lim]), limiter.acquire([lim])
    assert a.allowed and b.allowed
    assert not limiter.acquire([lim]).allowed
    limiter.release(a)
    assert limiter.acquire([lim]).allowed

"""Issue 13: the calendar arithmetic of the limits was wall-clock (aware
datetimes of one zone subtract as wall clocks), an hour off on DST days."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as dt_time
from zoneinfo import ZoneInfo

from reachly.limiter import calendar_day
from reachly.orchestration.limits import outside_working_hours

BERLIN = "Europe/Berlin"


def test_a_daily_cap_lasts_until_local_midnight_on_the_25_hour_day():
    # 2026-10-25: clocks go back 03:00 CEST -> 02:00 CET; the day has 25 hours.
    now = datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo(BERLIN))
    limit = calendar_day("account:1:invite", 20, BERLIN, now=now)
    assert limit.ms == int(24.5 * 3600 * 1000)  # wall clock said 23.5 h
    assert limit.bucket == "2026-10-25"


def test_a_daily_cap_lasts_until_local_midnight_on_the_23_hour_day():
    now = datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo(BERLIN))  # 02:00 -> 03:00
    assert calendar_day("account:1:invite", 20, BERLIN, now=now).ms == int(22.5 * 3600 * 1000)


def test_working_hours_open_after_the_real_time_across_a_dst_change():
    # Saturday 23:00 CET; Sunday 09:00 CEST opens 9 real hours later (wall: 10).
    now = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert outside_working_hours(BERLIN, dt_time(9), dt_time(17), now=now) == 9 * 3600
    # The autumn change: Saturday 23:00 CEST to Sunday 09:00 CET is 11 real hours (wall: 10).
    now = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)
    assert outside_working_hours(BERLIN, dt_time(9), dt_time(17), now=now) == 11 * 3600

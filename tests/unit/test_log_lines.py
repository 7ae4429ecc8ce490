"""A log line's time reads as ``datetime.isoformat`` would write it, to the millisecond."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from fluid_scim.logs import _time_text


def _reference(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False, allow_infinity=False))
def test_any_record_time_reads_as_isoformat_would_write_it(created: float) -> None:
    assert _time_text(created) == _reference(created)


def test_a_fraction_that_rounds_up_carries_into_the_next_second_and_minute() -> None:
    # 23:59:59.9999996 rounds to the next microsecond, which is the next day's first.
    created = datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC).timestamp() + 0.9999996
    assert _time_text(created) == _reference(created) == "2026-12-07T00:00:00.000+00:00"


def test_milliseconds_are_cut_not_rounded_and_written_when_zero() -> None:
    second = datetime(2026, 12, 6, 6, 49, 37, tzinfo=UTC).timestamp()
    assert _time_text(second + 0.0099) == "2026-12-06T06:49:37.009+00:00"
    assert _time_text(second) == "2026-12-06T06:49:37.000+00:00"
    # The same second again after another one: the text of each second is its own.
    assert _time_text(second + 1.5) == "2026-12-06T06:49:38.500+00:00"
    assert _time_text(second + 0.25) == "2026-12-06T06:49:37.250+00:00"

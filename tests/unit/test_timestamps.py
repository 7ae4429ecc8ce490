"""``meta.created`` and ``meta.lastModified`` read as RFC 3339 UTC times to the millisecond (RFC 7643 §3.1)."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from fluid_scim.services.representation import timestamp


def _reference(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)))
def test_any_utc_time_reads_as_isoformat_would_write_it(value: datetime) -> None:
    assert timestamp(value) == _reference(value)


def test_milliseconds_are_cut_not_rounded_and_written_when_zero() -> None:
    assert timestamp(datetime(2026, 12, 4, 21, 22, 33, 999_999, tzinfo=UTC)) == "2026-12-04T21:22:33.999Z"
    assert timestamp(datetime(2026, 12, 4, 21, 22, 33, tzinfo=UTC)) == "2026-12-04T21:22:33.000Z"
    assert timestamp(datetime(2026, 12, 4, 21, 22, 33, 1_000, tzinfo=UTC)) == "2026-12-04T21:22:33.001Z"


def test_another_offset_keeps_its_offset() -> None:
    value = datetime(2026, 12, 4, 23, 22, 33, 123_456, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp(value) == "2026-12-04T23:22:33.123+02:00"


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)))
def test_a_time_stored_in_sqlite_reads_back_the_same_utc_time(value: datetime) -> None:
    from sqlalchemy.dialects import sqlite

    from fluid_scim.models.types import UTCDateTime

    dialect = sqlite.dialect()
    column_type = UTCDateTime()
    stored = column_type.dialect_impl(dialect).bind_processor(dialect)(value)
    read = column_type.result_processor(dialect, None)(stored)
    assert read == value and read.utcoffset() == timedelta(0)


def test_sqlite_text_of_other_shapes_still_reads_as_utc() -> None:
    from sqlalchemy.dialects import sqlite

    from fluid_scim.models.types import UTCDateTime

    read = UTCDateTime().result_processor(sqlite.dialect(), None)
    assert read("2026-12-04 21:22:33") == datetime(2026, 12, 4, 21, 22, 33, tzinfo=UTC)  # CURRENT_TIMESTAMP's shape
    assert read("2026-12-04 21:22:33.123456+02:00") == datetime(2026, 12, 4, 19, 22, 33, 123456, tzinfo=UTC)


def test_text_of_the_stored_length_in_another_shape_still_reads() -> None:
    from sqlalchemy.dialects import sqlite

    from fluid_scim.models.types import UTCDateTime

    read = UTCDateTime().result_processor(sqlite.dialect(), None)
    assert read("2026-12-04T21:22:33.1+0100") == datetime(2026, 12, 4, 20, 22, 33, 100_000, tzinfo=UTC)  # 26 characters

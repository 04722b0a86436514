"""Working days with China's holidays and 调休 weekends (lowbao.core.workdays)."""

from datetime import date

import pytest

from lowbao.core.workdays import (
    add_months,
    add_working_days,
    first_of_next_month,
    is_calendar_known,
    is_working_day,
    working_days_between,
)


@pytest.mark.parametrize(
    ("_case", "start", "days", "expected"),
    [
        ("plain_week", date(2026, 11, 2), 5, date(2026, 11, 9)),
        ("over_a_weekend", date(2026, 11, 6), 1, date(2026, 11, 9)),
        ("national_day_and_makeup_saturday", date(2026, 9, 30), 3, date(2026, 10, 10)),
        ("ten_days_over_national_day", date(2026, 9, 30), 10, date(2026, 10, 20)),
        ("zero_on_a_holiday_moves_to_next_working_day", date(2026, 10, 3), 0, date(2026, 10, 8)),
        ("spring_festival_2016_makeup_sunday", date(2016, 2, 5), 1, date(2016, 2, 6)),
    ],
)
def test_add_working_days(_case, start, days, expected):
    assert add_working_days(start, days) == expected


def test_makeup_weekend_is_a_working_day_and_holiday_weekday_is_not():
    assert is_working_day(date(2026, 10, 10)) is True  # Saturday worked for National Day
    assert is_working_day(date(2026, 10, 5)) is False  # Monday in the holiday


def test_unknown_future_year_falls_back_to_monday_to_friday():
    assert is_calendar_known(date(2030, 1, 7)) is False
    assert add_working_days(date(2030, 1, 4), 1) == date(2030, 1, 7)


def test_working_days_between_counts_the_end_not_the_start():
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert working_days_between(date(2026, 10, 10), date(2026, 9, 30)) == 0


def test_negative_days_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        add_working_days(date(2026, 1, 1), -1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2026, 11, 29), date(2026, 12, 1)), (date(2026, 12, 31), date(2027, 1, 1))],
)
def test_first_of_next_month(day, expected):
    assert first_of_next_month(day) == expected


def test_add_months_crosses_years():
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)

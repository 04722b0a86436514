"""Working days (工作日) with China's public holidays and 调休 working weekends.

``chinese_calendar`` knows the State Council's holiday arrangements for the years it ships; for a
year it does not know yet (the arrangement is published each November or December), Monday to
Friday are working days and ``is_calendar_known`` says so, so callers can warn.
"""

from datetime import date, timedelta

import chinese_calendar


def is_calendar_known(day: date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself does not count).

    ``add_working_days(d, 0)`` is ``d`` if it is a working day, else the next working day.
    """
    if days < 0:
        raise ValueError("days must be non-negative")
    current = start
    if days == 0:
        while not is_working_day(current):
            current += timedelta(days=1)
        return current
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += is_working_day(current)
    return count


def first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def add_months(month: date, months: int) -> date:
    """First day of the month ``months`` after ``month``'s month."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)

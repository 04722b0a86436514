"""Dates and small readers shared by the management tests."""

from datetime import date

from cases.models import Household, HouseholdMember

APPROVED_ON = date(2026, 11, 16)  # the county approves; payment from December
DECEMBER = date(2026, 12, 1)
JANUARY = date(2027, 1, 1)
REPORTED_ON = date(2026, 12, 10)
DECIDED_ON = date(2026, 12, 15)


def member_of(household: Household, *, relation: str) -> HouseholdMember:
    return HouseholdMember.objects.select_related("person", "household", "household__area").get(
        household=household, relation=relation
    )


def periods(household: Household) -> list[tuple]:
    """(start, end, amount, persons, kind, suspended) of every benefit period, oldest first."""
    return list(
        household.benefit_periods.order_by("start_month").values_list(
            "start_month", "end_month", "monthly_amount", "covered_persons", "kind", "is_suspended"
        )
    )

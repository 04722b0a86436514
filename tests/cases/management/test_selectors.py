"""The management worklists are scoped and cost a fixed number of queries."""

from datetime import date

import pytest

from cases.choices import ChangeKind, Relation
from cases.services.management import (
    change_report,
    changes_pending,
    gradual_exits_ending,
    households_due_for_check,
)
from lowbao.areas.scoping import actor_assignments
from tests.cases.management.helpers import REPORTED_ON, member_of

pytestmark = pytest.mark.django_db


def _report(household, users, *, kind=ChangeKind.OTHER, member_left=None):
    return change_report(
        actor=users.caseworker,
        household=household,
        kind=kind,
        description="复核",
        reported_on=REPORTED_ON,
        member_left=member_left,
        today=REPORTED_ON,
    )


@pytest.mark.parametrize(("_case", "households"), [("one", 1), ("three", 3)])
def test_pending_changes_cost_one_query_whatever_their_number(
    paid_household, case_users, django_assert_num_queries, _case, households
):
    for _ in range(households):
        _report(paid_household(), case_users)
    actor_assignments(case_users.civil_affairs)  # the role cache of the request

    with django_assert_num_queries(1):
        rows = [
            (c.household.number, c.household.area.parent.name, c.reported_by.pk)
            for c in changes_pending(actor=case_users.civil_affairs)
        ]

    assert len(rows) == households


def test_worklists_are_scoped_to_the_users_areas(paid_household, case_users):
    household = paid_household()
    spouse = member_of(household, relation=Relation.SPOUSE)
    _report(
        household,
        case_users,
        kind=ChangeKind.DEATH,
        member_left={"member_id": spouse.pk, "left_on": date(2026, 12, 1)},
    )

    mine = (
        list(changes_pending(actor=case_users.caseworker)),
        list(households_due_for_check(actor=case_users.caseworker)),
    )
    sibling = (
        list(changes_pending(actor=case_users.sibling_caseworker)),
        list(households_due_for_check(actor=case_users.sibling_caseworker)),
    )

    assert ([c.household_id for c in mine[0]], mine[1]) == ([household.pk], [household])
    assert sibling == ([], [])
    assert list(gradual_exits_ending(actor=case_users.caseworker, today=REPORTED_ON)) == []

"""Households put into payment through the real application workflow: approved by the county on
16 Nov 2026, paid from December 2026."""

from collections.abc import Callable

import pytest

from cases.choices import ApplicationAction, Programme
from cases.hooks import DEMO_BEFORE_DECISION
from cases.models import Household
from cases.services.applications import StepData, application_transition
from cases.services.households import MemberData
from tests.cases.management.helpers import APPROVED_ON
from tests.cases.workflow.test_application_path import walk_to_county_review

PaidHousehold = Callable[..., Household]


@pytest.fixture
def paid_household(new_application, case_users) -> PaidHousehold:
    """``paid_household(members=[...], programme=…)``; the default members earn 120 + 200 a
    month → (460 − 160) × 2 = 600 from December."""

    def _make(
        *, members: list[MemberData] | None = None, programme: str = Programme.DIBAO
    ) -> Household:
        application = new_application(members=members, programme=programme)
        walk_to_county_review(application, case_users)
        for prepare in DEMO_BEFORE_DECISION:  # what the approval gates need (逢救必核 reports)
            prepare(application, APPROVED_ON)
        application_transition(
            application_id=application.pk,
            action=ApplicationAction.APPROVE,
            actor=case_users.civil_affairs,
            data=StepData(),
            today=APPROVED_ON,
        )
        return Household.objects.select_related("area", "county").get(pk=application.household_id)

    return _make

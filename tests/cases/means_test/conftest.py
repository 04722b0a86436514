"""Fixtures for the means-test tests: the 460-yuan county standard, the region's policy in
force on the reference date, and builders for members and runs."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from cases.choices import Relation
from cases.means_test import AssetsInput, MeansTestResult, MemberInput, means_test_run
from cases.models import GuaranteeStandard, PolicySetting
from tests.lowbao.people.factories import make_id_number

ON = date(2026, 11, 1)


def born_aged(age: int, *, on: date = ON) -> date:
    """A birth date that makes someone exactly ``age`` on ``on`` (born ``on`` minus 1 month)."""
    return date(on.year - age, on.month - 1 if on.month > 1 else 1, 1)


def member(
    *,
    age: int = 40,
    income: str | int = "0",
    relation: str = Relation.HEAD,
    **kwargs: Any,
) -> MemberInput:
    return MemberInput(
        id_number=make_id_number(birth_date=born_aged(age)),
        relation=relation,
        income_monthly=Decimal(str(income)),
        **kwargs,
    )


@pytest.fixture
def region_policy(areas, policy_defaults) -> PolicySetting:
    """The region's seeded 2021 policy: in force on ``ON`` for every test area."""
    return PolicySetting.objects.get(area=areas.region, effective_from=date(2021, 7, 1))


@pytest.fixture
def standard(county_standard) -> GuaranteeStandard:
    return county_standard


@pytest.fixture
def run(areas, standard, region_policy) -> Callable[..., MeansTestResult]:
    """``means_test_run`` in the test village on ``ON``, with no deductions and no assets."""

    def _run(members: list[MemberInput], **kwargs: Any) -> MeansTestResult:
        kwargs.setdefault("area", areas.village)
        kwargs.setdefault("on", ON)
        kwargs.setdefault("deductions", {})
        kwargs.setdefault("assets", AssetsInput(houses=1))
        return means_test_run(members=members, **kwargs)

    return _run

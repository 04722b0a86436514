"""Concurrent approvals of one case on real PostgreSQL: exactly one wins (quality.md R4)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from cases.choices import ApplicationAction as A
from cases.choices import ApplicationStatus as S
from cases.models import Application, BenefitPeriod, StatusTransition
from cases.services.applications import StepData, application_transition
from lowbao.core.errors import DomainError

pytestmark = pytest.mark.django_db(transaction=True)


def _run_parallel(count: int, work) -> list[object]:
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # collected and asserted below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_twenty_parallel_approvals_exactly_one_wins(
    new_application, case_users, areas, make_user, verified
):
    officials = [make_user(role="county_civil_affairs", area=areas.county) for _ in range(20)]
    application = new_application()
    verified(application)
    Application.objects.filter(pk=application.pk).update(
        status=S.COUNTY_REVIEW,
        means_test={"eligible": True},
        proposed_amount=Decimal("600"),
    )

    results = _run_parallel(
        20,
        lambda i: application_transition(
            application_id=application.pk,
            action=A.APPROVE,
            actor=officials[i],
            data=StepData(),
            expected_version=0,
            today=date(2026, 11, 16),
        ),
    )

    winners = [r for r in results if isinstance(r, Application)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1
    assert len(losers) == 19
    assert {error.code for error in losers} == {"conflict"}
    assert StatusTransition.objects.filter(application=application, action="approve").count() == 1
    assert BenefitPeriod.objects.filter(household=application.household).count() == 1

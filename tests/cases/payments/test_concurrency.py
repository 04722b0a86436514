"""quality.md R4: concurrent sign-offs of one sheet — exactly one wins, the others get CONFLICT."""

import threading
from datetime import date

import pytest
from django.db import connection, connections

from cases.models import PaymentSheet
from cases.services.payments import payment_sheet_generate, payment_sheet_transition
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError

CHECKERS = 20  # quality.md R4: 20 parallel sign-offs


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_with_the_same_version_one_wins(make_household, world, users, make_user):
    make_household()
    sheet = payment_sheet_generate(
        actor=users.caseworker, township=world.township, month=date(2026, 6, 1)
    )
    checkers = [users.head, users.county_officer] + [
        make_user(role=Role.TOWNSHIP_HEAD, area=world.township) for _ in range(CHECKERS - 2)
    ]
    start = threading.Barrier(len(checkers))
    outcomes: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def check(checker) -> None:
        try:
            start.wait()
            payment_sheet_transition(
                actor=checker, sheet_id=sheet.pk, action="check", expected_version=0
            )
            outcome = "ok"
        except DomainError as error:
            outcome = error.code
        except BaseException as error:  # reported by the main thread
            with lock:
                unexpected.append(error)
            return
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=check, args=(checker,)) for checker in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert sorted(outcomes) == ["conflict"] * (CHECKERS - 1) + ["ok"]
    sheet = PaymentSheet.objects.get(pk=sheet.pk)
    assert (sheet.status, sheet.version) == ("checked", 1)
    assert AuditEvent.objects.filter(action="payment_sheet.check").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_generates_make_one_sheet(make_household, world, make_user):
    for _ in range(3):
        make_household()
    caseworkers = [make_user(role=Role.TOWNSHIP_CASEWORKER, area=world.township) for _ in range(4)]
    start = threading.Barrier(len(caseworkers))
    errors: list[BaseException] = []

    def generate(caseworker) -> None:
        try:
            start.wait()
            payment_sheet_generate(
                actor=caseworker, township=world.township, month=date(2026, 6, 1)
            )
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=generate, args=(user,)) for user in caseworkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sheet = PaymentSheet.objects.get()
    assert (sheet.household_count, sheet.lines.count(), sheet.version) == (3, 3, 0)

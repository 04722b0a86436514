"""Fixtures of the verification tests (``verified`` lives in tests/fixtures/verification.py)."""

from collections.abc import Callable
from datetime import date

import pytest
from django.test import Client

from cases.choices import ApplicationAction as A
from cases.models import Application
from cases.services.applications import StepData, application_transition
from lowbao.accounts.services import api_client_create
from lowbao.areas.roles import Role

DECISION_DAY = date(2026, 11, 16)


def approve(application: Application, users, *, on: date = DECISION_DAY) -> Application:
    return application_transition(
        application_id=application.pk,
        action=A.APPROVE,
        actor=users.civil_affairs,
        data=StepData(certificate_number=f"DB-{application.pk}"),
        today=on,
    )


@pytest.fixture
def token_client(areas) -> Callable[..., Client]:
    """``token_client(role, area=None, name=...)``: a client authenticated by an API token."""

    def _make(role: str, area=None, name: str = "") -> Client:
        created = api_client_create(
            actor=None, name=name or f"sys-{role}", role=role, area=area or areas.region
        )
        return Client(HTTP_AUTHORIZATION=f"Token {created.token}")

    return _make


@pytest.fixture
def platform(token_client) -> Client:
    return token_client(Role.VERIFICATION_PLATFORM_SYSTEM, name="verification-platform")


@pytest.fixture
def federation(token_client) -> Client:
    return token_client(Role.DISABILITY_FEDERATION_SYSTEM, name="disability-federation")

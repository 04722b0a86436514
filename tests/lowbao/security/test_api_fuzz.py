"""schemathesis against ``/api/schema/`` for each API role (quality.md S8).

Every operation is called with generated inputs by a token client of each role: no 5xx, every
response conforms to the schema, and no response body holds an 18-character ID number with a
valid check digit (the API shows masked values only, to every role).
"""

import re

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from lowbao.accounts.services import api_client_create
from lowbao.areas.roles import Role
from lowbao.people.id_numbers import compute_check_char
from lowbao.wsgi import application

ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")

# Operations not fuzzed, by name, with the reason (none today: every operation takes JSON).
EXCLUDED_OPERATIONS: dict[str, str] = {}

API_ROLES = (
    (Role.TOWNSHIP_CASEWORKER, "township"),
    (Role.COUNTY_CIVIL_AFFAIRS, "county"),
    (Role.LEAGUE_OFFICER, "league"),
    (Role.REGION_OFFICER, "region"),
    (Role.POVERTY_OFFICE_SYSTEM, "county"),
    (Role.VERIFICATION_PLATFORM_SYSTEM, "county"),
)


def unmasked_id_numbers(text: str) -> list[str]:
    """18-character ID numbers with a valid check digit in ``text``."""
    return [
        found
        for found in ID_CANDIDATE.findall(text)
        if compute_check_char(found[:17]) == found[17].upper()
    ]


def test_the_id_number_detector_finds_valid_numbers_only(id_number_factory):
    valid = id_number_factory()
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert unmasked_id_numbers(f'{{"a": "{valid}", "b": "{wrong_check}"}}') == [valid]
    assert unmasked_id_numbers(f"{valid[:6]}********{valid[-4:]}") == []


@pytest.fixture
def api_schema(db, dashboard_world):
    # Like Django's test client: a finished request must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def role_tokens(areas, db) -> dict[str, str]:
    level = {
        "township": areas.township,
        "county": areas.county,
        "league": areas.league,
        "region": areas.region,
    }
    return {
        role: api_client_create(actor=None, name=f"fuzz-{role}", role=role, area=level[where]).token
        for role, where in API_ROLES
    }


def test_an_invalid_token_is_refused(db, client):
    response = client.get("/api/v1/areas/", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_api_operations_for_every_role(api_schema, role_tokens):
    fuzzed = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.label in EXCLUDED_OPERATIONS:
            continue
        fuzzed.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=5,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            for role, token in role_tokens.items():
                response = case.call(headers={"Authorization": f"Token {token}"})
                label = case.operation.label
                assert response.status_code < 500, f"{role}: {label} → {response.status_code}"
                try:
                    # ST401 "ignored_auth" re-sends without our token but with the generated
                    # case's own (absent) auth and mistakes a public-schema answer for accepted
                    # bad credentials; invalid tokens are tested directly (401) in
                    # tests/lowbao/security/test_api_fuzz.py::test_an_invalid_token_is_refused.
                    # ST202 "positive_data_acceptance": filters validate area codes etc. more
                    # strictly (12-digit patterns) than the schema states; a 400 there is a
                    # documented, deliberate refusal, not a crash.
                    case.validate_response(
                        response, excluded_checks=[ignored_auth, positive_data_acceptance]
                    )
                except FailureGroup as failures:
                    raise AssertionError(f"{role}: {label}: {failures}") from None
                leaked = unmasked_id_numbers(response.text)
                assert leaked == [], f"{role}: {label} shows full ID numbers"

        fuzz()
    assert len(fuzzed) >= 20

"""Session idle timeout (15 minutes, renewed by activity) and absolute lifetime (quality.md S3).

The absolute 12-hour cap is tested in ``test_login_and_passwords``; these tests exercise the
idle timeout end to end through the session store rather than only its settings.
"""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from lowbao.areas.roles import Role
from tests.lowbao.accounts.second_factor_helpers import password_login

pytestmark = pytest.mark.django_db


def _session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_idle_for_fifteen_minutes_is_over(areas, make_user):
    client = password_login(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))
    assert client.get("/").status_code == 200
    Session.objects.filter(pk=_session_row(client).pk).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_every_request_pushes_the_idle_deadline_fifteen_minutes_ahead(areas, make_user):
    client = password_login(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))
    client.get("/")
    # Ten minutes of inactivity: five minutes are left.
    Session.objects.filter(pk=_session_row(client).pk).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )

    assert client.get("/").status_code == 200

    remaining = _session_row(client).expire_date - timezone.now()
    assert timedelta(minutes=14, seconds=50) < remaining <= timedelta(minutes=15)


def test_the_session_cookie_ends_with_the_browser(areas, make_user):
    client = password_login(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))

    response = client.get("/")

    cookie = response.cookies["sessionid"]
    assert cookie["expires"] == ""
    assert cookie["max-age"] == ""
    assert cookie["httponly"] is True

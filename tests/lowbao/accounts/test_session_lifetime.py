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


def test_a_request_after_inactivity_pushes_the_idle_deadline_15_minutes_ahead(areas, make_user):
    client = password_login(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))
    client.get("/")
    # Ten minutes of inactivity: five minutes are left.
    session = client.session
    session["lowbao_session_renewed"] -= 600
    session.save()
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


def test_requests_within_a_minute_of_the_last_renewal_write_nothing(areas, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = password_login(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))
    client.get("/")  # renews
    before = _session_row(client).expire_date

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200

    writes = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert [sql for sql in writes if "django_session" in sql] == []
    assert _session_row(client).expire_date == before


def test_a_request_a_minute_after_the_last_renewal_renews(areas, make_user):
    client = password_login(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))
    client.get("/")
    session = client.session
    session["lowbao_session_renewed"] -= 60
    session.save()
    Session.objects.filter(pk=_session_row(client).pk).update(
        expire_date=timezone.now() + timedelta(minutes=14)
    )

    assert client.get("/").status_code == 200

    remaining = _session_row(client).expire_date - timezone.now()
    assert timedelta(minutes=14, seconds=50) < remaining <= timedelta(minutes=15)

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import RequestFactory
from django.urls import reverse

from lowbao.audit.models import AuditEvent
from lowbao.audit.selectors import audit_chain_verify

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-9"


@pytest.fixture
def user():
    return get_user_model().objects.create_user(username="lisi", password=PASSWORD)


def _events():
    return list(
        AuditEvent.objects.order_by("seq").values_list(
            "action", "actor_id", "actor_label", "object_type", "object_id", "ip", "changes"
        )
    )


def test_login_and_logout_through_the_login_page_are_recorded(client, user):
    client.post(reverse("accounts:login"), {"username": "lisi", "password": PASSWORD})
    client.post(reverse("accounts:logout"))

    assert _events() == [
        ("auth.login", user.pk, "lisi", "accounts.user", str(user.pk), "127.0.0.1", {}),
        ("auth.logout", user.pk, "lisi", "accounts.user", str(user.pk), "127.0.0.1", {}),
    ]
    assert audit_chain_verify().ok is True


def test_failed_login_records_the_attempted_username_but_never_the_password(client, user):
    client.post(reverse("accounts:login"), {"username": "lisi", "password": "wrong-password"})

    assert _events() == [("auth.login_failed", None, "lisi", "", "", "127.0.0.1", {})]
    assert "wrong-password" not in str(AuditEvent.objects.values().get())


def test_failed_login_for_an_unknown_username_is_recorded(client):
    client.post(reverse("accounts:login"), {"username": "nobody", "password": "x"})

    assert _events() == [("auth.login_failed", None, "nobody", "", "", "127.0.0.1", {})]


def test_failed_authenticate_outside_the_login_page_is_recorded(user):
    request = RequestFactory().post("/api/", REMOTE_ADDR="10.1.2.3")

    assert authenticate(request=request, username="lisi", password="wrong") is None

    assert _events() == [("auth.login_failed", None, "lisi", "", "", "10.1.2.3", {})]


def test_failed_login_truncates_a_very_long_attempted_username():
    request = RequestFactory().post("/")

    authenticate(request=request, username="x" * 200, password="wrong")

    assert AuditEvent.objects.get().actor_label == "x" * 150


def test_logout_without_a_login_records_nothing(client):
    client.post(reverse("accounts:logout"))

    assert _events() == []

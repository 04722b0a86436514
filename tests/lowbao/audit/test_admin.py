import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lowbao.audit.models import AuditEvent
from lowbao.audit.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    superuser = get_user_model().objects.create_superuser(
        username="admin",
        password="x",
        must_change_password=False,
        password_changed_at=timezone.now(),
    )
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def event(superuser_client):
    return record(actor=None, action="import.apply", actor_label="system:nightly", object_id="42")


def test_admin_lists_and_searches_audit_events(superuser_client, event):
    url = reverse("admin:audit_auditevent_changelist")

    found = superuser_client.get(url, {"q": "nightly", "action__exact": "import.apply"})
    missing = superuser_client.get(url, {"q": "someone-else"})

    assert list(found.context["cl"].result_list) == [event]
    assert list(missing.context["cl"].result_list) == []


def test_admin_offers_no_add_change_or_delete(superuser_client, event):
    add = superuser_client.get(reverse("admin:audit_auditevent_add"))
    change = superuser_client.post(
        reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "case.approve"}
    )
    delete = superuser_client.post(
        reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert AuditEvent.objects.get(pk=event.pk).action == "import.apply"

"""Uploads and confirmations share the ``import`` rate (quality.md S7); viewing does not count."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from lowbao.imports.models import ImportBatch
from tests.lowbao.imports.test_import_ledger_command import ROSTER_HEADERS, two_households
from tests.lowbao.imports.test_upload_pages import make_admins, upload, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rates(settings):
    settings.LOWBAO_THROTTLE_RATES = {"login": "100/min", "import": "2/hour", "export": "100/hour"}
    cache.clear()
    yield
    cache.clear()


def test_the_third_upload_within_the_hour_is_refused_with_429_and_stores_nothing(
    areas, make_user, login_client
):
    admins = make_admins(areas, make_user)
    client = login_client(admins.county)
    for _ in range(5):  # showing the form does not count
        assert client.get(reverse("imports:upload")).status_code == 200
    content = xlsx_bytes(ROSTER_HEADERS, two_households())
    first = upload(client, kind="dibao", content=content)
    second = upload(client, kind="dibao", content=content)
    batches = ImportBatch.objects.count()

    third = upload(client, kind="dibao", content=xlsx_bytes(ROSTER_HEADERS, two_households()))

    assert 429 not in (first.status_code, second.status_code)
    assert third.status_code == 429
    assert int(third["Retry-After"]) > 0
    assert "操作过于频繁" in third.content.decode()
    assert ImportBatch.objects.count() == batches

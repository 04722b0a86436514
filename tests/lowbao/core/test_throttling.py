"""Throttles on login, import and export (quality.md S7): the page decorator, the DRF classes
and the login page share one rate store."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from lowbao.areas.roles import Role
from lowbao.core.throttling import (
    ExportRateThrottle,
    ImportRateThrottle,
    ScopeRateThrottle,
    throttle,
    wait_text,
)
from lowbao.settings import base

pytestmark = pytest.mark.django_db

RATES = {"login": "3/min", "import": "2/min", "export": "2/hour"}


@pytest.fixture(autouse=True)
def _rates(settings):
    settings.LOWBAO_THROTTLE_RATES = RATES
    cache.clear()
    yield
    cache.clear()


@throttle("import", methods=("POST",))
def upload_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("uploaded")


@throttle("export")
def download_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("file")


class ImportApi(APIView):
    throttle_classes = [ImportRateThrottle]

    def post(self, request):
        return Response({"ok": True})


def _page_request(user, method: str = "post", **extra) -> HttpRequest:
    request = getattr(RequestFactory(), method)("/imports/upload/", **extra)
    request.user = user
    return request


def test_the_third_upload_in_a_minute_gets_a_chinese_429_with_retry_after(areas, make_user):
    user = make_user(role=Role.DATA_ADMIN, area=areas.county)

    first, second, third = (upload_view(_page_request(user)) for _ in range(3))

    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
    assert "操作过于频繁，请 60 秒后再试。" in third.content.decode()
    assert third["Retry-After"] == "60"


def test_showing_the_form_does_not_count_when_only_posts_are_limited(areas, make_user):
    user = make_user(role=Role.DATA_ADMIN, area=areas.county)
    for _ in range(5):
        assert upload_view(_page_request(user, "get")).status_code == 200

    assert upload_view(_page_request(user)).status_code == 200


def test_each_user_has_their_own_bucket(areas, make_user):
    first = make_user(role=Role.DATA_ADMIN, area=areas.county)
    second = make_user(role=Role.DATA_ADMIN, area=areas.county)
    upload_view(_page_request(first))
    upload_view(_page_request(first))

    assert upload_view(_page_request(first)).status_code == 429
    assert upload_view(_page_request(second)).status_code == 200


def test_every_method_counts_by_default_and_hourly_rates_say_minutes(areas, make_user):
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)
    download_view(_page_request(user, "get"))
    download_view(_page_request(user, "get"))

    refused = download_view(_page_request(user, "get"))

    assert refused.status_code == 429
    assert "操作过于频繁，请 60 分钟后再试。" in refused.content.decode()
    assert refused["Retry-After"] == "3600"


def test_the_window_slides(areas, make_user, monkeypatch):
    user = make_user(role=Role.DATA_ADMIN, area=areas.county)
    now = 1_000_000.0
    monkeypatch.setattr(ScopeRateThrottle, "timer", lambda self: now)
    upload_view(_page_request(user))
    upload_view(_page_request(user))
    assert upload_view(_page_request(user)).status_code == 429

    now += 61

    assert upload_view(_page_request(user)).status_code == 200


def test_api_throttle_answers_the_api_error_format(areas, make_user):
    user = make_user(role=Role.DATA_ADMIN, area=areas.county)
    view = ImportApi.as_view()

    def call():
        request = APIRequestFactory().post("/api/v1/imports/", {}, format="json")
        force_authenticate(request, user=user)
        return view(request)

    responses = [call() for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].data == {
        "code": "throttled",
        "message": "请求已被限流。 预计 60 秒后可用。",
        "fields": {},
    }


def test_pages_and_api_of_one_scope_share_the_bucket(areas, make_user):
    user = make_user(role=Role.DATA_ADMIN, area=areas.county)
    upload_view(_page_request(user))
    request = APIRequestFactory().post("/api/v1/imports/", {}, format="json")
    force_authenticate(request, user=user)
    assert ImportApi.as_view()(request).status_code == 200

    assert upload_view(_page_request(user)).status_code == 429


def test_a_spoofed_forwarded_for_header_does_not_open_a_new_bucket(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": None}
    client = Client()
    for index in range(3):
        client.post(
            "/accounts/login/",
            {"username": f"nobody{index}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{index}",
        )

    response = client.post(
        "/accounts/login/",
        {"username": "nobody9", "password": "x"},
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )

    assert response.status_code == 429


def test_behind_a_configured_proxy_the_forwarded_address_is_the_client(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for index in range(3):
        Client().post(
            "/accounts/login/",
            {"username": f"nobody{index}", "password": "x"},
            HTTP_X_FORWARDED_FOR="10.0.0.1",
        )

    other_office = Client().post(
        "/accounts/login/",
        {"username": "nobody9", "password": "x"},
        HTTP_X_FORWARDED_FOR="10.0.0.2",
    )
    same_office = Client().post(
        "/accounts/login/",
        {"username": "nobody9", "password": "x"},
        HTTP_X_FORWARDED_FOR="10.0.0.1",
    )

    assert other_office.status_code == 200
    assert same_office.status_code == 429


def test_login_page_allows_the_rate_of_posts_per_address_then_refuses(areas, make_user):
    make_user(username="zhangsan")
    client = Client()
    answers = [
        client.post("/accounts/login/", {"username": f"guess{n}", "password": "x"}).status_code
        for n in range(3)
    ]

    refused = client.post("/accounts/login/", {"username": "zhangsan", "password": "x"})
    from_elsewhere = Client(REMOTE_ADDR="10.1.2.3").post(
        "/accounts/login/", {"username": "zhangsan", "password": "x"}
    )

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert "操作过于频繁" in refused.content.decode()
    assert from_elsewhere.status_code == 200
    assert Client().get("/accounts/login/").status_code == 200  # viewing the page never counts


def test_login_counts_per_address_even_for_a_signed_in_user(areas, make_user):
    user = make_user()
    request = _page_request(user)

    assert ScopeRateThrottle("login").get_cache_key(request, None) == "throttle_login_ip:127.0.0.1"
    assert ExportRateThrottle().get_cache_key(request, None) == f"throttle_export_user:{user.pk}"


def test_a_scope_without_a_rate_fails_loudly():
    with pytest.raises(ImproperlyConfigured, match="LOWBAO_THROTTLE_RATES has no rate"):
        throttle("uploads")


@pytest.mark.parametrize(
    ("_case", "seconds", "text"),
    [("fraction", 0.2, "1 秒"), ("seconds", 59.5, "60 秒"), ("minutes", 1800, "30 分钟")],
)
def test_wait_text(_case, seconds, text):
    assert wait_text(seconds) == text


def test_default_rates_are_the_quality_targets():
    assert base.LOWBAO_THROTTLE_RATES == {
        "login": "10/min",
        "import": "30/hour",
        "export": "60/hour",
        "push": "60/min",
    }
    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] is base.LOWBAO_THROTTLE_RATES

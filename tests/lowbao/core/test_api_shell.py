"""The API shell: JSON error format, OpenAPI schema and docs served without a CDN."""

import pytest
from django.test import RequestFactory
from rest_framework.views import APIView

from lowbao.areas.roles import Role
from lowbao.core.api.exception_handler import api_exception_handler
from lowbao.core.errors import CoreErrorCode, DomainError

pytestmark = pytest.mark.django_db


def test_domain_error_maps_to_its_status_and_json_body():
    error = DomainError(
        code=CoreErrorCode.CONFLICT, message="该案件已由他人处理", fields={"id": ["x"]}
    )

    response = api_exception_handler(
        error, {"view": APIView(), "request": RequestFactory().get("/")}
    )

    assert response.status_code == 409
    assert response.data == {
        "code": "conflict",
        "message": "该案件已由他人处理",
        "fields": {"id": ["x"]},
    }


def test_unknown_domain_code_is_422():
    response = api_exception_handler(
        DomainError(code="id_checksum", message="身份证号校验位错误"), {"view": APIView()}
    )

    assert response.status_code == 422


def test_validation_error_lists_fields_in_the_contract_shape(areas, make_user, login_client):
    client = login_client(make_user(role=Role.REGION_OFFICER, area=areas.region))

    response = client.get("/api/v1/areas/?level=town&parent=12")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"] == "提交的数据有误"
    assert sorted(body["fields"]) == ["level", "parent"]


def test_schema_lists_the_areas_endpoints(areas, make_user, login_client):
    client = login_client(make_user(role=Role.REGION_OFFICER, area=areas.region))

    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/areas/", "/api/v1/areas/{code}/"} <= set(paths)


def test_api_docs_load_swagger_from_local_static_files(areas, make_user, login_client):
    client = login_client(make_user(role=Role.REGION_OFFICER, area=areas.region))

    html = client.get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_base_layout_loads_bootstrap_locally(areas, make_user, login_client):
    client = login_client(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))

    html = client.get("/").content.decode()

    assert '<link rel="stylesheet" href="/static/vendor/bootstrap/css/bootstrap.min.css">' in html
    assert "http://" not in html
    assert "https://" not in html


def test_menu_shows_only_pages_the_role_allows(areas, make_user, login_client):
    client = login_client(make_user(role=Role.POVERTY_OFFICE_SYSTEM, area=areas.county))
    html = client.get("/").content.decode()

    assert "行政区划" not in html


def test_unknown_page_is_a_chinese_404_not_a_traceback(areas, make_user, login_client):
    client = login_client(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "页面不存在，或不在您的管辖区域内。" in response.content.decode()


def test_an_api_url_that_matches_no_route_answers_json_404(client):
    response = client.get("/api/v1/reconciliation/items/-1/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "not_found",
        "message": "不存在或不在您的管辖范围内",
        "fields": {},
    }


def test_a_page_url_that_matches_no_route_answers_the_chinese_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]

"""Chinese error pages; never a traceback page. Under ``/api/`` the answers are the API's JSON
error shape (``{"code", "message", "fields"}``), also for URLs that match no route."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message, "fields": {}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error("permission_denied", "没有权限执行此操作", 403)
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error("not_found", "不存在或不在您的管辖范围内", 404)
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _api_error("server_error", "服务器内部错误，请稍后重试或联系管理员", 500)
    return render(request, "errors/500.html", status=500)

"""Maps every API error to ``{"code", "message", "fields"}`` (contracts.md)."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from lowbao.core.errors import DomainError

_MESSAGES = {
    "not_authenticated": "未登录或登录已过期",
    "authentication_failed": "身份验证失败",
    "permission_denied": "没有执行此操作的权限",
    "not_found": "未找到，或不在您的管辖区域内",
    "method_not_allowed": "不支持的请求方法",
    "throttled": "请求过于频繁，请稍后再试",
    "parse_error": "请求格式错误",
    "unsupported_media_type": "不支持的请求内容类型",
    "not_acceptable": "无法按要求的格式返回",
}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body = {"code": exc.code, "message": exc.message, "fields": exc.fields}
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = (
            _flatten(exc.detail)
            if isinstance(exc.detail, dict)
            else {"non_field_errors": _flatten(exc.detail)}
        )
        response.data = {"code": "invalid", "message": "提交的数据有误", "fields": fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            code = codes
    detail = str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
    customised = isinstance(exc, exceptions.APIException) and detail != str(exc.default_detail)
    message = detail if customised else _MESSAGES.get(code, detail)
    response.data = {"code": code, "message": message, "fields": {}}
    return response

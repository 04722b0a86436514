"""OpenAPI post-processing: every operation documents the error answers every endpoint can give.

The project answers errors with one JSON shape (``{"code", "message", "fields"}``, see
``lowbao.core.exceptions``): 400 for a bad query or body, 401 without credentials, 403 without the
capability, 404 outside the caller's areas or for a page past the end, 429 when throttled; writes
may also answer 409 (conflict) and 422 (invalid rows). Views document their specific errors; this
hook adds the common ones where a view did not, so clients (and the schema fuzzer) can rely on them.
"""

from typing import Any

ERROR_COMPONENT = "Error"
COMMON = {
    "400": "请求参数有误",
    "401": "未登录或令牌无效",
    "403": "没有权限",
    "404": "不存在或不在管辖范围内",
    "429": "请求过于频繁",
}
WRITES = {"409": "状态冲突（已被他人处理）", "422": "数据校验未通过"}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def add_common_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        ERROR_COMPONENT,
        {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
            "required": ["code", "message"],
        },
    )
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = dict(COMMON)
            if method in WRITE_METHODS:
                answers.update(WRITES)
            for status, description in answers.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result

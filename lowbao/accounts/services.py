"""Writes to accounts: users, password changes, API clients."""

import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from lowbao.accounts.models import ApiToken, User, hash_api_token
from lowbao.areas.models import Area
from lowbao.areas.roles import SYSTEM_ROLES
from lowbao.areas.services import role_assign
from lowbao.audit.services import record
from lowbao.core.errors import DomainError


@transaction.atomic
def user_create(
    *,
    actor: object,
    username: str,
    password: str | None,
    display_name: str = "",
    must_change_password: bool = True,
    is_service_account: bool = False,
) -> User:
    """Create an account. ``password=None`` makes an unusable password (token-only accounts)."""
    if User.objects.filter(username=username).exists():
        raise DomainError(code="conflict", message=f"用户名“{username}”已存在")
    user = User(
        username=username,
        display_name=display_name,
        must_change_password=must_change_password,
        is_service_account=is_service_account,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
        user.password_changed_at = timezone.now()
    user.save()
    record(
        actor=actor if getattr(actor, "pk", None) else None,
        action="user.create",
        obj=user,
        changes={"username": username, "service_account": is_service_account},
        actor_label="" if getattr(actor, "pk", None) else "system",
    )
    return user


@transaction.atomic
def user_change_password(
    *, actor: User, user: User, new_password: str, request: object = None
) -> User:
    """Set a new password after the validators (Django's and the Chinese list) accept it."""
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise DomainError(
            code="invalid", message="；".join(exc.messages), fields={"new_password": exc.messages}
        ) from exc
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    record(actor=actor, action="user.password_change", obj=user, changes={}, request=request)
    return user


@dataclass(frozen=True)
class ApiClient:
    user: User
    token: str


@transaction.atomic
def api_client_create(*, actor: object, name: str, role: str, area: Area) -> ApiClient:
    """A token-only account for another office's system or a script acting for a role."""
    user = User.objects.filter(username=name).first()
    if user is None:
        user = user_create(
            actor=actor,
            username=name,
            password=None,
            display_name=name,
            must_change_password=False,
            is_service_account=True,
        )
    elif not user.is_service_account:
        raise DomainError(code="conflict", message=f"“{name}”是人员账号，不能用作接口账号")
    role_assign(actor=actor, user=user, role=role, area=area)
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, key_hash=hash_api_token(key), prefix=key[:8])
    record(
        actor=actor if getattr(actor, "pk", None) else None,
        action="api_token.create",
        obj=user,
        area=area,
        changes={"role": role, "prefix": key[:8], "system_role": role in SYSTEM_ROLES},
        actor_label="" if getattr(actor, "pk", None) else "system:create_api_client",
    )
    return ApiClient(user=user, token=key)

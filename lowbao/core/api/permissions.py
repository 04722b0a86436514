"""Coarse capability checks for DRF views. Object scope always comes from selectors/``access_*``."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from lowbao.areas.scoping import actor_has_perm


class HasCapability(BasePermission):
    perm = ""
    message = "没有执行此操作的权限"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and actor_has_perm(user, self.perm))

    @classmethod
    def of(cls, perm: str) -> type["HasCapability"]:
        return type(f"Has_{perm.replace('.', '_')}", (cls,), {"perm": perm})

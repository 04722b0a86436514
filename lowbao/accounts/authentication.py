"""Token authentication for service accounts; tokens are stored hashed (DRF's are plain)."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from lowbao.accounts.models import ApiToken, hash_api_token


class ApiTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str):  # type: ignore[override]
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_api_token(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("令牌无效或已吊销")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

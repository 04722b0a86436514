"""Protected (encrypted-at-rest) values and blind indexes (quality.md S4).

- ``encrypt``/``decrypt``: AES-256-GCM. A token is ``"<key_id>:<base64url(nonce || ciphertext)>"``;
  the key id is also the associated data, so a token cannot be relabelled to another key.
  Keys live outside the database (settings ``FIELD_ENCRYPTION_KEYS``, id → base64 key, and
  ``FIELD_ENCRYPTION_CURRENT_KEY_ID``); old keys stay listed until ``reencrypt`` has moved every
  token to the current one.
- ``blind_index``: HMAC-SHA256 under ``BLIND_INDEX_KEY`` with a per-purpose subkey, for exact
  lookup, uniqueness and joins without storing the plain value. Callers pass normalised values
  (for ID numbers: ``parse_id_number(...).value``).

Decoded keys are cached by the settings values themselves, so ``override_settings`` just works.
"""

import base64
import binascii
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
AES_KEY_BYTES = 32
MIN_BLIND_INDEX_KEY_BYTES = 32
KEY_ID_SEPARATOR = ":"

PURPOSE_ID_NUMBER = "id_number"
PURPOSE_BANK_ACCOUNT = "bank_account"


class ProtectionError(Exception):
    """A protected value cannot be read. Messages never contain the token or the plain value."""


class UnknownKeyError(ProtectionError):
    pass


class DecryptionError(ProtectionError):
    pass


def _decode_key(encoded: object, *, setting: str) -> bytes:
    if not isinstance(encoded, str) or not encoded:
        raise ImproperlyConfigured(f"{setting} must be a non-empty base64 string")
    for altchars in (None, b"-_"):  # standard or URL-safe alphabet, strictly validated
        try:
            return base64.b64decode(encoded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise ImproperlyConfigured(f"{setting} is not valid base64")


def field_key_bytes(key_id: str, encoded: object) -> bytes:
    """The AES key of ``FIELD_ENCRYPTION_KEYS[key_id]``: standard or URL-safe base64, strictly
    validated, of exactly ``AES_KEY_BYTES`` bytes (else ``ImproperlyConfigured``)."""
    key = _decode_key(encoded, setting=f"FIELD_ENCRYPTION_KEYS[{key_id!r}]")
    if len(key) != AES_KEY_BYTES:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS[{key_id!r}] must decode to {AES_KEY_BYTES} bytes"
        )
    return key


@lru_cache(maxsize=8)
def _ciphers(keys: tuple[tuple[str, str], ...], current_key_id: str) -> dict[str, AESGCM]:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: protected fields need a key")
    ciphers = {}
    for key_id, encoded in keys:
        if not key_id or KEY_ID_SEPARATOR in key_id:
            raise ImproperlyConfigured(f"Invalid key id in FIELD_ENCRYPTION_KEYS: {key_id!r}")
        ciphers[key_id] = AESGCM(field_key_bytes(key_id, encoded))
    if current_key_id not in ciphers:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_CURRENT_KEY_ID {current_key_id!r} is not in FIELD_ENCRYPTION_KEYS"
        )
    return ciphers


# The last settings values seen and what they gave: (keys, current key id, ciphers, key id).
# Compared by value on every call (a dict of a few keys), so ``override_settings`` just works,
# without sorting and hashing the keys for the ``lru_cache`` on each of an import's 10^5 calls.
_last_configured: list[tuple[object, object, dict[str, AESGCM], str]] = []


def _configured_ciphers() -> tuple[dict[str, AESGCM], str]:
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or {}
    current_key_id = getattr(settings, "FIELD_ENCRYPTION_CURRENT_KEY_ID", "") or ""
    if _last_configured:
        last_keys, last_id, ciphers, key_id = _last_configured[0]
        if current_key_id == last_id and keys == last_keys:
            return ciphers, key_id
    ciphers = _ciphers(tuple(sorted(dict(keys).items())), str(current_key_id))
    copied = dict(keys) if isinstance(keys, dict) else keys
    _last_configured[:] = [(copied, current_key_id, ciphers, str(current_key_id))]
    return ciphers, str(current_key_id)


def current_key_id() -> str:
    return _configured_ciphers()[1]


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt(plaintext: str) -> str:
    """Encrypt under the current key; every call uses a fresh random nonce."""
    if not isinstance(plaintext, str):
        raise TypeError("encrypt() takes a str")
    ciphers, key_id = _configured_ciphers()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ciphers[key_id].encrypt(nonce, plaintext.encode("utf-8"), key_id.encode("utf-8"))
    return f"{key_id}{KEY_ID_SEPARATOR}{_b64url_encode(nonce + sealed)}"


def key_id_of(token: str) -> str:
    """The key id a token was encrypted under (no decryption)."""
    key_id, separator, _payload = str(token).partition(KEY_ID_SEPARATOR)
    if not separator or not key_id:
        raise DecryptionError("受保护数据格式错误")
    return key_id


def decrypt(token: str) -> str:
    """Decrypt a token with the key its prefix names; tampering raises ``DecryptionError``."""
    key_id = key_id_of(token)
    payload = str(token)[len(key_id) + len(KEY_ID_SEPARATOR) :]
    ciphers, _current = _configured_ciphers()
    cipher = ciphers.get(key_id)
    if cipher is None:
        raise UnknownKeyError(f"未知的加密密钥编号 {key_id!r}：请在 FIELD_ENCRYPTION_KEYS 中配置")
    try:
        raw = _b64url_decode(payload)
    except (binascii.Error, ValueError):
        raise DecryptionError("受保护数据格式错误") from None
    if len(raw) <= NONCE_BYTES:
        raise DecryptionError("受保护数据格式错误")
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    try:
        plain = cipher.decrypt(nonce, sealed, key_id.encode("utf-8"))
    except InvalidTag:
        raise DecryptionError("受保护数据无法解密：密文被篡改或密钥不匹配") from None
    return plain.decode("utf-8")


def reencrypt(token: str) -> str:
    """Move a token to the current key (key rotation). Already current: returned unchanged.

    Returning current tokens unchanged keeps a rotation run idempotent and cheap to re-run.
    """
    if key_id_of(token) == current_key_id():
        return token
    return encrypt(decrypt(token))


@lru_cache(maxsize=32)
def _blind_index_subkey(encoded_key: str, purpose: str) -> bytes:
    key = _decode_key(encoded_key, setting="BLIND_INDEX_KEY")
    if len(key) < MIN_BLIND_INDEX_KEY_BYTES:
        raise ImproperlyConfigured(
            f"BLIND_INDEX_KEY must decode to at least {MIN_BLIND_INDEX_KEY_BYTES} bytes"
        )
    label = b"lowbao.blind_index." + purpose.encode("utf-8")
    return hmac.new(key, label, hashlib.sha256).digest()


def blind_index(value: str, *, purpose: str) -> str:
    """64 hex characters; the same value gives unrelated hashes for different purposes."""
    if not isinstance(value, str):
        raise TypeError("blind_index() takes a str")
    if not purpose:
        raise ValueError("blind_index() needs a purpose label")
    encoded_key = getattr(settings, "BLIND_INDEX_KEY", "") or ""
    if not encoded_key:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is empty: blind indexes need a key")
    subkey = _blind_index_subkey(str(encoded_key), purpose)
    # The one-shot HMAC (OpenSSL), the same digest as ``hmac.new(...).hexdigest()``.
    return hmac.digest(subkey, value.encode("utf-8"), "sha256").hex()


def id_number_blind_index(normalised_id_number: str) -> str:
    """The ``Person.id_number_hash`` of a normalised ID number (``parse_id_number(...).value``)."""
    return blind_index(normalised_id_number, purpose=PURPOSE_ID_NUMBER)

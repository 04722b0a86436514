import base64
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from lowbao.people.protection import (
    DecryptionError,
    UnknownKeyError,
    blind_index,
    current_key_id,
    decrypt,
    encrypt,
    id_number_blind_index,
    key_id_of,
    reencrypt,
)

ID_NUMBER = "34052419800101001X"
OTHER_32_BYTE_KEY = base64.b64encode(b"another-blind-index-key-32bytes!").decode()


def _flip_byte(token: str, index: int) -> str:
    key_id, _, payload = token.partition(":")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[index] ^= 0x01
    return f"{key_id}:{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    ("_case", "plaintext"),
    [("id_number", ID_NUMBER), ("chinese", "张三 内蒙古"), ("empty", ""), ("long", "x" * 5000)],
)
def test_encrypt_then_decrypt_round_trips(_case, plaintext):
    assert decrypt(encrypt(plaintext)) == plaintext


def test_token_names_the_current_key_and_hides_the_value():
    token = encrypt(ID_NUMBER)

    assert re.fullmatch(r"test1:[A-Za-z0-9_-]+", token)
    assert key_id_of(token) == "test1"
    assert ID_NUMBER not in token


def test_same_value_encrypts_differently_each_time():
    assert encrypt(ID_NUMBER) != encrypt(ID_NUMBER)


@pytest.mark.parametrize(("_case", "index"), [("nonce", 0), ("ciphertext", 13), ("tag", -1)])
def test_tampered_token_is_refused(_case, index):
    token = _flip_byte(encrypt(ID_NUMBER), index)

    with pytest.raises(DecryptionError, match="密文被篡改或密钥不匹配"):
        decrypt(token)


def test_token_relabelled_to_another_known_key_is_refused():
    token = encrypt(ID_NUMBER).replace("test1:", "test2:", 1)

    with pytest.raises(DecryptionError, match="密文被篡改或密钥不匹配"):
        decrypt(token)


def test_token_under_an_unknown_key_id_is_refused():
    token = encrypt(ID_NUMBER).replace("test1:", "retired:", 1)

    with pytest.raises(UnknownKeyError, match="retired"):
        decrypt(token)


@pytest.mark.parametrize(
    ("_case", "token"),
    [
        ("no_separator", "test1"),
        ("no_key_id", ":abcd"),
        ("empty_payload", "test1:"),
        ("not_base64", "test1:!!!!"),
        ("too_short", "test1:AAAA"),
    ],
)
def test_malformed_token_is_refused(_case, token):
    with pytest.raises(DecryptionError, match="受保护数据格式错误"):
        decrypt(token)


def test_token_under_a_non_current_key_still_decrypts():
    with override_settings(FIELD_ENCRYPTION_CURRENT_KEY_ID="test2"):
        token = encrypt(ID_NUMBER)
        assert current_key_id() == "test2"

    assert current_key_id() == "test1"
    assert key_id_of(token) == "test2"
    assert decrypt(token) == ID_NUMBER


def test_reencrypt_moves_an_old_token_to_the_current_key():
    with override_settings(FIELD_ENCRYPTION_CURRENT_KEY_ID="test2"):
        old_token = encrypt(ID_NUMBER)

    new_token = reencrypt(old_token)

    assert key_id_of(new_token) == "test1"
    assert decrypt(new_token) == ID_NUMBER


def test_reencrypt_leaves_a_current_token_unchanged():
    token = encrypt(ID_NUMBER)

    assert reencrypt(token) == token


def test_token_of_a_removed_key_cannot_be_read():
    with override_settings(FIELD_ENCRYPTION_CURRENT_KEY_ID="test2"):
        token = encrypt(ID_NUMBER)
    keys_without_test2 = {"test1": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}

    with (
        override_settings(FIELD_ENCRYPTION_KEYS=keys_without_test2),
        pytest.raises(UnknownKeyError),
    ):
        decrypt(token)


@pytest.mark.parametrize(
    ("_case", "overrides", "message"),
    [
        ("no_keys", {"FIELD_ENCRYPTION_KEYS": {}}, "FIELD_ENCRYPTION_KEYS is empty"),
        (
            "current_key_not_listed",
            {"FIELD_ENCRYPTION_CURRENT_KEY_ID": "test9"},
            "'test9' is not in FIELD_ENCRYPTION_KEYS",
        ),
        (
            "no_current_key",
            {"FIELD_ENCRYPTION_CURRENT_KEY_ID": ""},
            "'' is not in FIELD_ENCRYPTION_KEYS",
        ),
        (
            "key_too_short",
            {"FIELD_ENCRYPTION_KEYS": {"test1": base64.b64encode(b"0" * 16).decode()}},
            "must decode to 32 bytes",
        ),
        ("key_not_base64", {"FIELD_ENCRYPTION_KEYS": {"test1": "***"}}, "not valid base64"),
        (
            "key_id_with_separator",
            {
                "FIELD_ENCRYPTION_KEYS": {"a:b": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
                "FIELD_ENCRYPTION_CURRENT_KEY_ID": "a:b",
            },
            "Invalid key id",
        ),
    ],
)
def test_encryption_refuses_to_run_without_proper_keys(_case, overrides, message):
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
        encrypt(ID_NUMBER)


def test_blind_index_is_64_hex_and_pinned_for_the_test_key():
    """Stored hashes depend on this exact algorithm: changing it orphans every Person row."""
    assert blind_index(ID_NUMBER, purpose="id_number") == (
        "189baac5cfdd80cccd471a05dcd7d600e16175714fc0c16e9fb824acf16eb0f7"
    )


def test_blind_index_is_stable():
    assert blind_index(ID_NUMBER, purpose="id_number") == blind_index(
        ID_NUMBER, purpose="id_number"
    )
    assert id_number_blind_index(ID_NUMBER) == blind_index(ID_NUMBER, purpose="id_number")


def test_blind_index_differs_per_purpose_and_per_value():
    hashes = {
        blind_index(ID_NUMBER, purpose="id_number"),
        blind_index(ID_NUMBER, purpose="bank_account"),
        blind_index("360426199101010071", purpose="id_number"),
    }

    assert len(hashes) == 3


def test_blind_index_depends_on_the_key():
    before = blind_index(ID_NUMBER, purpose="id_number")

    with override_settings(BLIND_INDEX_KEY=OTHER_32_BYTE_KEY):
        after = blind_index(ID_NUMBER, purpose="id_number")

    assert after != before
    assert blind_index(ID_NUMBER, purpose="id_number") == before


@pytest.mark.parametrize(
    ("_case", "key", "message"),
    [
        ("missing", "", "BLIND_INDEX_KEY is empty"),
        ("too_short", base64.b64encode(b"short").decode(), "at least 32 bytes"),
    ],
)
def test_blind_index_refuses_to_run_without_a_proper_key(_case, key, message):
    with override_settings(BLIND_INDEX_KEY=key), pytest.raises(ImproperlyConfigured, match=message):
        blind_index(ID_NUMBER, purpose="id_number")


def test_blind_index_needs_a_purpose():
    with pytest.raises(ValueError, match="purpose"):
        blind_index(ID_NUMBER, purpose="")

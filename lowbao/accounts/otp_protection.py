"""How the second factor's secrets rest in the database (quality.md S3, S4).

- TOTP secrets: 20 random bytes, hex-encoded as django-otp expects, stored only as an AES-GCM
  token of ``lowbao.people.protection`` (``EncryptedTOTPDevice.key_ciphertext``).
- Recovery codes: stored only as a keyed hash, never as the code. django-otp's
  ``StaticToken.token`` column (16 characters) holds ``recovery_code_digest(user_id, code)``:
  the first 16 hex digits (64 bits) of an HMAC-SHA256 under the blind-index key with its own
  purpose label, over the user id and the code. A typed code is hashed the same way and looked up,
  so django-otp's ``StaticDevice.verify_token`` (one-time use, back-off) works unchanged, and a
  digest read from the table is no code: typed in, it would be hashed again. The user id makes
  equal codes of two users hash differently. 64 bits are ample against collisions among ten
  codes; guessing needs the key, which is not in the database.

Changing ``BLIND_INDEX_KEY`` (see ``rotate_field_keys``) voids the stored recovery codes: their
users regenerate them on the two-step verification page.

The data migration ``accounts.0004_protect_second_factor_secrets`` uses these functions too, so
they take plain values (no models).
"""

import re

from django_otp.util import random_hex

from lowbao.people.protection import blind_index, encrypt

PURPOSE_RECOVERY_CODE = "recovery_code"
RECOVERY_CODE_DIGEST_LENGTH = 16  # django-otp's StaticToken.token is a CharField(max_length=16)
TOTP_SECRET_BYTES = 20
# A recovery code as django-otp makes it (StaticToken.random_token): 8 base32 letters.
PLAIN_RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")


def new_totp_key_ciphertext() -> str:
    """A fresh TOTP secret, encrypted under the current field key."""
    return encrypt(random_hex(TOTP_SECRET_BYTES))


def recovery_code_digest(user_id: int, code: str) -> str:
    """What ``StaticToken.token`` holds for ``code`` (normalised: lower case, no separators)."""
    return blind_index(f"{user_id}:{code}", purpose=PURPOSE_RECOVERY_CODE)[
        :RECOVERY_CODE_DIGEST_LENGTH
    ]

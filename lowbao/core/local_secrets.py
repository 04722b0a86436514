"""Secrets for the embedded default only: generated once into ``var/`` (never committed).

Production reads every secret from the environment (``lowbao/settings/production.py``).
"""

import base64
import json
import os
import secrets
from pathlib import Path


def load_or_create_local_secrets(path: Path) -> dict[str, str]:
    """Return the local secrets, creating the file with fresh random values on first use."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "secret_key": secrets.token_urlsafe(64),
        "field_key_id": "local1",
        "field_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "blind_index_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle)
    return values

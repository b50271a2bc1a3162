"""The token that guards the embedded services' HTTP APIs. Never a default: generated on first
start with owner-only permissions, or given by CREDITSTREAM_API_TOKEN (compose secrets)."""
from __future__ import annotations

import hmac
import os
import secrets

from creditstream.settings import Settings


def service_token(settings: Settings) -> str:
    if settings.api_token:
        return settings.api_token
    path = settings.secrets_dir / "service.token"
    if not path.exists():
        settings.secrets_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.secrets_dir, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def token_matches(presented: str | None, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())

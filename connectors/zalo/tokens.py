"""The OA's access and refresh tokens, kept in a small JSON file.

A Zalo refresh token works once (docs/channels/zalo.md): the pair a refresh returns is the only
one left, so it is written atomically (a temporary file in the same directory, fsync, rename)
before it is used. A crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.contract import ConfigError

TOKEN_FILE_MODE = 0o600  # the tokens let anyone write to the OA's followers


class TokenFileError(ConfigError):
    """The token file exists but cannot be read as a token pair: a configuration problem, which
    stops ``bot serve`` at start and is logged (the file ignored) when met before a refresh."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: float | None = None  # epoch seconds, when the platform said so


class TokenFile:
    """Loads and atomically replaces the token pair stored at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenPair | None:
        """The stored pair, or None when there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenFileError(f"{self.path}: cannot read: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TokenFileError(f"{self.path}: not JSON") from exc
        if not isinstance(data, dict):
            raise TokenFileError(f"{self.path}: expected a JSON object")
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise TokenFileError(f"{self.path}: access_token and refresh_token must be non-empty strings")
        expires_at = data.get("expires_at")
        return TokenPair(access, refresh, float(expires_at) if isinstance(expires_at, int | float) else None)

    def save(self, pair: TokenPair) -> None:
        """Replaces the file in one step; on any failure the previous file is left as it was."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        content = json.dumps({"access_token": pair.access_token, "refresh_token": pair.refresh_token,
                              "expires_at": pair.expires_at, "saved_at": time.time()}, indent=2)
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), TOKEN_FILE_MODE)
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Makes the rename itself durable (POSIX); some file systems refuse, which is harmless."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)

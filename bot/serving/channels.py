"""Which channels run: connector classes loaded from ``credentials.yml``.

One entry per connector class, by dotted path, as Rasa loads its own channels. Values may name
environment variables (``${TELEGRAM_TOKEN}``, with an optional default:
``${TELEGRAM_BASE_URL:-https://api.telegram.org/bot}``); a channel whose required values are empty
stays off, with the reason logged; a malformed value stops ``bot serve`` with the setting named.
Connectors read their entry with ``bot.contract.parse_settings``, whose messages name the setting;
the file and the entry are put in front of them here.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.contract import ConfigError, Connector, NotConfigured

logger = logging.getLogger(__name__)

_ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def expand(value: Any, env: Mapping[str, str]) -> Any:
    """Replaces ``${NAME}`` and ``${NAME:-default}`` in strings, recursively."""
    if isinstance(value, str):
        return _ENV.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: expand(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env) for v in value]
    return value


def load_connectors(path: Path, env: Mapping[str, str] | None = None) -> dict[str, Connector]:
    """The configured connectors by channel name; unconfigured ones are left out (and logged)."""
    env = os.environ if env is None else env
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(entries, dict):
        raise ConfigError(f"{path}: expected a mapping of connector class -> settings")
    connectors: dict[str, Connector] = {}
    for dotted, settings in entries.items():
        module_name, _, class_name = str(dotted).rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigError(f"{path}: {dotted}: no such connector class") from exc
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise ConfigError(f"{path}: {dotted}: not a bot.contract.Connector")
        try:
            connector = cls.from_credentials(expand(settings or {}, env))
        except NotConfigured as exc:
            logger.info("channel %s is off: %s: %s", cls.channel, dotted, exc)
            continue
        except ConfigError as exc:  # the connector names the setting; the entry is named here, once
            raise ConfigError(f"{path}: {dotted}: {exc}") from exc
        connectors[cls.channel] = connector
    return connectors

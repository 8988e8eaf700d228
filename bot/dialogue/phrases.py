"""The fixed phrases of the assistant (``flows/phrases.yml``), read once per process."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import yaml


@lru_cache(maxsize=4)
def load_phrases(path: Path) -> Mapping[str, str]:
    """The phrase book at ``path``, keyed by phrase id; read-only, shared by every caller."""
    return MappingProxyType(dict(yaml.safe_load(path.read_text(encoding="utf-8"))["phrases"]))

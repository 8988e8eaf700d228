"""Where the project's files are: resolved once per process and passed down.

The root is, in order: ``--root``, the ``BOT_ROOT`` environment variable, the current directory.
Everything else is a fixed place under it, except the catalogue, which ``--procedures`` may move
(to try a province's own files, say, without touching the shipped ones).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT_VARIABLE = "BOT_ROOT"


@dataclass(frozen=True)
class Project:
    root: Path
    procedures: Path

    @classmethod
    def locate(cls, root: Path | None = None, procedures: Path | None = None,
               env: Mapping[str, str] | None = None) -> Project:
        env = os.environ if env is None else env
        base = Path(root or env.get(ROOT_VARIABLE) or ".").resolve()
        return cls(base, (base / "procedures") if procedures is None else procedures.resolve())

    @property
    def nlu_data(self) -> Path:
        return self.root / "nlu_data"

    @property
    def generic_nlu(self) -> Path:
        return self.nlu_data / "generic.yml"

    @property
    def templates(self) -> Path:
        return self.nlu_data / "templates.yml"

    @property
    def generated_nlu(self) -> Path:
        return self.nlu_data / "generated" / "procedures.yml"

    @property
    def flows(self) -> Path:
        return self.root / "flows"

    @property
    def domain(self) -> Path:
        return self.flows / "domain.yml"

    @property
    def responses(self) -> Path:
        return self.flows / "responses.yml"

    @property
    def rules(self) -> Path:
        return self.flows / "rules.yml"

    @property
    def phrases(self) -> Path:
        return self.flows / "phrases.yml"

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def stock_config(self) -> Path:
        return self.root / "bench" / "config_stock.yml"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def cache(self) -> Path:
        """What the start of ``bot serve`` and ``bot chat`` keeps between runs (``bot.cache``)."""
        return self.root / "var" / "cache"

    @property
    def database(self) -> Path:
        return self.root / "var" / "bot.db"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.yml"

    @property
    def heldout_sets(self) -> list[Path]:
        return sorted((self.root / "tests" / "data").glob("nlu_heldout*.yml"))

"""Whether a model was trained from the present inputs: a hash of what training reads.

Kept apart from ``bot.build.training`` so that checking a model (every ``bot serve`` start, the
test session) imports nothing of Rasa. Files are read into the digest by ``bot.cache.hash_files``,
as the start-up cache's fingerprint reads them (each kept its names and order: a model stamped
before still reads as current).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.cache import hash_files
from bot.project import Project

# What a trained model depends on besides the catalogue, relative to the project root. The
# generated files are left out: they follow from these.
MODEL_INPUTS = ("nlu_data/*.yml", "flows/responses.yml", "bot/nlu/*.py", "bot/nlu/*.yml",
                "bot/build/generate.py")


def fingerprint(project: Project, config: Path) -> str:
    """A hash of the catalogue, hand-written data, pipeline config and NLU code."""
    digest = hashlib.sha256()
    inputs = {p for pattern in MODEL_INPUTS for p in project.root.glob(pattern)}
    files = sorted(project.procedures.glob("*.yaml")) + sorted(inputs) + [config]
    hash_files(digest, ((str(path.relative_to(project.root) if path.is_relative_to(project.root) else path),
                         path) for path in files))
    return digest.hexdigest()


def stamp_file(model: Path) -> Path:
    """The file beside ``model`` holding the fingerprint of the inputs it was trained from."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".inputs")


def is_current(model: Path, project: Project, config: Path) -> bool:
    """True when ``model`` was trained from exactly the present inputs."""
    stamp = stamp_file(model)
    return (model.exists() and stamp.exists()
            and stamp.read_text().strip() == fingerprint(project, config))

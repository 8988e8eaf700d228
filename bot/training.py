"""Validate, generate, train: nothing is trained from an invalid catalogue."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.catalogue import load_catalogue
from bot.generate import Paths, generate

# What a trained model depends on, relative to the repository root. The generated files are left
# out: they follow from these.
MODEL_INPUTS = ("procedures/*.yaml", "nlu_data/*.yml", "flows/responses.yml", "bot/nlu/*.py",
                "bot/nlu/*.yml", "bot/generate.py")


def fingerprint(root: Path, config: Path) -> str:
    """A hash of the catalogue, hand-written data, pipeline config and NLU code."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in MODEL_INPUTS for p in root.glob(pattern)}) + [config]
    for path in files:
        digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _fingerprint_file(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".tar.gz") + ".inputs")


def is_current(model: Path, root: Path, config: Path) -> bool:
    """True when ``model`` was trained from exactly the present inputs."""
    stamp = _fingerprint_file(model)
    return model.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint(root, config)


def _prepare(root: Path) -> Paths:
    catalogue = load_catalogue(root / "procedures")  # raises CatalogueInvalid
    generate(catalogue, root)
    return Paths(root)


def _checked(model: str | None) -> Path:
    if model is None:
        raise RuntimeError("Rasa produced no model; see the messages above")
    return Path(model)


def train_nlu(root: Path, config: Path, output: Path, fixed_name: str | None = None) -> Path:
    """Trains only the NLU part (for evaluation); returns the model archive."""
    from rasa.model_training import train_nlu as rasa_train_nlu

    paths = _prepare(root)
    output.mkdir(parents=True, exist_ok=True)
    return _checked(rasa_train_nlu(config=str(config), nlu_data=str(root / "nlu_data"),
                                   output=str(output), fixed_model_name=fixed_name,
                                   domain=str(paths.domain)))


def train(root: Path, config: Path, output: Path, fixed_name: str | None = None) -> Path:
    """Trains the whole assistant (NLU and dialogue rules); returns the model archive."""
    from rasa.model_training import train as rasa_train

    paths = _prepare(root)
    output.mkdir(parents=True, exist_ok=True)
    stamp = fingerprint(root, config)
    result = rasa_train(domain=str(root / "flows"), config=str(config),
                        training_files=[str(root / "nlu_data"), str(paths.rules)],
                        output=str(output), fixed_model_name=fixed_name)
    model = _checked(result.model)
    _fingerprint_file(model).write_text(stamp + "\n")
    return model

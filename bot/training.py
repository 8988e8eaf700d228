"""Validate, generate, train: nothing is trained from an invalid catalogue."""

from __future__ import annotations

from pathlib import Path

from bot.catalogue import load_catalogue
from bot.generate import Paths, generate


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
    result = rasa_train(domain=str(root / "flows"), config=str(config),
                        training_files=[str(root / "nlu_data"), str(paths.rules)],
                        output=str(output), fixed_model_name=fixed_name)
    return _checked(result.model)

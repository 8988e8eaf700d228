"""Validate, generate, train: nothing is trained from an invalid catalogue."""

from __future__ import annotations

from pathlib import Path

from bot.catalogue import load_catalogue
from bot.generate import Paths, generate


def train_nlu(root: Path, config: Path, output: Path, fixed_name: str | None = None) -> Path:
    """Trains an NLU model from the catalogue under ``root``; returns the model archive."""
    from rasa.model_training import train_nlu as rasa_train_nlu

    catalogue = load_catalogue(root / "procedures")  # raises CatalogueInvalid
    paths = Paths(root)
    generate(catalogue, root)
    output.mkdir(parents=True, exist_ok=True)
    model = rasa_train_nlu(
        config=str(config),
        nlu_data=str(paths.generated_nlu.parent.parent),
        output=str(output),
        fixed_model_name=fixed_name,
        domain=str(paths.domain),
    )
    if model is None:
        raise RuntimeError("Rasa produced no model; see the messages above")
    return Path(model)

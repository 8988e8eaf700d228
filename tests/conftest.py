"""Shared fixtures: one model trained per test session from the repository's own data."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.paths import PROJECT

# Rasa's training cache is keyed on config and data, not on our components' code: a cached
# resource from an older tokenizer could be reused. Tests always train from scratch.
os.environ["RASA_MAX_CACHE_SIZE"] = "0"

MODEL_FIXTURES = {"full_model", "parse", "engine"}  # each trains the session's model when first used


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks ``model`` every test that needs the trained model, directly or through a fixture."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def event_loop_session():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def full_model(tmp_path_factory) -> Path:
    """The whole assistant, trained once per session; the NLU tests parse with its NLU part."""
    from bot.build.training import train
    from bot.cli.quiet import quiet

    quiet()
    return train(PROJECT, PROJECT.config, tmp_path_factory.mktemp("models"), "test-full")


@pytest.fixture(scope="session")
def parse(full_model, event_loop_session):
    from rasa.core.agent import Agent

    agent = Agent.load(str(full_model))
    return lambda text: event_loop_session.run_until_complete(agent.parse_message(text))


@pytest.fixture(scope="session")
def engine(full_model, tmp_path_factory):
    from bot.serving.engine import Engine

    return Engine.load(full_model, tmp_path_factory.mktemp("db") / "bot.db", PROJECT)

"""Shared fixtures: one model trained per test session from the repository's own data.

The model trains in a process of its own, started once the tests are collected
(``tests/session_model.py``); the tests that do not need it run first, meanwhile, and those that
do wait for it. ``scripts/test.sh`` runs two pytest-xdist workers that share that one training.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.serving.lean import defer_tensorflow
from tests.paths import PROJECT
from tests.session_model import SessionModel

# Before any test module imports Rasa: TensorFlow (and the other modules serving never needs)
# load only when a test uses them, as in `bot serve` and `bot train`; collecting the tests
# imported TensorFlow in every xdist worker through bot.nlu.entities' Rasa imports.
defer_tensorflow()

# Rasa's training cache is keyed on config and data, not on our components' code: a cached
# resource from an older tokenizer could be reused. Tests always train from scratch.
os.environ["RASA_MAX_CACHE_SIZE"] = "0"

MODEL_FIXTURES = {"full_model", "parse", "engine"}  # each needs the session's model
# Modules whose module-scoped fixture starts processes (Kannel) or loads the model (`bot chat`):
# one worker runs all of a module's tests, so that happens once (pytest-xdist's --dist loadgroup).
ONE_WORKER = ("tests/connectors/kannel/test_kannel_real.py", "tests/cli/test_chat_json.py")


SCALEOUT = "scaleout"  # the xdist group of the tests on PostgreSQL and Redis


def _order(item: pytest.Item) -> tuple[int, bool]:
    """Tests without the model first (they run while it trains), then the scale-out group (its
    load test, the longest of those that need the model, comes last in the group and starts as
    soon as the model exists), then the other tests that need the model; the slow ones first in
    the other parts so that no long test is left for the end of the run."""
    model = item.get_closest_marker("model") is not None
    if any(mark.args == (SCALEOUT,) for mark in item.iter_markers("xdist_group")):
        return 1, model
    return 2 if model else 0, item.get_closest_marker("slow") is None


def pytest_configure(config: pytest.Config) -> None:
    """pytest-xdist's loadgroup sends the largest groups first unless told not to; here the order
    of ``_order`` decides, or a group of tests that need the model (``bot chat``, Kannel) would
    hold a worker idle from the start while the model trains."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks ``model`` every test that needs the trained model, directly or through a fixture;
    runs them last. First of the hooks: pytest-xdist's own, on each worker, reads the
    ``xdist_group`` marks set here into the node ids (without ``tryfirst`` it ran before, and the
    groups split: PostgreSQL and Redis started on both workers)."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
        if item.nodeid.split("::")[0] in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
        elif item.get_closest_marker("scaleout") is not None:
            # one worker starts PostgreSQL and Redis once (tests/serving/scaleout_services.py)
            item.add_marker(pytest.mark.xdist_group(SCALEOUT))
    items.sort(key=_order)


def _session_model(config: pytest.Config) -> SessionModel:
    """The one training of the session: under pytest-xdist each worker's temporary folder is in
    the session's, which all workers share."""
    if not hasattr(config, "_session_model"):
        base = config._tmp_path_factory.getbasetemp()
        shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        config._session_model = SessionModel(shared)
    return config._session_model


def _whole_suite(config: pytest.Config) -> bool:
    """The controller of a pytest-xdist run of every test (no paths, markers or keywords given):
    such a run always needs the model."""
    return (config.pluginmanager.hasplugin("dsession") and not os.environ.get("PYTEST_XDIST_WORKER")
            and config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and not config.option.markexpr and not config.option.keyword
            and not config.option.collectonly)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The whole suite on xdist workers: the controller starts the training at once, before the
    workers have collected (importing every test module takes each of them a while)."""
    if _whole_suite(session.config):
        _session_model(session.config).start()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Starts the training as soon as a selected test needs the model (a no-op when the
    controller or another worker has started it)."""
    if session.config.option.collectonly:
        return
    if any(item.get_closest_marker("model") for item in session.items):
        _session_model(session.config).start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "_session_model"):
        session.config._session_model.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


@pytest.fixture(scope="session")
def event_loop_session():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def full_model(pytestconfig) -> Path:
    """The whole assistant, trained once per session; the NLU tests parse with its NLU part."""
    from bot.cli.quiet import quiet

    quiet()
    return _session_model(pytestconfig).wait()


@pytest.fixture(scope="session")
def parse(engine, event_loop_session):
    """The NLU of the engine's agent: the model is read once per worker (parsing leaves no trace
    in the engine's conversations)."""
    return lambda text: event_loop_session.run_until_complete(engine.agent.parse_message(text))


@pytest.fixture(scope="session")
def engine(full_model, tmp_path_factory):
    from bot.serving.engine import Engine

    return Engine.load(full_model, tmp_path_factory.mktemp("db") / "bot.db", PROJECT)

"""The assistant's engine: a Rasa agent with in-process actions and a SQL tracker store.

Rasa 3.6 open source runs custom actions only through an action endpoint; this endpoint hands
the request to rasa_sdk's executor in the same process, so a stopped action server can never
make the bot send a wrong reply. Rasa's ``RemoteAction`` needs only ``url``, ``kwargs`` and an
awaitable ``request`` of the endpoint it is given (rasa/core/actions/action.py, 3.6.21).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.contract import Button, Reply
from bot.dialogue.phrases import load_phrases
from bot.dialogue.reminding import ReminderDesk, desk_bound
from bot.project import Project
from bot.serving.reminders import Reminders
from bot.serving.store import Store
from bot.text import clean

MAX_INPUT_CHARS = 1000  # longer messages are cut: no citizen question needs more


class InProcessActionEndpoint:
    """Looks like ``rasa.utils.endpoints.EndpointConfig`` to ``RemoteAction``; runs rasa_sdk."""

    def __init__(self, module: str = "bot.dialogue.actions", desk: ReminderDesk | None = None) -> None:
        from rasa_sdk.executor import ActionExecutor

        self.desk = desk  # the reminders this engine's actions schedule, list and cancel
        self.url = "in-process"
        self.kwargs: dict[str, Any] = {}
        self.executor = ActionExecutor()
        self.executor.register_package(module)

    async def request(self, method: str = "post", subpath: str | None = None, **kwargs: Any) -> Any:
        from rasa.utils.endpoints import ClientResponseError
        from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

        call = kwargs["json"]
        try:
            with desk_bound(self.desk):
                return await self.executor.run(call)
        except ActionExecutionRejection as exc:
            body = json.dumps({"action_name": exc.action_name, "error": exc.message})
            raise ClientResponseError(400, "rejected", body) from exc
        except ActionNotFoundException as exc:
            raise ClientResponseError(404, "not found", str(exc)) from exc


def sqlite_tracker_store(path: Path) -> Any:
    """Conversations in a SQLite file: they survive a restart, even in the middle of a form."""
    from rasa.core.tracker_store import SQLTrackerStore

    path.parent.mkdir(parents=True, exist_ok=True)
    return SQLTrackerStore(dialect="sqlite", db=str(path))


@dataclass
class Engine:
    """Loads a model once; turns one citizen message into channel-neutral replies."""

    agent: Any
    phrases: Mapping[str, str]
    reminders: Reminders | None = None  # reminders and opt-outs, in the same database

    @classmethod
    def load(cls, model: Path, database: Path, project: Project,
             clock: Callable[[], float] = time.time) -> Engine:
        from rasa.core.agent import Agent

        from bot.dialogue import actions

        actions.install(project)
        reminders = Reminders(Store.sqlite(database), clock)
        return cls(Agent.load(str(model), tracker_store=sqlite_tracker_store(database),
                              action_endpoint=InProcessActionEndpoint(desk=reminders)),
                   load_phrases(project.phrases), reminders)

    async def handle(self, sender: str, text: str, channel: str | None = None) -> list[Reply]:
        """The replies to one message; ``channel`` reaches the actions as message metadata."""
        from rasa.core.channels.channel import UserMessage

        text = clean(text)[:MAX_INPUT_CHARS]
        if not any(ch.isalnum() for ch in text):  # empty, emoji only, punctuation only
            text = "/nlu_fallback"
        message = UserMessage(text, sender_id=sender, input_channel=channel,
                              metadata={"channel": channel} if channel else None)
        messages = await self.agent.handle_message(message) or []
        return [Reply(m.get("text") or "", tuple(Button(b["title"], b["payload"])
                                                  for b in m.get("buttons") or []))
                for m in messages]

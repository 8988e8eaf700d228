"""Rasa's channel interface without Rasa's built-in channels.

Our connectors need ``InputChannel``, ``UserMessage`` and ``OutputChannel``, which Rasa defines in
``rasa.core.channels.channel``. Importing that module first runs the package's ``__init__``,
which imports every built-in channel (aiogram for Telegram, Slack, Mattermost, Socket.IO, Webex,
Hangouts, Twilio, the console's prompt toolkit...): about a second of the start and memory for
nothing (``docs/benchmarks.md``, "Cold start, session 8"). Rasa's own modules import the same
four names from the package (``from rasa.core.channels import UserMessage``).

``use_channel_interface_only`` puts the package in ``sys.modules`` without running its
``__init__``: its submodules import as usual, it holds the names ``__init__`` takes from
``channel``, and the first read of any other name (``BUILTIN_CHANNELS``, ``SlackInput``...) runs
Rasa's ``__init__`` then, so whatever needs the built-in channels still gets them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

PACKAGE = "rasa.core.channels"
INTERFACE = "rasa.core.channels.channel"
# What Rasa 3.6.21's rasa/core/channels/__init__.py imports from its channel module.
INTERFACE_NAMES = ("InputChannel", "OutputChannel", "UserMessage", "CollectingOutputChannel")

_installing = threading.RLock()


class ChannelPackage(ModuleType):
    """``rasa.core.channels`` before its ``__init__`` has run (see the module's docstring)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        with _installing:
            if type(self) is ChannelPackage:
                if importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:  # a submodule
                    return importlib.import_module(f"{PACKAGE}.{name}")
                self.__class__ = ModuleType  # from here on the real package
                self.__spec__.loader.exec_module(self)
        return ModuleType.__getattribute__(self, name)


def use_channel_interface_only() -> None:
    """Makes ``rasa.core.channels`` importable without its built-in channels; nothing to do when
    it is imported already. Idempotent."""
    with _installing:
        if PACKAGE in sys.modules:
            return
        importlib.import_module(PACKAGE.rpartition(".")[0])
        spec = importlib.util.find_spec(PACKAGE)
        package = importlib.util.module_from_spec(spec)
        package.__class__ = ChannelPackage
        sys.modules[PACKAGE] = package
        try:
            interface = importlib.import_module(INTERFACE)
        except BaseException:
            sys.modules.pop(PACKAGE, None)
            raise
        for name in INTERFACE_NAMES:
            setattr(package, name, getattr(interface, name))
        setattr(sys.modules[PACKAGE.rpartition(".")[0]], PACKAGE.rpartition(".")[2], package)

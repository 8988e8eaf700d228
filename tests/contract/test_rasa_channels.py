"""Rasa's channel interface without its built-in channels (bot/contract/rasa_channels.py): a
connector module loads without aiogram, Slack, Socket.IO..., and whatever asks Rasa's channel
package for a built-in channel still gets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.paths import REPO

BUILT_IN = ("aiogram", "slack_sdk", "socketio", "questionary", "rasa.core.channels.telegram")

CHILD = """
import json, sys
BUILT_IN = %r
import connectors.telegram.connector
from bot.contract import Connector
from rasa.core.channels import InputChannel, OutputChannel, UserMessage, CollectingOutputChannel
from rasa.core.channels.channel import InputChannel as defined
import rasa.core.channels.rest
state = {"subclass": issubclass(connectors.telegram.connector.TelegramConnector, defined),
         "same": InputChannel is defined and Connector.__mro__[1:].count(defined) == 1,
         "loaded": [m for m in BUILT_IN if m in sys.modules],
         "rest": rasa.core.channels.rest.RestInput.name()}
import rasa.core.channels
state["builtin"] = sorted(rasa.core.channels.BUILTIN_CHANNELS)
state["after"] = [m for m in BUILT_IN if m in sys.modules]
print(json.dumps(state))
"""


def test_connectors_load_without_rasas_built_in_channels_which_stay_available():
    env = dict(os.environ, PYTHONPATH=str(REPO), RASA_TELEMETRY_ENABLED="false")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD % (BUILT_IN,)], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120, check=True)
    state = json.loads(done.stdout.splitlines()[-1])
    assert state["subclass"] and state["same"]
    assert state["loaded"] == []  # none of Rasa's built-in channels imported for our connectors
    assert state["rest"] == "rest"  # a submodule of the package imports as usual
    assert {"telegram", "slack", "socketio", "rest"} <= set(state["builtin"])  # Rasa's list, on demand
    assert state["after"] == list(BUILT_IN)

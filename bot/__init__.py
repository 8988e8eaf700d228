"""Vietnamese administrative-procedure assistant.

The packages, from the top layer down (each may import only the ones below it; a test runs
import-linter over ``pyproject.toml``'s ``[tool.importlinter]`` contracts):

- ``cli``: the ``bot`` command, one module per command group.
- ``serving``: the engine (Rasa agent), the inbox and outbox worker, the web server, the store.
- ``build``: the catalogue turned into Rasa training data, training, evaluation.
- ``dialogue``: what the assistant says (answers, directions, phrases, the Rasa actions).
- ``render``: channel-neutral replies shaped for each channel.
- ``catalogue``, ``nlu``, ``address``: the facts, reading Vietnamese, the administrative units.
- ``contract``: what connectors (``connectors/``) may import: the connector interface, replies,
  send failures, platform limits, log redaction.
- ``text``, ``project``, ``errors``: folding, where the files are, the root exception.
"""

__version__ = "0.1.0"

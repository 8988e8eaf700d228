"""The running assistant: a message in, replies out, nothing lost.

``engine`` wraps the Rasa agent; ``conversation`` adds SMS paging; ``worker`` answers the inbox
and sends the outbox, claiming each conversation in the database so that several processes can
share it; ``store`` keeps both in SQL; ``database`` says which database (``DATABASE_URL``, else
the SQLite file) and which lock store (``REDIS_URL``); ``reminders`` stores deadline reminders and
opt-outs and queues due reminders; ``journal`` records each turn's outcome for ``report`` (and
``report_html``); ``retention`` deletes citizen text older than ``BOT_RETENTION_DAYS``;
``subscriptions`` handles STOP/BAT DAU before NLU; ``ratings``
offers a rating after an answer and stores the reply that rates it, also before NLU;
``channels`` loads the connectors from ``credentials.yml``; ``server`` mounts their webhooks;
``intake`` stores the webhooks arriving together in one durable commit before they are answered.

May import: ``bot.dialogue``, ``bot.render``, ``bot.contract`` and the layers below; never
``connectors`` (they are loaded by dotted path from ``credentials.yml``).
"""

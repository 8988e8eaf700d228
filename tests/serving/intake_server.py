"""The web process of ``bot serve --workers N`` on its own, for the intake's crash test: the real
webhook route (Telegram) and intake on a SQLite file, without a model or answering processes.

    python -m tests.serving.intake_server DB PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cli.serve import web_accept
from bot.serving.server import LISTEN_BACKLOG, build_web
from bot.serving.store import Store
from connectors.telegram import TelegramConnector
from tests.connectors.harness import LOOPBACK
from tests.serve_process import SECRET, TOKEN


def main(db: str, port: str) -> None:
    store = Store.sqlite(Path(db))
    app = build_web({"telegram": TelegramConnector(TOKEN, SECRET)}, web_accept(store, []), "intake")
    app.run(host=LOOPBACK, port=int(port), workers=1, access_log=False, motd=False, backlog=LISTEN_BACKLOG)


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""The ``bot`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import __version__
from bot.catalogue import CatalogueInvalid, load_catalogue


def _validate(args: argparse.Namespace) -> int:
    try:
        catalogue = load_catalogue(args.procedures)
    except CatalogueInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"Có {len(exc.errors)} lỗi. Sửa các lỗi trên rồi chạy lại: bot validate",
              file=sys.stderr)
        return 1
    print(f"Hợp lệ: {len(catalogue)} thủ tục ({', '.join(p.id for p in catalogue)}).")
    return 0


def _train(args: argparse.Namespace) -> int:
    from bot.quiet import quiet

    quiet()
    print("Kiểm tra danh mục thủ tục...", flush=True)
    if _validate(args) != 0:
        print("Không huấn luyện khi danh mục còn lỗi.", file=sys.stderr)
        return 1
    _train_full(args)
    return 0


def _train_full(args: argparse.Namespace) -> Path:
    from bot.training import train

    print("Sinh dữ liệu và huấn luyện mô hình (khoảng 1 phút)...", flush=True)
    model = train(Path("."), args.config, args.out, args.name)
    print(f"Xong: {model}", flush=True)
    return model


def _current_model(args: argparse.Namespace, retrain: bool = False) -> Path | None:
    """The model, retrained first when the catalogue, data or NLU code changed since; None if the
    catalogue is invalid (errors printed)."""
    from bot.training import is_current

    model = args.out / f"{args.name}.tar.gz"
    if not retrain and is_current(model, Path("."), args.config):
        return model
    if model.exists() and not retrain:
        print("Danh mục hoặc dữ liệu đã thay đổi từ lần huấn luyện trước: huấn luyện lại.", flush=True)
    if _validate(args) != 0:
        return None
    return _train_full(args)


def _chat(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bot.conversation import Conversation
    from bot.engine import Engine
    from bot.quiet import quiet
    from bot.store import Store

    quiet()
    model = _current_model(args, retrain=args.retrain)
    if model is None:
        return 1
    conversation = Conversation(Engine.load(model, args.db), Store.sqlite(args.db), args.channel)

    async def loop() -> None:
        if not args.json:
            print(f"Kênh: {args.channel}. Gõ câu hỏi (Ctrl-D để thoát).", flush=True)
        for line in sys.stdin:
            if args.json:
                try:
                    request = json.loads(line)
                    sender, text = str(request["sender"]), str(request.get("text") or "")
                except (ValueError, KeyError, TypeError, AttributeError):
                    print(json.dumps({"error": "expected {\"sender\": ..., \"text\": ...}"}),
                          flush=True)
                    continue
                replies = await conversation.handle(sender, text)
                print(json.dumps({"sender": sender, "replies": [
                    {"text": r.text, "buttons": [{"title": t, "payload": p} for t, p in r.buttons]}
                    for r in replies]}, ensure_ascii=False), flush=True)
            else:
                for reply in await conversation.handle(args.sender, line):
                    print(f"bot> {reply.text}")
                    for index, (title, _) in enumerate(reply.buttons, start=1):
                        print(f"     [{index}] {title}")
                print(flush=True)

    asyncio.run(loop())
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging

    from bot import redact
    from bot.engine import Engine
    from bot.quiet import quiet
    from bot.server import ConfigError, build_app, load_connectors
    from bot.store import Store

    quiet()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        connectors = load_connectors(args.credentials)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    redact.install(secret for c in connectors.values() for secret in c.secrets())
    if not connectors:
        print(f"{args.credentials}: no channel is configured; see README.md, 'Connecting the channels'.",
              file=sys.stderr)
    model = _current_model(args)
    if model is None:
        return 1
    app = build_app(Engine.load(model, args.db), Store.sqlite(args.db), connectors)
    print(f"Serving {', '.join(sorted(connectors)) or 'no channel'} on http://{args.host}:{args.port}",
          flush=True)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
    return 0


def _outbox(args: argparse.Namespace) -> int:
    from bot.redact import mask_numbers
    from bot.store import Store

    if not args.db.exists():
        print(f"{args.db}: no database yet (bot serve creates it)", file=sys.stderr)
        return 1
    store = Store.sqlite(args.db)
    counts = store.outbound_counts()
    print("outbox: " + (", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "empty"))
    for outbound_id, channel, recipient, reason, attempts in store.failed_outbound(args.failed):
        print(f"  failed #{outbound_id} {channel} to {mask_numbers(recipient)} after {attempts} "
              f"tries: {reason}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from bot.evaluate import load_agent, load_examples, overlap, report, score, training_texts
    from bot.quiet import quiet
    from bot.training import train_nlu

    quiet()
    tests = args.test or sorted(Path("tests/data").glob("nlu_heldout*.yml"))
    runs = [("ours (config.yml)", args.config, "nlu-ours")]
    if args.stock:
        runs.append(("rasa stock (DIET)", Path("bench/config_stock.yml"), "nlu-stock"))
    agents = []
    for label, config, name in runs:
        print(f"Training {label}...", flush=True)
        agents.append((label, load_agent(train_nlu(Path("."), config, args.out, name))))
    trained = training_texts(Path("nlu_data"))
    for test in tests:
        examples = load_examples(test)
        results = [score(agent, examples, label) for label, agent in agents]
        print(report(results, test, overlap(examples, trained), len(examples)), end="\n\n")
        if args.show_misses:
            for text, expected, predicted in results[0].misses:
                print(f"  MISS {expected:>16} -> {predicted:<16} {text}")
            print()
    return 0


def _model_options(command: argparse.ArgumentParser) -> None:
    """Where the catalogue, the pipeline and the trained model are."""
    command.add_argument("--procedures", type=Path, default=Path("procedures"))
    command.add_argument("--config", type=Path, default=Path("config.yml"))
    command.add_argument("--out", type=Path, default=Path("models"))
    command.add_argument("--name", default="current")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"bot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check procedures/*.yaml against the schema")
    validate.add_argument("--procedures", type=Path, default=Path("procedures"))
    validate.set_defaults(run=_validate)

    train = commands.add_parser("train", help="validate, generate flows/ and nlu_data/, train")
    _model_options(train)
    train.set_defaults(run=_train)

    chat = commands.add_parser("chat", help="talk to the assistant in the terminal")
    chat.add_argument("--channel", choices=("cli", "telegram", "zalo", "sms"), default="cli")
    chat.add_argument("--json", action="store_true",
                      help='read {"sender", "text"} lines from stdin, write one JSON line each')
    chat.add_argument("--sender", default="terminal")
    chat.add_argument("--db", type=Path, default=Path("var/bot.db"))
    _model_options(chat)
    chat.add_argument("--retrain", action="store_true")
    chat.set_defaults(run=_chat)

    serve = commands.add_parser("serve", help="run the webhooks of the configured channels")
    serve.add_argument("--credentials", type=Path, default=Path("credentials.yml"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5005)
    serve.add_argument("--db", type=Path, default=Path("var/bot.db"))
    _model_options(serve)
    serve.set_defaults(run=_serve)

    outbox = commands.add_parser("outbox", help="what the outbox holds; replies that failed for good")
    outbox.add_argument("--db", type=Path, default=Path("var/bot.db"))
    outbox.add_argument("--failed", type=int, default=20, help="how many failed replies to list")
    outbox.set_defaults(run=_outbox)

    evaluate = commands.add_parser("evaluate", help="intent accuracy and procedure F1, held out")
    evaluate.add_argument("--test", type=Path, action="append",
                          help="a held-out file; repeat for several (default: tests/data/nlu_heldout*.yml)")
    evaluate.add_argument("--config", type=Path, default=Path("config.yml"))
    evaluate.add_argument("--out", type=Path, default=Path("models"))
    evaluate.add_argument("--stock", action="store_true",
                          help="also train and score Rasa's stock pipeline (slow: DIET, 100 epochs)")
    evaluate.add_argument("--show-misses", action="store_true")
    evaluate.set_defaults(run=_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Load benchmark: ``bot serve`` and Rasa's own server under the same conversations, side by side.

Run from the repository root (a few minutes; both models are trained first when missing)::

    PYTHONPATH=. .venv/bin/python bench/load.py [--runs 3] [--train-timing] [--profile DIR]
    PYTHONPATH=. .venv/bin/python bench/load.py --train-only [--train-runs 3]

Our side: ``bot serve`` as a subprocess on a free 127.0.0.1 port, a fresh SQLite file, the
Telegram and Kannel channels switched on by their environment variables and pointed at the
recording fakes of ``tests/connectors/`` (Bot API and sendsms). Citizens post Telegram updates to
``/webhooks/telegram/webhook`` and Kannel MO requests to ``/webhooks/sms/mo``; a turn's latency
runs from the start of the inbound request to its first reply reaching the fake, the
acknowledgement time is the webhook's own HTTP answer. The scenarios post through
``bench/wire.py`` (one kept-alive connection per conversation, a fraction of httpx's CPU on the
cores the server shares); each run prints the acks of the conversations' first turns, sent at
once, apart from the later ones, and the harness's own CPU per turn.

Rasa's side: ``rasa run`` with the REST channel (the reply is the HTTP answer) on a model trained
with Rasa's stock pipeline and ``rasa init``'s default policies (``bench/config_stock.yml``,
fewer DIET epochs: inference cost does not depend on them) from the same ``nlu_data/`` and
``flows/``, and ``rasa run actions`` serving our custom actions (``bot.dialogue.actions``).

Conversations are built from the catalogue: a procedure's alias in a template of
``nlu_data/templates.yml``, then follow-ups of ``nlu_data/generic.yml`` (no procedure name, the
assistant keeps it), all without diacritics; half reach us by Telegram, half by SMS. The replies
each script gets are first recorded one conversation at a time; under load every conversation
must get exactly those, once each and in order.

The machine is usually shared: compare the ratios, measured in the same run, more than the
absolute figures. ``bench/burst.py`` covers one chat's burst of 200 updates on a stub engine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.connectors.harness import LOOPBACK, free_port  # noqa: E402
from tests.connectors.kannel.fake_kannel import FakeKannel, mo_query  # noqa: E402
from tests.connectors.telegram.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "7000000001:AAH-bench-token"
TELEGRAM_SECRET = "bench-secret"
KANNEL_SECRET = "bench-kannel-secret"
KANNEL_USER, KANNEL_PASSWORD = "bot", "botpw"
SHORT_CODE = "8088"
ASPECTS = ("ask_documents", "ask_fee", "ask_where", "ask_time", "ask_deadline", "ask_online", "ask_steps")
STOCK_EPOCHS = 2
TURN_TIMEOUT = 60.0  # seconds a citizen waits for a reply before typing the next message
DRAIN_SECONDS = 60.0  # after the last message, how long replies may still arrive (else lost)
FIRST_REPLY_TIMEOUT = 300.0  # seconds; with --workers the answering processes load the model
IDENTS = itertools.count(1)  # one sender per conversation, across scenarios and runs
CLEAN_ENV = ("TELEGRAM_", "ZALO_", "KANNEL_", "BOT_ADMIN_TOKEN")


def fold(text: str) -> str:
    from bot.text import fold as fold_text

    return fold_text(text)


def help_prefix() -> str:
    """The start of the fallback reply (``utter_help``), folded: a turn the assistant did not read."""
    responses = yaml.safe_load((ROOT / "flows" / "responses.yml").read_text(encoding="utf-8"))
    return fold(responses["responses"]["utter_help"][0]["text"]).lower()[:24]


# ---------------------------------------------------------------- conversations


@dataclass(frozen=True)
class Script:
    """One citizen's messages, in order, and the channel they write on."""

    channel: str  # "telegram" or "sms"
    turns: tuple[str, ...]


def _examples(path: Path) -> dict[str, list[str]]:
    """Rasa NLU examples by intent, leaving out those that name something (entity markup)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for block in data.get("nlu", []):
        if "intent" in block:
            lines = [line.strip()[2:] for line in block["examples"].splitlines()]
            found[block["intent"]] = [line for line in lines if line and "[" not in line]
    return found


def build_scripts(count: int, turns: int, root: Path = ROOT, seed: int = 2025) -> list[Script]:
    """``count`` conversations from the catalogue's aliases and the data's aspect phrasings."""
    aliases = []
    for path in sorted((root / "procedures").glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("aliases") and not data.get("draft"):
            aliases.append(list(data["aliases"]))
    templates = yaml.safe_load((root / "nlu_data" / "templates.yml").read_text(encoding="utf-8"))["templates"]
    follow_ups = _examples(root / "nlu_data" / "generic.yml")
    rng = random.Random(seed)
    scripts = []
    for index in range(count):
        names = rng.choice(aliases)
        aspects = rng.sample([a for a in ASPECTS if a in templates and follow_ups.get(a)], k=min(turns, 7))
        messages = [rng.choice(templates[aspects[0]]).format(p=rng.choice(names))]
        for turn in range(1, turns):
            aspect = aspects[turn % len(aspects)]
            messages.append(rng.choice(follow_ups[aspect]))
        scripts.append(Script("telegram" if index % 2 == 0 else "sms", tuple(fold(m) for m in messages)))
    return scripts


# ---------------------------------------------------------------- fakes that notify


Listener = Callable[[str, str, str, float], None]  # channel, recipient, text, monotonic time


class RecordingTelegram(FakeTelegram):
    """The Bot API fake; each accepted sendMessage is also handed to ``listener``."""

    def __init__(self, token: str, listener: Listener) -> None:
        super().__init__(token)
        self.listener = listener

    def _send_message(self, params: dict[str, Any]) -> tuple[int, str, bytes]:
        answer = super()._send_message(params)
        if answer[0] == 200:
            self.listener("telegram", str(params["chat_id"]), str(params.get("text") or ""), time.monotonic())
        return answer


class RecordingKannel(FakeKannel):
    """Kannel's sendsms fake; each accepted SMS part is also handed to ``listener``."""

    def __init__(self, listener: Listener) -> None:
        super().__init__(KANNEL_USER, KANNEL_PASSWORD)
        self.listener = listener

    dlr_failures = 0  # delivery reports our server did not answer within the fake's 5 s

    def _report(self, params: dict[str, str]) -> None:
        try:
            super()._report(params)
        except OSError:
            self.dlr_failures += 1

    def _answer(self, params: dict[str, str]) -> tuple[int, str]:
        status, body = super()._answer(params)
        if status == 202:
            self.listener("sms", params.get("to", ""), params.get("text", ""), time.monotonic())
        return status, body


class Inboxes:
    """Replies by (channel, recipient), delivered to the waiting conversation's asyncio queue."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queues: dict[tuple[str, str], asyncio.Queue] = {}
        self.strays = 0

    def open(self, channel: str, recipient: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self.queues[(channel, recipient)] = queue
        return queue

    def __call__(self, channel: str, recipient: str, text: str, at: float) -> None:
        queue = self.queues.get((channel, recipient))
        if queue is None or self.loop is None:
            self.strays += 1
            return
        self.loop.call_soon_threadsafe(queue.put_nowait, (at, text))


# ---------------------------------------------------------------- processes


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of the process and of its live children (``--workers``)."""
    total = 0.0
    for each in (pid, *child_pids(pid)):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the client and the platform fakes) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_pids(pid: int) -> list[int]:
    """The process's children (``bot serve --workers N``'s answering processes)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def python_command(*args: str) -> list[str]:
    """This interpreter running the ``bot`` command of the repository."""
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_ENV)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update({"RASA_TELEMETRY_ENABLED": "false", "BOT_ROOT": str(ROOT), **extra})
    return env


class Processes:
    """Every process the harness starts, each in its own process group, stopped on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(
        self, name: str, command: Sequence[str], env: dict[str, str], cwd: Path = ROOT
    ) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        process.log = log  # type: ignore[attr-defined]
        process.name = name  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        process.log.close()  # type: ignore[attr-defined]

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)
        self.started.clear()

    def tail(self, process: subprocess.Popen, lines: int = 15) -> str:
        path = self.logs / f"{process.name}.log"  # type: ignore[attr-defined]
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_http(url: str, process: subprocess.Popen, processes: Processes, timeout: float = 300.0) -> None:
    """Polls ``url`` until it answers; fails with the process's log if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.name} exited ({process.returncode}):\n{processes.tail(process)}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


# ---------------------------------------------------------------- models


def ensure_our_model() -> Path:
    """models/current.tar.gz, trained with ``bot train`` when the inputs changed since."""
    from bot.build.fingerprint import is_current
    from bot.project import Project

    project = Project.locate(ROOT, None)
    model = project.models / "current.tar.gz"
    if not is_current(model, project, project.config):
        print("our model is missing or stale: bot train...", flush=True)
        subprocess.run(python_command("--root", str(ROOT), "train"), env=child_env(), check=True)
    return model


def stock_config(epochs: int, into: Path) -> Path:
    """bench/config_stock.yml with ``epochs`` for DIET and the ResponseSelector and ``rasa init``'s
    default policies written out (same epochs for the two TED policies)."""
    data = yaml.safe_load((ROOT / "bench" / "config_stock.yml").read_text(encoding="utf-8"))
    for component in data["pipeline"]:
        if "epochs" in component:
            component["epochs"] = epochs
    data["policies"] = [
        {"name": "MemoizationPolicy"},
        {"name": "RulePolicy"},
        {"name": "UnexpecTEDIntentPolicy", "max_history": 5, "epochs": epochs},
        {"name": "TEDPolicy", "max_history": 5, "epochs": epochs, "constrain_similarities": True},
    ]
    into.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return into


def ensure_stock_model(epochs: int) -> Path:
    """Rasa's stock model on the same data, in models/bench-stock/ (gitignored), trained when stale."""
    from bot.build.fingerprint import fingerprint
    from bot.project import Project

    project = Project.locate(ROOT, None)
    out = project.models / "bench-stock"
    out.mkdir(parents=True, exist_ok=True)
    config = stock_config(epochs, out / f"config-e{epochs}.yml")
    model, stamp = out / f"stock-e{epochs}.tar.gz", out / f"stock-e{epochs}.inputs"
    wanted = fingerprint(project, config)
    if model.exists() and stamp.exists() and stamp.read_text() == wanted:
        return model
    print(f"training Rasa's stock model ({epochs} epochs) on nlu_data/ and flows/...", flush=True)
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "--config",
            str(config),
            "--domain",
            str(project.flows),
            "--data",
            str(project.nlu_data),
            str(project.rules),
            "--out",
            str(out),
            "--fixed-model-name",
            model.name.removesuffix(".tar.gz"),
        ],
        env=child_env(),
        cwd=out,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.write_text(wanted)
    print(f"  trained in {time.monotonic() - started:.0f} s", flush=True)
    return model


# ---------------------------------------------------------------- servers


class Server:
    """What a conversation needs from a server under test."""

    name: str
    pid: int

    def sender(self, channel: str, ident: int) -> str:
        raise NotImplementedError

    def open(self, conversation: Conversation) -> None:
        """Starts listening for the conversation's replies (servers that answer out of band)."""

    async def turn(self, client: Any, conversation: Conversation, text: str, expected: int) -> Turn:
        raise NotImplementedError


@dataclass
class Turn:
    sent_at: float
    ack: float | None = None  # webhook answer time (ours only)
    latency: float | None = None  # to the first reply
    replies: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Conversation:
    ident: int
    script: Script
    sender: str
    queue: asyncio.Queue | None = None
    turns: list[Turn] = field(default_factory=list)
    late: list[str] = field(default_factory=list)


class OurServer(Server):
    """``bot serve`` with Telegram and Kannel pointed at the recording fakes."""

    name = "ours"

    def __init__(
        self,
        processes: Processes,
        db: Path | None,  # None: DATABASE_URL (``--db`` would win over it)
        inboxes: Inboxes,
        telegram: FakeTelegram,
        kannel: FakeKannel,
        model: Path,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
        name: str = "bot-serve",
    ) -> None:
        self.inboxes = inboxes
        self.expected: dict[Script, list[list[str]]] = {}
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        env = child_env(
            TELEGRAM_TOKEN=TOKEN,
            TELEGRAM_SECRET_TOKEN=TELEGRAM_SECRET,
            TELEGRAM_BASE_URL=telegram.base_url,
            KANNEL_SENDSMS_URL=kannel.url,
            KANNEL_USERNAME=KANNEL_USER,
            KANNEL_PASSWORD=KANNEL_PASSWORD,
            KANNEL_SHARED_SECRET=KANNEL_SECRET,
            KANNEL_PUBLIC_URL=self.url,
            **(extra_env or {}),
        )
        self.started = time.monotonic()
        self.process = processes.start(
            name,
            python_command(
                "--root",
                str(ROOT),
                "serve",
                "--host",
                LOOPBACK,
                "--port",
                str(self.port),
                *(["--db", str(db)] if db else []),
                "--out",
                str(model.parent),
                "--name",
                model.name.removesuffix(".tar.gz"),
                *(["--workers", str(workers)] if workers > 1 else []),
            ),
            env,
        )
        self.pid = self.process.pid
        self.processes = processes
        self._ids = itertools.count(1)
        self.opened: list[Conversation] = []  # every conversation played, for --scaleout's figures

    def sender(self, channel: str, ident: int) -> str:
        return str(5_550_000_000 + ident) if channel == "telegram" else f"849{ident:08d}"

    def open(self, conversation: Conversation) -> None:
        conversation.queue = self.inboxes.open(conversation.script.channel, conversation.sender)
        self.opened.append(conversation)

    async def post(self, client: Any, conversation: Conversation, text: str, n: int | None = None) -> Any:
        n = next(self._ids) if n is None else n  # a platform retrying sends the same update again
        if conversation.script.channel == "telegram":
            chat = int(conversation.sender)
            update = {
                "update_id": 10_000_000 + n,
                "message": {
                    "message_id": n,
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": False, "first_name": "An"},
                    "text": text,
                },
            }
            return await client.post(
                f"{self.url}/webhooks/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
            )
        query = mo_query(
            KANNEL_SECRET, conversation.sender, text, receiver=SHORT_CODE, message_id=f"bench-{n}"
        )
        return await client.get(f"{self.url}/webhooks/sms/mo?{query}")

    async def turn(self, client: Any, conversation: Conversation, text: str, expected: int) -> Turn:
        turn = Turn(time.monotonic())
        try:
            answer = await self.post(client, conversation, text)
            turn.ack = time.monotonic() - turn.sent_at
            if answer.status_code != 200:
                turn.error = f"HTTP {answer.status_code}"
                return turn
        except Exception as exc:  # noqa: BLE001 - any failure of the request is a counted error
            turn.error = type(exc).__name__
            return turn
        deadline = turn.sent_at + TURN_TIMEOUT
        assert conversation.queue is not None
        while len(turn.replies) < expected:
            try:
                at, reply = await asyncio.wait_for(
                    conversation.queue.get(), max(0.0, deadline - time.monotonic())
                )
            except asyncio.TimeoutError:
                turn.error = "no reply in time"
                break
            if turn.latency is None:
                turn.latency = at - turn.sent_at
            turn.replies.append(reply)
        return turn

    async def first_reply(self, client: Any) -> float:
        """Cold start: from process start to the first reply of a first message at the fake."""
        script = Script("telegram", ("khai sinh can giay to gi",))
        conversation = Conversation(0, script, self.sender("telegram", 0))
        self.open(conversation)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"bot serve exited:\n{self.processes.tail(self.process)}")
            with contextlib.suppress(Exception):
                answer = await self.post(client, conversation, script.turns[0])
                if answer.status_code == 200:
                    break
            await asyncio.sleep(0.1)
        assert conversation.queue is not None
        at, _ = await asyncio.wait_for(conversation.queue.get(), FIRST_REPLY_TIMEOUT)
        return at - self.started

    async def calibrate(self, client: Any, scripts: Sequence[Script], quiet: float = 0.8) -> None:
        """The replies each script gets, one conversation at a time: what load must reproduce."""
        for index, script in enumerate(dict.fromkeys(scripts)):
            conversation = Conversation(900_000 + index, script, self.sender(script.channel, 900_000 + index))
            self.open(conversation)
            replies = []
            for text in script.turns:
                await self.post(client, conversation, text)
                got = []
                assert conversation.queue is not None
                with contextlib.suppress(asyncio.TimeoutError):
                    got.append((await asyncio.wait_for(conversation.queue.get(), TURN_TIMEOUT))[1])
                    while True:
                        got.append((await asyncio.wait_for(conversation.queue.get(), quiet))[1])
                replies.append(got)
            self.expected[script] = replies


class StockServer(Server):
    """``rasa run`` with the REST channel; the reply comes back in the HTTP answer."""

    name = "rasa stock"

    def __init__(self, processes: Processes, model: Path, work: Path) -> None:
        self.processes = processes
        actions_port, self.port = free_port(), free_port()
        self.actions = processes.start(
            "rasa-actions",
            [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "bot.dialogue.actions",
                "--port",
                str(actions_port),
            ],
            child_env(SANIC_HOST=LOOPBACK),
        )
        (work / "credentials.yml").write_text("rest:\n")
        (work / "endpoints.yml").write_text(
            f"action_endpoint:\n  url: http://{LOOPBACK}:{actions_port}/webhook\n"
        )
        wait_http(f"http://{LOOPBACK}:{actions_port}/health", self.actions, processes)
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.started = time.monotonic()
        self.process = processes.start(
            "rasa-run",
            [
                sys.executable,
                "-m",
                "rasa",
                "run",
                "-m",
                str(model),
                "-i",
                LOOPBACK,
                "--port",
                str(self.port),
                "--credentials",
                str(work / "credentials.yml"),
                "--endpoints",
                str(work / "endpoints.yml"),
            ],
            child_env(),
            cwd=work,
        )
        self.pid = self.process.pid

    def sender(self, channel: str, ident: int) -> str:
        return f"bench-{ident}"

    def open(self, conversation: Conversation) -> None:
        pass

    async def turn(self, client: Any, conversation: Conversation, text: str, expected: int) -> Turn:
        turn = Turn(time.monotonic())
        try:
            answer = await client.post(
                f"{self.url}/webhooks/rest/webhook", json={"sender": conversation.sender, "message": text}
            )
            turn.latency = time.monotonic() - turn.sent_at
            if answer.status_code != 200:
                turn.error = f"HTTP {answer.status_code}"
                turn.latency = None
                return turn
            turn.replies = [m.get("text") or json.dumps(m, ensure_ascii=False) for m in answer.json()]
            if not turn.replies:
                turn.error = "empty reply"
                turn.latency = None
        except Exception as exc:  # noqa: BLE001 - any failure of the request is a counted error
            turn.error = type(exc).__name__
        return turn

    async def first_reply(self, client: Any) -> float:
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"rasa run exited:\n{self.processes.tail(self.process)}")
            with contextlib.suppress(Exception):
                answer = await client.post(
                    f"{self.url}/webhooks/rest/webhook",
                    json={"sender": "bench-0", "message": "khai sinh can giay to gi"},
                )
                if answer.status_code == 200:
                    return time.monotonic() - self.started
            await asyncio.sleep(0.1)


# ---------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    label: str
    conversations: int
    reading: float = 0.0  # seconds between a reply and the next message
    bound: float | None = None  # seconds after which no new message is sent
    runs: int = 1


@dataclass
class Outcome:
    """One run of one scenario against one server."""

    turns_sent: int = 0
    turns_answered: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    first_acks: list[float] = field(default_factory=list)  # each conversation's first turn: one burst
    later_acks: list[float] = field(default_factory=list)  # the turns sent after a reply
    errors: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0  # conversations whose replies came in another order
    unexpected: int = 0  # replies that are not among the expected ones
    finished: float = 0.0  # share of conversations that sent every turn and got every reply
    not_understood: int = 0  # turns answered with the fallback help (utter_help)
    cpu: float = 0.0  # CPU seconds the server's processes spent during the run
    client_cpu: float = 0.0  # CPU seconds of this harness meanwhile (client and platform fakes)

    @property
    def throughput(self) -> float:
        return self.turns_answered / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_turn(self) -> float | None:
        return self.cpu / self.turns_answered if self.turns_answered and self.cpu else None


def quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def check(expected: list[str], received: list[str]) -> tuple[int, int, int, int]:
    """lost, duplicated, reordered (0 or 1), unexpected for one conversation's replies."""
    want, got = Counter(expected), Counter(received)
    lost = sum((want - got).values())
    duplicated = sum(n for text, n in (got - want).items() if text in want)
    unexpected = sum(n for text, n in (got - want).items() if text not in want)
    seen: list[str] = []
    for text in received:
        if text in want and seen.count(text) < want[text]:
            seen.append(text)
    in_order = [t for t in expected if t in seen]
    reordered = int(not lost and not unexpected and seen != in_order)
    return lost, duplicated, reordered, unexpected


async def run_scenario(
    server: Any, scenario: Scenario, scripts: Sequence[Script], run: int, turns_per: int
) -> Outcome:
    from bench.wire import Client

    rng = random.Random(run)
    conversations = []
    for i in range(scenario.conversations):
        script = scripts[(i + run) % len(scripts)]
        ident = next(IDENTS)
        conversation = Conversation(ident, script, server.sender(script.channel, ident))
        server.open(conversation)
        conversations.append(conversation)
    expected = getattr(server, "expected", {})
    outcome = Outcome()
    cpu_at_start, client_cpu_at_start = cpu_seconds(server.pid), own_cpu_seconds()
    # one connection per conversation, as a platform opens them (bench/wire.py: a client that
    # costs the shared cores a fifth of httpx's CPU per request)
    async with Client(limit=scenario.conversations + 8, timeout=TURN_TIMEOUT) as client:
        started = time.monotonic()
        stop_at = started + scenario.bound if scenario.bound else float("inf")

        async def citizen(conversation: Conversation) -> None:
            if scenario.reading:
                await asyncio.sleep(rng.uniform(0, scenario.reading))
            for k, text in enumerate(conversation.script.turns[:turns_per]):
                if time.monotonic() >= stop_at:
                    return
                want = len(expected.get(conversation.script, [[None]] * (k + 1))[k]) or 1
                conversation.turns.append(await server.turn(client, conversation, text, want))
                if scenario.reading:
                    await asyncio.sleep(scenario.reading)

        await asyncio.gather(*(citizen(c) for c in conversations))
        # replies still on their way (a timed-out turn, the tail of a bounded run)
        drain_until = time.monotonic() + DRAIN_SECONDS
        for conversation in conversations:
            if conversation.queue is None:
                continue
            want = sum(len(r) for r in expected[conversation.script][: len(conversation.turns)])
            got = sum(len(t.replies) for t in conversation.turns)
            while got < want and time.monotonic() < drain_until:
                with contextlib.suppress(asyncio.TimeoutError):
                    _, text = await asyncio.wait_for(conversation.queue.get(), drain_until - time.monotonic())
                    conversation.late.append(text)
                    got += 1
        outcome.seconds = time.monotonic() - started
    outcome.cpu = cpu_seconds(server.pid) - cpu_at_start
    outcome.client_cpu = own_cpu_seconds() - client_cpu_at_start
    finished = 0
    for conversation in conversations:
        outcome.turns_sent += len(conversation.turns)
        for k, turn in enumerate(conversation.turns):
            outcome.errors += turn.error is not None
            outcome.not_understood += any(fold(r).lower().startswith(help_prefix()) for r in turn.replies)
            if turn.ack is not None:
                outcome.acks.append(turn.ack)
                (outcome.later_acks if k else outcome.first_acks).append(turn.ack)
            if turn.latency is not None:
                outcome.latencies.append(turn.latency)
                outcome.turns_answered += 1
        received = [r for t in conversation.turns for r in t.replies] + conversation.late
        if conversation.script in expected:
            want = [
                r for replies in expected[conversation.script][: len(conversation.turns)] for r in replies
            ]
            lost, duplicated, reordered, unexpected = check(want, received)
        else:  # REST: the reply is the answer, it cannot be lost or reordered in transit
            lost, duplicated, reordered, unexpected = 0, 0, 0, 0
        outcome.lost += lost
        outcome.duplicated += duplicated
        outcome.reordered += reordered
        outcome.unexpected += unexpected
        complete = len(conversation.turns) == min(turns_per, len(conversation.script.turns))
        finished += complete and not lost and all(t.error is None for t in conversation.turns)
    outcome.finished = finished / len(conversations)
    return outcome


# ---------------------------------------------------------------- report


@dataclass
class Summary:
    """Medians over the runs of one scenario on one server."""

    throughput: float
    p50: float | None
    p95: float | None
    p99: float | None
    ack_p50: float | None
    ack_p95: float | None
    ack_p99: float | None
    errors: int
    lost: int
    duplicated: int
    reordered: int
    unexpected: int
    finished: float
    turns_sent: int
    turns_answered: int
    not_understood: int
    cpu_per_turn: float | None = None  # the server's CPU seconds per answered turn



def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(outcomes: Sequence[Outcome]) -> Summary:
    def med(f: Callable[[Outcome], float | None]) -> float | None:
        return _median([f(o) for o in outcomes])

    return Summary(
        throughput=med(lambda o: o.throughput) or 0.0,
        p50=med(lambda o: quantile(o.latencies, 50)),
        p95=med(lambda o: quantile(o.latencies, 95)),
        p99=med(lambda o: quantile(o.latencies, 99)),
        ack_p50=med(lambda o: quantile(o.acks, 50)),
        ack_p95=med(lambda o: quantile(o.acks, 95)),
        ack_p99=med(lambda o: quantile(o.acks, 99)),
        errors=max(o.errors for o in outcomes),
        lost=max(o.lost for o in outcomes),
        duplicated=max(o.duplicated for o in outcomes),
        reordered=max(o.reordered for o in outcomes),
        unexpected=max(o.unexpected for o in outcomes),
        finished=min(o.finished for o in outcomes),
        turns_sent=int(med(lambda o: o.turns_sent) or 0),
        turns_answered=int(med(lambda o: o.turns_answered) or 0),
        not_understood=int(med(lambda o: o.not_understood) or 0),
        cpu_per_turn=med(lambda o: o.cpu_per_turn),
    )


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def ratio(ours: float | None, stock: float | None) -> str:
    if not ours or not stock:
        return "-"
    return f"{ours / stock:.2f}"


def table(rows: Sequence[tuple[str, str, str, str]]) -> str:
    header = ("measure", "ours", "rasa stock", "ours/stock")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(4)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    return "\n".join(lines)


def scenario_rows(
    scenario: Scenario, ours: Summary, stock: Summary | None
) -> list[tuple[str, str, str, str]]:
    s = stock
    label = scenario.label
    rows = [
        (
            f"{label}: throughput (turns/s)",
            f"{ours.throughput:.1f}",
            f"{s.throughput:.1f}" if s else "-",
            ratio(ours.throughput, s.throughput if s else None),
        ),
        (
            f"{label}: server CPU per turn",
            ms(ours.cpu_per_turn),
            ms(s.cpu_per_turn) if s else "-",
            ratio(ours.cpu_per_turn, s and s.cpu_per_turn),
        ),
        (f"{label}: turn latency p50", ms(ours.p50), ms(s.p50) if s else "-", ratio(ours.p50, s and s.p50)),
        (f"{label}: turn latency p95", ms(ours.p95), ms(s.p95) if s else "-", ratio(ours.p95, s and s.p95)),
        (f"{label}: turn latency p99", ms(ours.p99), ms(s.p99) if s else "-", ratio(ours.p99, s and s.p99)),
        (
            f"{label}: webhook ack p50 / p95 / p99",
            f"{ms(ours.ack_p50)} / {ms(ours.ack_p95)} / {ms(ours.ack_p99)}",
            "n/a (synchronous)" if s else "-",
            "-",
        ),
        (
            f"{label}: turns answered / sent",
            f"{ours.turns_answered}/{ours.turns_sent}",
            f"{s.turns_answered}/{s.turns_sent}" if s else "-",
            "-",
        ),
        (f"{label}: conversations finished", f"{ours.finished:.0%}", f"{s.finished:.0%}" if s else "-", "-"),
        (
            f"{label}: turns answered with the fallback help",
            str(ours.not_understood),
            str(s.not_understood) if s else "-",
            "-",
        ),
        (
            f"{label}: errors, lost, duplicated, reordered, unexpected",
            f"{ours.errors}, {ours.lost}, {ours.duplicated}, {ours.reordered}, {ours.unexpected}",
            f"{s.errors}, -, -, -, -" if s else "-",
            "-",
        ),
    ]
    return rows


# ---------------------------------------------------------------- NLU and training


def parse_times(model: Path, texts: Sequence[str], repeats: int = 3) -> float:
    """Median seconds of ``Agent.parse_message`` per message, model loaded in a fresh process."""
    code = (
        "import asyncio, json, statistics, sys, time\n"
        "from rasa.core.agent import Agent\n"
        "agent = Agent.load(sys.argv[1]); texts = json.loads(sys.argv[2])\n"
        "async def go():\n"
        "    await agent.parse_message('khai sinh can gi'); times = []\n"
        f"    for _ in range({repeats}):\n"
        "        for t in texts:\n"
        "            s = time.perf_counter(); await agent.parse_message(t)\n"
        "            times.append(time.perf_counter() - s)\n"
        "    print(statistics.median(times))\n"
        "asyncio.run(go())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(model), json.dumps(list(texts))],
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(done.stdout.strip().splitlines()[-1])


def edit_one_procedure(root: Path) -> str:
    """Adds an alias to one procedure file, as staff would; returns the file's name."""
    path = root / "procedures" / "khai_sinh.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("aliases:\n", "aliases:\n  - khai sinh cho con mới đẻ\n", 1), encoding="utf-8"
    )
    return path.name


@dataclass
class TrainTime:
    """One ``bot train``: wall seconds and CPU seconds (user + system, the process and its
    children), and whether the classifier's fit started from the previous model."""

    wall: float
    cpu: float
    warm: bool | None = None


def _timed_train(copy: Path, env: dict[str, str], log_path: Path) -> TrainTime:
    before = os.times()
    started = time.monotonic()
    with open(log_path, "wb") as log:
        subprocess.run(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
             "--root", str(copy), "train"],
            env=env, cwd=copy, stdout=log, stderr=subprocess.STDOUT, check=True,
        )
    wall = time.monotonic() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    state = copy / "models" / "current.warm.npz"
    warm = None
    if state.exists():
        import numpy as np

        with np.load(state) as saved:
            warm = bool(saved["warm"])
    return TrainTime(wall, cpu, warm)


def training_times(logs: Path, runs: int = 1) -> dict[str, list[TrainTime]]:
    """``bot train`` in a fresh copy of the project (no model, empty Rasa cache), then again after
    adding one alias to one procedure file; ``runs`` times, each in a copy of its own."""
    times: dict[str, list[TrainTime]] = {"scratch": [], "edit": []}
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
            copy = Path(tmp) / "project"
            shutil.copytree(
                ROOT,
                copy,
                ignore=shutil.ignore_patterns(
                    ".git", ".venv", "models", "var", ".rasa", "__pycache__", "*.pyc",
                    ".pytest_cache", ".ruff_cache",
                ),
            )
            env = child_env(
                BOT_ROOT=str(copy), PYTHONPATH=str(copy), RASA_CACHE_DIRECTORY=str(Path(tmp) / "cache")
            )
            for step in ("scratch", "edit"):
                if step == "edit":
                    edit_one_procedure(copy)
                timed = _timed_train(copy, env, logs / f"train-{step}-{run + 1}.log")
                times[step].append(timed)
                print(f"  bot train, {step} ({run + 1}/{runs}): {timed.wall:.1f} s wall, "
                      f"{timed.cpu:.1f} s CPU, load average {os.getloadavg()[0]:.1f}", flush=True)
    return times


def training_rows(times: dict[str, list[TrainTime]]) -> list[tuple[str, str, str, str]]:
    """Medians of the ``training_times`` runs, as rows of the report."""
    rows = []
    for step, label in (("scratch", "bot train from scratch"),
                        ("edit", "bot train after one procedure edit")):
        runs = times[step]
        warm = {t.warm for t in runs}
        fit = "" if warm == {None} else (" (warm fit)" if warm == {True} else
                                         " (cold fit)" if warm == {False} else " (warm and cold)")
        rows.append((
            f"{label}, median of {len(runs)}{fit}",
            f"{statistics.median(t.wall for t in runs):.1f} s wall, "
            f"{statistics.median(t.cpu for t in runs):.1f} s CPU",
            "-",
            "-",
        ))
    return rows


# ---------------------------------------------------------------- profile


# What the earlier profile named, as patterns on py-spy's frames ("function (file:line)").
PROFILE_PARTS = (
    ("JSON-schema validation", r"jsonschema/"),
    (
        "outbox (store: due, answer, mark)",
        r"^(due_outbound|answer|mark_\w+|_update_outbound|blocked_recipients) "
        r"\(bot/serving/store\.py",
    ),
    ("inbox (store: accept, pending)", r"^(accept|pending_inbound) \(bot/serving/store\.py"),
    ("tracker save", r"^(save|_save\w*|update) \(.*tracker_store\.py"),
    ("tracker load", r"^(retrieve\w*|_retrieve\w*) \(.*tracker_store\.py"),
    ("NLU parse", r"^parse_message \(|rasa/nlu/|^\w+ \(bot/nlu/"),
    ("policies", r"rasa/core/policies/"),
    ("our actions", r"bot/dialogue/"),
    ("Telegram send (PTB)", r"^\w+ \(telegram/"),
    ("Kannel send (httpx)", r"connectors/kannel/"),
    ("SQLAlchemy (all)", r"sqlalchemy/"),
)


def _short(frame: str) -> str:
    """``func (/long/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py:12)``."""
    frame = re.sub(r"\(\S*?(site-packages|dist-packages)/", "(", frame)
    return frame.replace(f"({ROOT}/", "(")


def profile_table(raw: Path, top: int = 25) -> str:
    """Inclusive share of samples per part named by the earlier profile, then per function,
    from py-spy's raw (collapsed) output of the server process."""
    parts: Counter = Counter()
    functions: Counter = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        for name, pattern in PROFILE_PARTS:
            if any(re.search(pattern, f) for f in frames):
                parts[name] += n
        for frame in {re.sub(r":\d+\)$", ")", f) for f in frames}:
            functions[frame] += n
    if not total:
        return "py-spy recorded no samples"
    lines = [f"{total} samples (threads busy only)", "", "| part | share of samples |", "|---|---|"]
    lines += [f"| {name} | {parts[name] / total:.0%} |" for name, _ in PROFILE_PARTS]
    lines += ["", "| function, below the server's own loop (inclusive) | share |", "|---|---|"]
    below = [(frame, n) for frame, n in functions.most_common() if n < 0.9 * total]
    lines += [f"| `{frame}` | {n / total:.0%} |" for frame, n in below[:top]]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def scenarios(runs: int, bound: float, reading: float) -> list[Scenario]:
    return [
        Scenario("1 conversation", 1, runs=max(runs, 3)),
        Scenario("50 no pause", 50, runs=runs),
        Scenario(f"50 reading {reading:g} s", 50, reading=reading, runs=runs),
        Scenario(f"200 reading {reading:g} s, {bound:g} s bound", 200, reading=reading, bound=bound),
    ]


async def drive(
    args: argparse.Namespace,
    processes: Processes,
    work: Path,
    inboxes: Inboxes,
    telegram: FakeTelegram,
    kannel: FakeKannel,
    our_model: Path,
    stock_model: Path | None,
) -> dict[str, Any]:
    import httpx

    inboxes.loop = asyncio.get_running_loop()
    scripts = build_scripts(args.scripts, args.turns)
    results: dict[str, Any] = {"scenarios": [], "cold_start": {}, "peak_rss_mb": {}}
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT) as client:
        ours = OurServer(processes, work / "bot.db", inboxes, telegram, kannel, our_model, args.workers)
        results["cold_start"]["ours"] = await ours.first_reply(client)
        print(f"ours: first reply {results['cold_start']['ours']:.1f} s after start", flush=True)
        stock = None
        if stock_model is not None:
            stock = StockServer(processes, stock_model, work)
            results["cold_start"]["rasa stock"] = await stock.first_reply(client)
            print(
                f"rasa stock: first reply {results['cold_start']['rasa stock']:.1f} s after start", flush=True
            )
        await ours.calibrate(client, scripts)
        print(
            f"calibrated {len(ours.expected)} scripts "
            f"({sum(len(r) for e in ours.expected.values() for r in e)} replies)",
            flush=True,
        )
    profile_pid = ours.pid if args.profile else None
    for scenario in scenarios(args.runs, args.bound, args.reading) if not args.only else args.only:
        per_server: dict[str, list[Outcome]] = {"ours": [], "rasa stock": []}
        for run in range(scenario.runs):  # interleaved, so both see the same background load
            for server in (ours, stock):
                if server is None:
                    continue
                outcome = await run_scenario(server, scenario, scripts, run, args.turns)
                per_server[server.name].append(outcome)
                print(
                    f"  {scenario.label} run {run + 1} {server.name}: {outcome.throughput:.1f} turns/s, "
                    f"p95 {ms(quantile(outcome.latencies, 95))}, CPU {ms(outcome.cpu_per_turn)}/turn, "
                    f"ack p50/p95/p99 {ms(quantile(outcome.acks, 50))}/{ms(quantile(outcome.acks, 95))}/"
                    f"{ms(quantile(outcome.acks, 99))} (first turns {ms(quantile(outcome.first_acks, 50))}/"
                    f"{ms(quantile(outcome.first_acks, 95))}/{ms(max(outcome.first_acks, default=None))}, "
                    f"later {ms(quantile(outcome.later_acks, 50))}/{ms(quantile(outcome.later_acks, 95))}/"
                    f"{ms(quantile(outcome.later_acks, 99))}), harness CPU "
                    f"{ms(outcome.client_cpu / max(outcome.turns_sent, 1))}/turn, "
                    f"errors {outcome.errors}, lost {outcome.lost}",
                    flush=True,
                )
        results["scenarios"].append(
            (scenario, summarise(per_server["ours"]), summarise(per_server["rasa stock"]) if stock else None)
        )
    if profile_pid is not None:
        results["profile"] = await profile(args, ours, scripts, work)
    results["peak_rss_mb"]["ours"] = peak_rss_mb(ours.pid)
    results["peak_rss_mb"]["ours answering"] = [peak_rss_mb(pid) for pid in child_pids(ours.pid)]
    if stock is not None:
        results["peak_rss_mb"]["rasa stock"] = peak_rss_mb(stock.pid)
        results["peak_rss_mb"]["rasa actions"] = peak_rss_mb(stock.actions.pid)
    return results


async def profile(args: argparse.Namespace, ours: OurServer, scripts: Sequence[Script], work: Path) -> str:
    """py-spy on the running ``bot serve`` (and its answering processes, with ``--workers``) during
    one more run of the 50 conversations, or of the one scenario ``--conversations`` names."""
    raw = Path(args.profile) / "profile.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [
            args.py_spy,
            "record",
            "--nonblocking",
            "--format",
            "raw",
            "-r",
            "50",
            "-o",
            str(raw),
            "--pid",
            str(ours.pid),
            *(["--subprocesses"] if args.workers > 1 else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(work / "py-spy.log", "wb"),
    )  # noqa: SIM115
    await asyncio.sleep(1.0)
    scenario = (replace(args.only[0], label=args.only[0].label + " (profiled)", runs=1) if args.only
                else Scenario("50 no pause (profiled)", 50))
    outcome = await run_scenario(ours, scenario, scripts, 9, args.turns)
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout=60)
    print(f"  profiled run: {outcome.throughput:.1f} turns/s, CPU {ms(outcome.cpu_per_turn)}/turn",
          flush=True)
    if not raw.exists():
        return "py-spy wrote nothing: " + (work / "py-spy.log").read_text(errors="replace")[-500:]
    return profile_table(raw)


def machine() -> str:
    import platform

    from rasa.version import __version__ as rasa_version

    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        "0",
    )
    load = os.getloadavg()
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )
    return (
        f"{os.cpu_count()} cores, {int(memory) / 1024 / 1024:.0f} GB RAM, "
        f"Python {platform.python_version()}, Rasa {rasa_version}, commit {commit}, "
        f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
    )


def report(args: argparse.Namespace, results: dict[str, Any], extra: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    cold = results["cold_start"]
    rss = results["peak_rss_mb"]
    rows.append(
        (
            "cold start (process start to first reply)",
            f"{cold['ours']:.1f} s",
            f"{cold['rasa stock']:.1f} s" if "rasa stock" in cold else "-",
            ratio(cold.get("ours"), cold.get("rasa stock")),
        )
    )
    rows.append(
        (
            "peak RSS of the server process",
            f"{rss['ours']:.0f} MB" + "".join(f" (+ answering process {mb:.0f} MB)"
                                              for mb in rss.get("ours answering", [])),
            f"{rss['rasa stock']:.0f} MB (+ actions {rss['rasa actions']:.0f} MB)"
            if "rasa stock" in rss
            else "-",
            ratio(rss.get("ours"), rss.get("rasa stock")),
        )
    )
    if "parse" in extra:
        parse = extra["parse"]
        rows.append(
            (
                "NLU parse time per message (median)",
                ms(parse.get("ours")),
                ms(parse.get("rasa stock")),
                ratio(parse.get("ours"), parse.get("rasa stock")),
            )
        )
    if "train" in extra:
        rows += training_rows(extra["train"])
    for scenario, ours, stock in results["scenarios"]:
        rows += scenario_rows(scenario, ours, stock)
    return table(rows)


def common_options(parser: argparse.ArgumentParser) -> None:
    """The options this benchmark and the scale-out one (``bench/scaleout.py``) share."""
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs of each scenario (here the 1-conversation one: at least 3)",
    )
    parser.add_argument("--turns", type=int, default=4, help="messages per conversation")
    parser.add_argument("--scripts", type=int, default=12, help="distinct conversations (reused round-robin)")
    parser.add_argument("--model", type=Path, default=None, help="our model (default: models/current.tar.gz)")
    parser.add_argument("--logs", type=Path, default=None, help="keep the servers' logs in this folder")
    parser.add_argument("--workers", type=int, default=1, help="bot serve --workers (answering processes)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="--scaleout N ...: the scale-out benchmark, bench/scaleout.py")
    common_options(parser)
    parser.add_argument("--reading", type=float, default=None,
                        help="reading time between turns, seconds (default 0.75; with --conversations, "
                             "that one scenario with this reading time)")
    parser.add_argument("--bound", type=float, default=45.0, help="seconds of the 200-conversation run")
    parser.add_argument("--stock-epochs", type=int, default=STOCK_EPOCHS)
    parser.add_argument("--no-stock", action="store_true", help="our server only")
    parser.add_argument(
        "--conversations", type=int, default=None, help="one scenario of this many conversations instead"
    )
    parser.add_argument("--train-timing", action="store_true", help="also time bot train (slow)")
    parser.add_argument("--train-only", action="store_true",
                        help="time bot train only (from scratch, after one edit), no servers")
    parser.add_argument("--train-runs", type=int, default=1, help="runs of the training timing (medians)")
    parser.add_argument("--no-parse", action="store_true", help="skip the NLU parse timing")
    parser.add_argument("--profile", type=Path, default=None, help="folder for a py-spy profile (50 conv.)")
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy executable")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    args.only = (
        [Scenario(f"{args.conversations} conversations"
                  + (f" reading {args.reading:g} s" if args.reading else ""), args.conversations,
                  reading=args.reading or 0.0, runs=args.runs)]
        if args.conversations
        else None
    )
    if args.reading is None:
        args.reading = 0.75
    return args


@contextlib.contextmanager
def session(args: argparse.Namespace) -> Iterator[tuple[Processes, Path, Path]]:
    """A run's processes (each stopped on the way out), its scratch folder and our model."""
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, stopping() as processes_of:
        work = Path(tmp)
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
        yield processes_of(args.logs or work), work, args.model or ensure_our_model()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both servers through the scenarios; every process started is stopped before returning."""
    with session(args) as (processes, work, our_model):
        stock_model = None if args.no_stock else ensure_stock_model(args.stock_epochs)
        inboxes = Inboxes()
        with RecordingTelegram(TOKEN, inboxes) as telegram, RecordingKannel(inboxes) as kannel:
            results = asyncio.run(
                drive(args, processes, work, inboxes, telegram, kannel, our_model, stock_model)
            )
            results["dlr_failures"] = kannel.dlr_failures
        processes.stop_all()
        results["strays"] = inboxes.strays
        results["stock_model"] = stock_model
        if not args.no_parse:
            texts = sorted({t for s in build_scripts(args.scripts, args.turns) for t in s.turns})
            results["parse"] = {"ours": parse_times(our_model, texts)}
            if stock_model is not None:
                results["parse"]["rasa stock"] = parse_times(stock_model, texts)
        if args.train_timing:
            results["train"] = training_times(work, args.train_runs)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(arg.split("=")[0] == "--scaleout" for arg in argv):  # the scale-out benchmark's command
        from bench.scaleout import main as scaleout

        return scaleout(argv)
    args = parse_args(argv)
    if args.train_only:
        print(machine(), flush=True)
        logs = args.logs or Path(tempfile.mkdtemp(prefix="bench-train-logs-"))
        logs.mkdir(parents=True, exist_ok=True)
        times = training_times(logs, args.train_runs)
        print(f"\n{machine()}\n{table(training_rows(times))}\nlogs: {logs}")
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), "train": times}, indent=2,
                                            default=lambda t: t.__dict__))
        return 0
    results = run(args)
    print()
    print(machine())
    if results["stock_model"] is not None:
        print(
            f"rasa stock: bench/config_stock.yml, DIET/ResponseSelector/TED {args.stock_epochs} epochs, "
            "REST channel, rasa run actions with bot.dialogue.actions"
        )
    print(report(args, results, results))
    if results["dlr_failures"]:
        print(f"Kannel delivery reports bot serve did not answer within 5 s: {results['dlr_failures']}")
    if results["strays"]:
        print(f"replies to unknown recipients: {results['strays']}")
    if "profile" in results:
        print("\npy-spy, bot serve, 50 conversations, inclusive share of samples:")
        print(results["profile"])
    if args.json:
        figures = {
            "machine": machine(),
            **{
                k: results[k]
                for k in ("cold_start", "peak_rss_mb", "parse", "train", "dlr_failures")
                if k in results
            },
            "scenarios": [
                {"scenario": s.label, "ours": o.__dict__, "rasa stock": k and k.__dict__}
                for s, o, k in results["scenarios"]
            ],
        }
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


@contextlib.contextmanager
def stopping() -> Iterator[Callable[[Path], Processes]]:
    """Stops every started process on the way out, also on Ctrl-C and SIGTERM."""
    made: list[Processes] = []

    def make(logs: Path) -> Processes:
        made.append(Processes(logs))
        return made[-1]

    def terminate(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield make
    finally:
        for processes in made:
            processes.stop_all()
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())

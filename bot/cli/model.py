"""``bot train`` and ``bot evaluate``: the model built from the catalogue, and how well it reads."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bot.cli.catalogue import procedures_option, validated
from bot.cli.quiet import library_output, quiet
from bot.project import Project


def model_options(command: argparse.ArgumentParser) -> None:
    """Where the catalogue, the pipeline and the trained model are (defaults under the root)."""
    procedures_option(command)
    command.add_argument("--config", type=Path, default=None, help="default: config.yml")
    command.add_argument("--out", type=Path, default=None, help="default: models/")
    command.add_argument("--name", default="current")


def add_commands(commands: Any) -> None:
    train = commands.add_parser("train", help="validate, generate flows/ and nlu_data/, train")
    model_options(train)
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="intent accuracy and procedure F1, held out")
    evaluate.add_argument("--test", type=Path, action="append",
                          help="a held-out file; repeat for several (default: tests/data/nlu_heldout*.yml)")
    model_options(evaluate)
    evaluate.add_argument("--stock", action="store_true",
                          help="also train and score Rasa's stock pipeline (slow: DIET, 100 epochs)")
    evaluate.add_argument("--show-misses", action="store_true")
    evaluate.set_defaults(run=run_evaluate)


class Steps:
    """Numbered progress lines with the time each step took, for staff watching a training."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.step_started = self.started

    def begin(self, text: str) -> None:
        self.done += 1
        self.step_started = time.monotonic()
        print(f"[{self.done}/{self.total}] {text}...", flush=True)

    def end(self, text: str = "xong") -> None:
        took = time.monotonic() - self.step_started
        print(f"      {text} ({took:.0f} giây)", flush=True)

    def finish(self, text: str) -> None:
        print(f"{text} Tổng thời gian: {time.monotonic() - self.started:.0f} giây.", flush=True)


def config_of(args: argparse.Namespace, project: Project) -> Path:
    return args.config or project.config


def model_path(args: argparse.Namespace, project: Project) -> Path:
    return (args.out or project.models) / f"{args.name}.tar.gz"


def train_model(args: argparse.Namespace, project: Project) -> Path | None:
    """Validates, generates and trains, showing each step; None if the catalogue is invalid."""
    quiet()  # before Rasa's import: TensorFlow's module deferred, skops imported without it
    from bot.build.training import train

    steps = Steps(2)
    steps.begin("Kiểm tra danh mục thủ tục")
    catalogue = validated(project)
    if catalogue is None:
        print("Không huấn luyện khi danh mục còn lỗi.", file=sys.stderr)
        return None
    steps.end()
    steps.begin("Sinh dữ liệu huấn luyện và huấn luyện mô hình (khoảng 1 phút)")
    with library_output():
        model = train(project, config_of(args, project), args.out or project.models, args.name,
                      catalogue=catalogue)
    steps.end(f"mô hình: {model}")
    steps.finish("Xong.")
    return model


def current_model(args: argparse.Namespace, project: Project, retrain: bool = False) -> Path | None:
    """The model, retrained first when the catalogue, data or NLU code changed since; None if the
    catalogue is invalid (errors printed)."""
    from bot.build.fingerprint import is_current

    model = model_path(args, project)
    if not retrain and is_current(model, project, config_of(args, project)):
        return model
    if model.exists() and not retrain:
        print("Danh mục hoặc dữ liệu đã thay đổi từ lần huấn luyện trước: huấn luyện lại.", flush=True)
    return train_model(args, project)


def run_train(args: argparse.Namespace, project: Project) -> int:
    return 0 if train_model(args, project) is not None else 1


def run_evaluate(args: argparse.Namespace, project: Project) -> int:
    from bot.build.evaluate import load_agent, load_examples, overlap, report, score, training_texts
    from bot.build.training import train_nlu
    from bot.catalogue import load_catalogue

    quiet()
    tests = args.test or project.heldout_sets
    out = args.out or project.models
    runs = [("ours (config.yml)", config_of(args, project), "nlu-ours")]
    if args.stock:
        runs.append(("rasa stock (DIET)", project.stock_config, "nlu-stock"))
    agents = []
    for label, config, name in runs:
        print(f"Training {label}...", flush=True)
        with library_output():
            model = train_nlu(project, config, out, name)
        agents.append((label, load_agent(model)))
    trained = training_texts(project.nlu_data)
    not_covered = frozenset(n.id for n in load_catalogue(project.procedures).not_covered)
    for test in tests:
        examples = load_examples(test)
        results = [score(agent, examples, label, not_covered) for label, agent in agents]
        shown = test.relative_to(project.root) if test.is_relative_to(project.root) else test
        print(report(results, shown, overlap(examples, trained), len(examples)), end="\n\n")
        if args.show_misses:
            for text, expected, predicted in results[0].misses:
                print(f"  MISS {expected:>16} -> {predicted:<16} {text}")
            for text, expected, predicted in results[0].wrong_procedure:
                print(f"  WRONG PROCEDURE {expected} -> {predicted}: {text}")
            for text, expected, predicted in results[0].asked_which:
                print(f"  ASKED WHICH {expected} -> {predicted}: {text}")
            print()
    return 0

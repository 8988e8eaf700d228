"""Held-out NLU evaluation: intent accuracy and procedure-entity F1.

Entity F1 is computed over (message, procedure value) pairs: a prediction counts when the
message really names that procedure, whatever span the extractor chose.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.build.generate import PROCEDURE_ENTITY
from bot.dialogue.answers import TOLD_ENTITY
from bot.text import search_key


@dataclass
class Scores:
    name: str
    total: int = 0
    intent_correct: int = 0
    entity_tp: int = 0
    entity_fp: int = 0
    entity_fn: int = 0
    confusions: Counter = field(default_factory=Counter)
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    # answered with a procedure the citizen did not mean: the figure that matters most
    wrong_procedure: list[tuple[str, str, str]] = field(default_factory=list)
    # answered with the question which of several procedures, the one meant among them
    asked_which: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.total if self.total else 0.0

    @property
    def entity_f1(self) -> float:
        denominator = 2 * self.entity_tp + self.entity_fp + self.entity_fn
        return 2 * self.entity_tp / denominator if denominator else 1.0


# Intents whose reply carries no procedure's facts: a procedure found in them misleads nobody.
NOT_ANSWERED_WITH_FACTS = frozenset({"out_of_scope", "greet", "goodbye", "thank", "menu", "cancel",
                                     "nlu_fallback", "choose_option", "ask_human"})


def _asks_which(entities: list[dict], gold: set[str]) -> bool:
    """The bot asks which procedure (``bot.dialogue.actions.route``: no procedure named, a story
    leading to several) and offers one the citizen meant: no other procedure's facts are given."""
    named = any(e.get("entity") == PROCEDURE_ENTITY for e in entities or [])
    offered = _procedures(entities)  # with none named, the procedures the story leads to
    return not named and len(offered) > 1 and bool(offered & gold)


def _procedures(entities: list[dict]) -> set[str]:
    """The procedures a message names, else those its story leads to (as the bot reads it with
    no procedure under discussion)."""
    named = {str(e["value"]) for e in entities or [] if e.get("entity") == PROCEDURE_ENTITY}
    return named or {str(e["value"]) for e in entities or [] if e.get("entity") == TOLD_ENTITY}


def _answered(entities: list[dict], not_covered: frozenset[str]) -> set[str]:
    """The procedures whose facts the reply gives: none when it names a procedure we do not
    cover and none we do (``bot.dialogue.actions.route`` says so honestly and points to its
    official page, as it does for an out-of-scope question); the held-out sets annotate no
    uncovered procedure (their rule 6), so one found is neither a hit nor a miss."""
    entities = entities or []
    if any(str(e.get("value")) in not_covered for e in entities) and not any(
            e.get("entity") == PROCEDURE_ENTITY and str(e.get("value")) not in not_covered
            for e in entities):
        return set()
    return _procedures([e for e in entities if str(e.get("value")) not in not_covered])


def load_examples(test_file: Path) -> list[tuple[str, str, set[str]]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(test_file))
    return [(m.get("text"), m.get("intent"), _procedures(m.get("entities")))
            for m in data.training_examples]


def training_texts(training_dir: Path) -> set[str]:
    """The training examples, folded, to count which test messages were also trained on."""
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_nlu_importer_from_config(
        "config.yml", training_data_paths=[str(training_dir)])
    return {search_key(m.get("text")) for m in importer.get_nlu_data().training_examples}


def overlap(test: list[tuple[str, str, set[str]]], trained: set[str]) -> int:
    """How many test messages also appear (folded) among the ``trained`` texts."""
    return sum(search_key(text) in trained for text, _, _ in test)


def load_agent(model: Path) -> Any:
    from rasa.core.agent import Agent

    return Agent.load(str(model))


def score(agent: Any, examples: list[tuple[str, str, set[str]]], name: str,
          not_covered: frozenset[str] = frozenset()) -> Scores:
    """Parses every example with a loaded ``agent`` (see ``load_agent``); ``not_covered`` are
    the ids of ``_chua_ho_tro.yaml``, whose honest reply gives no procedure's facts."""
    result = Scores(name)

    async def run() -> None:
        for text, intent, gold in examples:
            parsed = await agent.parse_message(text)
            predicted = parsed["intent"]["name"]
            found = _answered(parsed.get("entities"), not_covered)
            result.total += 1
            if predicted == intent:
                result.intent_correct += 1
            else:
                result.confusions[(intent, predicted)] += 1
                result.misses.append((text, intent, predicted))
            result.entity_tp += len(found & gold)
            result.entity_fp += len(found - gold)
            result.entity_fn += len(gold - found)
            if found - gold and predicted not in NOT_ANSWERED_WITH_FACTS:
                case = (text, ",".join(sorted(gold)) or "-", ",".join(sorted(found)))
                if _asks_which(parsed.get("entities"), gold):
                    result.asked_which.append(case)
                else:
                    result.wrong_procedure.append(case)

    asyncio.run(run())
    return result


def report(results: list[Scores], test_file: Path, overlap_count: int, total: int) -> str:
    lines = [f"Held-out set: {test_file} ({total} messages; {overlap_count} also in training)",
             "", f"{'pipeline':<24} {'intent accuracy':>16} {'procedure F1':>13} {'wrong procedure':>16}"
             f" {'asked which':>12}"]
    lines += [f"{r.name:<24} {r.intent_accuracy:>16.3f} {r.entity_f1:>13.3f} {len(r.wrong_procedure):>16}"
              f" {len(r.asked_which):>12}" for r in results]
    for r in results:
        lines += ["", f"Most frequent intent confusions ({r.name}): expected -> predicted"]
        lines += [f"  {n:>3}  {a} -> {b}" for (a, b), n in r.confusions.most_common(8)]
    return "\n".join(lines)

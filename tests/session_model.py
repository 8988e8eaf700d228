"""The test session's model, trained once in a process of its own while the tests run.

``python -m tests.session_model DIR`` trains the repository's assistant into ``DIR/model`` with
``bot.build.training.train`` (what ``bot train`` runs), or copies ``models/current.tar.gz`` there
when that model was trained from exactly the present inputs (its fingerprint says so; the
README's setup command has just trained it), unless ``BOT_TEST_RETRAIN=1``. tests/conftest.py starts
it as soon as the collected tests include one that needs the model, so on two cores a training
overlaps the tests that do not; with pytest-xdist, a file lock makes the first worker start it
and the others find it started. Every worker waits for the exit-code file, written when the
training process has ended. ``scripts/test.sh`` starts the training earlier still, before the
Debian packages, ruff and ``bot validate`` (little CPU), in the folder it names in
``BOT_TEST_SESSION_MODEL``, where it writes the same files: the tests then find it started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from filelock import FileLock

from tests.paths import PROJECT, REPO

NAME = "test-full"
RETRAIN = "BOT_TEST_RETRAIN"  # "1": train the session's model even when the project's is current
TIMEOUT = 1800.0  # seconds: a training on a machine busy with other work
STARTED_BEFORE = "BOT_TEST_SESSION_MODEL"  # the folder of a training scripts/test.sh has started


class SessionModel:
    """The files of one session's training, in a folder every worker of the session shares."""

    def __init__(self, shared: Path) -> None:
        self.process: subprocess.Popen | None = None  # set in the process that started it
        self._reaper: threading.Thread | None = None
        before = os.environ.get(STARTED_BEFORE)
        self.folder = Path(before) if before else shared / "session-model"
        self.model = self.folder / "model" / f"{NAME}.tar.gz"
        self.log = self.folder / "training.log"
        self.exit_code = self.folder / "exit-code"

    def start(self) -> None:
        """Starts the training unless a worker of this session has started it already."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.folder / "start.lock")):
            started = self.folder / "started"
            if started.exists():
                return
            with self.log.open("wb") as log:
                process = subprocess.Popen([sys.executable, "-m", "tests.session_model", str(self.folder)],
                                           cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            started.write_text(f"{process.pid}\n")
        self.process = process
        self._reaper = threading.Thread(target=self._reap, daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        code = self.process.wait()
        temporary = self.exit_code.with_suffix(".tmp")
        temporary.write_text(f"{code}\n")
        temporary.replace(self.exit_code)

    def finish(self, interrupted: bool) -> None:
        """At the end of the starting process's tests: the training is left to end (another worker
        may still wait for it), unless the session was interrupted."""
        if self.process is None:
            return
        if interrupted and self.process.poll() is None:
            self.process.terminate()
        self._reaper.join()

    def wait(self) -> Path:
        """The trained model; fails with the end of the training's log if it could not train."""
        self.start()  # a no-op when collection has started it, as it does unless it was skipped
        deadline = time.monotonic() + TIMEOUT
        while not self.exit_code.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no model after {TIMEOUT:.0f} s; log: {self.log}")
            time.sleep(0.2)
        code = int(self.exit_code.read_text())
        if code != 0 or not self.model.exists():
            log = self.log.read_text(encoding="utf-8", errors="replace")[-5000:]
            raise RuntimeError(f"the session model did not train (exit code {code}):\n{log}")
        return self.model


def main(folder: Path) -> None:
    from bot.build.fingerprint import is_current, stamp_file

    project_model = PROJECT.models / "current.tar.gz"
    if os.environ.get(RETRAIN) != "1" and is_current(project_model, PROJECT, PROJECT.config):
        # `bot train` (scripts/setup.sh, or a developer) made it from exactly these inputs
        model = folder / "model" / f"{NAME}.tar.gz"
        model.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project_model, model)
        shutil.copyfile(stamp_file(project_model), stamp_file(model))
        print(f"the project's model is current: {project_model}", flush=True)
        return

    from bot.build.training import train
    from bot.cli.quiet import quiet

    # Rasa's training cache is keyed on config and data, not on our components' code: a cached
    # resource from an older tokenizer could be reused. Tests always train from scratch.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    quiet()
    train(PROJECT, PROJECT.config, folder / "model", NAME)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

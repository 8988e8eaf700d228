"""The repository stands on its own: no file points outside it or at one machine's folders.

A reference to notes kept in a ``shared`` folder beside a checkout, or to a path of a particular
machine (a ``work``, ``root`` or ``opt`` folder at the top of the filesystem, a home directory,
pytest's temporary folders, a Windows drive) means nothing to someone who clones the repository.
Facts belong in ``docs/`` with their public source; paths are relative to the repository.

System paths that Debian packages install (``/usr/lib/kannel/...``, ``/etc/kannel/...``,
``/var/log/kannel``) and URL paths (``/cgi-bin/sendsms``) are the same everywhere and allowed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.paths import REPO

# What may stand right before an absolute path: the start of the line, a space, a quote, a
# bracket, ``=``, ``,`` or ``:`` (``PATH=...:/root/...``). A path inside a URL follows a host
# name and is not matched.
_BEFORE_PATH = r"(?:^|(?<=[\s\"'`(\[{<=,:;]))"

# (name, pattern): each is searched line by line in every file git tracks.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sibling shared folder", re.compile(r"\.\./shared\b")),
    ("shared reference notes", re.compile(r"\bshared/reference\b")),
    ("/work path", re.compile(_BEFORE_PATH + r"/work/")),
    ("/root path", re.compile(_BEFORE_PATH + r"/root/")),
    ("/opt path", re.compile(_BEFORE_PATH + r"/opt/")),
    ("Linux home directory", re.compile(_BEFORE_PATH + r"/home/[^/\s]+/")),
    ("macOS home directory", re.compile(_BEFORE_PATH + r"/Users/[^/\s]+")),
    ("pytest temporary folder", re.compile(r"/tmp/pytest-")),
    ("Windows drive", re.compile(r"(?<![A-Za-z0-9_])[A-Z]:\\\\?[A-Za-z0-9_ .-]+\\")),
)

# Not checked: this file, whose samples below must hold the patterns.
SELF = Path(__file__).resolve().relative_to(REPO).as_posix()
# Only used when the tree is not a git checkout (an unpacked archive).
_SKIPPED_DIRS = frozenset({".git", ".venv", "venv", ".ruff_cache", ".pytest_cache", "__pycache__",
                           "models", "var", ".mypy_cache", "node_modules"})


def tracked_files(root: Path) -> list[str]:
    """Paths (relative, POSIX) of the files git tracks, or of the tree minus generated folders."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True,
                                 check=True, timeout=60).stdout
        return sorted(name for name in listing.decode("utf-8").split("\0") if name)
    except (OSError, subprocess.SubprocessError):
        return sorted(path.relative_to(root).as_posix() for path in root.rglob("*")
                      if path.is_file() and not _SKIPPED_DIRS.intersection(path.relative_to(root).parts))


def findings(line: str) -> list[str]:
    """Names of the patterns ``line`` matches."""
    return [name for name, pattern in PATTERNS if pattern.search(line)]


def scan(root: Path, names: list[str]) -> list[str]:
    """``path:line: pattern: text`` for every offending line of the text files in ``names``."""
    problems = []
    for name in names:
        path = root / name
        if name == SELF or not path.is_file():  # a deleted file git still lists
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            for pattern_name in findings(line):
                problems.append(f"{name}:{number}: {pattern_name}: {line.strip()[:160]}")
    return problems


def test_no_file_refers_outside_the_repository():
    names = tracked_files(REPO)
    assert len(names) > 50, f"only {len(names)} files found under {REPO}"
    problems = scan(REPO, names)
    assert not problems, "references outside the repository:\n" + "\n".join(problems)


# The samples are put together from pieces, so that this file itself holds no such reference.
SIBLING = "../" "shared"
WORK = "/" "work"

# One line per pattern that the checker must flag, with the pattern it must name.
FLAGGED = [
    (f"Facts from {SIBLING}/reference/channels.md section 3.", "sibling shared folder"),
    ("see shared/reference/procedures.md", "shared reference notes"),
    (f"do NOT open anything under {WORK}/main", "/work path"),
    ("                     /root/.pyenv/versions/3.10*/bin/python3.10", "/root path"),
    ('PATH="/opt/kannel/sbin:$PATH"', "/opt path"),
    ("cp /home/alice/kannel.conf .", "Linux home directory"),
    ("open('/Users/bob/notes.md')", "macOS home directory"),
    ("E   FileNotFoundError: /tmp/pytest-of-root/pytest-3/test0/x", "pytest temporary folder"),
    (r"python C:\Users\bob\bot\cli.py", "Windows drive"),
    (r'"C:\\bot\\var"', "Windows drive"),
]

# Strings the repository uses legitimately.
NOT_FLAGGED = [
    "https://core.telegram.org/bots/api#setwebhook",
    "Telegram POSTs every update to `https://<host>/webhooks/telegram/webhook`",
    'DEFAULT_SENDSMS_URL = "http://127.0.0.1:13013/cgi-bin/sendsms"',
    'CS_PATH = "/v3.0/oa/message/cs"',
    'DEFAULT_TOKEN_FILE = "var/zalo_tokens.json"',
    "database: var/bot.db",
    "/usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r 13010",
    'log-file = "/var/log/kannel/smsbox.log"',
    "Write `/etc/kannel/kannel.conf`.",
    "https://github.com/chatwoot/chatwoot/blob/develop/app/controllers/webhooks/zalo_oa_controller.rb",
    "https://example.org/home/page/ and https://example.org/work/x",
    'GSM7_EXTENSION = frozenset("^{}\\\\[~]|€")',
    '"a:\\n"',
    "docs/channels/sms.md, tests/connectors/kannel/kannel.conf.in",
]


@pytest.mark.parametrize(("line", "expected"), FLAGGED)
def test_the_checker_flags_each_pattern(line, expected):
    assert expected in findings(line)


def test_every_pattern_has_a_sample():
    assert {name for name, _ in PATTERNS} == {expected for _, expected in FLAGGED}


@pytest.mark.parametrize("line", NOT_FLAGGED)
def test_the_checker_leaves_legitimate_strings_alone(line):
    assert findings(line) == []


def test_the_checker_names_file_and_line(tmp_path):
    (tmp_path / "notes.md").write_text(f"fine\nsee {SIBLING}/reference/x.md\n", encoding="utf-8")
    assert scan(tmp_path, ["notes.md"]) == [
        f"notes.md:2: sibling shared folder: see {SIBLING}/reference/x.md",
        f"notes.md:2: shared reference notes: see {SIBLING}/reference/x.md",
    ]

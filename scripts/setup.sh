#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the project. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    # pyenv's own root when pyenv is on PATH, else its default root under $HOME.
    for candidate in python3.10 "$(pyenv root 2>/dev/null)/versions/3.10"*/bin/python3.10 \
                     "${PYENV_ROOT:-$HOME/.pyenv}/versions/3.10"*/bin/python3.10 /usr/bin/python3.10; do
        if [ -x "$(command -v "$candidate" 2>/dev/null)" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ]; then
    PY=$(find_python) || { echo "Python 3.10 is required (rasa 3.6 needs <3.11): install it, e.g. 'pyenv install 3.10'" >&2; exit 1; }
    echo "Creating .venv with $PY"
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "Installed: $(.venv/bin/bot --version)"

#!/usr/bin/env bash
# Installs Debian's Chromium for the test that renders `bot report --html`, unless it is there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
exec bash "$(dirname "$0")/debian-packages.sh" --no-install-recommends chromium fonts-dejavu-core

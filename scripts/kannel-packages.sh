#!/usr/bin/env bash
# Installs Debian's Kannel for the SMS end-to-end test, unless it is already there.
# kannel: bearerbox and smsbox; kannel-extras: fakesmsc, the fake phone network.
set -euo pipefail
if [ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] && [ -x /usr/lib/kannel/test/fakesmsc ]; then
  exit 0
fi
exec bash "$(dirname "$0")/debian-packages.sh" kannel kannel-extras

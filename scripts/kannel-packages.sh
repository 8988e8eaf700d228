#!/usr/bin/env bash
# Installs Debian's Kannel for the SMS end-to-end test, unless it is already there.
# kannel: bearerbox and smsbox; kannel-extras: fakesmsc, the fake phone network.
set -euo pipefail
if [ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] && [ -x /usr/lib/kannel/test/fakesmsc ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
# policy-rc.d keeps the packages' init scripts from starting a system-wide Kannel.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kannel kannel-extras >/dev/null

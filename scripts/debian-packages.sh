#!/usr/bin/env bash
# Installs Debian packages for the tests without starting any service: policy-rc.d keeps the
# packages' init scripts from starting system-wide servers (Kannel, PostgreSQL, Redis), which the
# tests start themselves on 127.0.0.1.
#
#   debian-packages.sh [--no-install-recommends] PACKAGE...
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null

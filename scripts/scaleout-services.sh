#!/usr/bin/env bash
# PostgreSQL and Redis from Debian's packages, for the scale-out tests (pytest -m scaleout).
#
#   scaleout-services.sh install     installs postgresql and redis-server unless already there
#   scaleout-services.sh start DIR   starts both on 127.0.0.1 at free ports, data under DIR (a new,
#                                    empty folder); prints DATABASE_URL=... and REDIS_URL=...
#   scaleout-services.sh stop DIR    stops what `start DIR` started (safe to call twice)
#
# The tests call start and stop from a session fixture (tests/serving/scaleout_services.py), so a
# failing test still stops both servers. PostgreSQL refuses to run as root: as root, its commands
# run as the `postgres` user the package creates.
set -euo pipefail

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$dir" ]; then echo "PostgreSQL is not installed: run $0 install" >&2; exit 1; fi
  echo "$dir"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install() {
  if [ -x /usr/bin/redis-server ] && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    return 0
  fi
  bash "$(dirname "$0")/debian-packages.sh" postgresql redis-server
}

start() {
  local dir=$1 bin pg_port redis_port
  bin=$(pg_bin)
  mkdir -p "$dir/pg" "$dir/run"
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir/pg" "$dir/run"; chmod 755 "$dir"; fi
  pg_port=$(free_port)
  redis_port=$(free_port)
  as_postgres "$bin/initdb" -D "$dir/pg/data" -U bot --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # fsync off: a throwaway test cluster; sockets in DIR, not /var/run
  as_postgres "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/run/postgres.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $pg_port -k $dir/run -F -c max_connections=100" start >/dev/null \
    || { cat "$dir/run/postgres.log" >&2; exit 1; }
  as_postgres "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U bot bot
  echo "$pg_port" >"$dir/pg_port"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 50); do
    [ -s "$dir/redis.pid" ] && break
    sleep 0.1
  done
  echo "DATABASE_URL=postgresql://bot@127.0.0.1:$pg_port/bot"
  echo "REDIS_URL=redis://127.0.0.1:$redis_port/0"
}

stop() {
  local dir=$1
  if [ -d "$dir/pg/data" ] && [ -f "$dir/pg/data/postmaster.pid" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -m immediate -w -t 30 stop >/dev/null || true
  fi
  if [ -s "$dir/redis.pid" ]; then
    kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -f "$dir/redis.pid"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?a data folder}" ;;
  stop) stop "${2:?a data folder}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac

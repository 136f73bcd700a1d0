#!/usr/bin/env bash
# Distributed mode on one machine: every role of DeviceVault as its own
# process, against local RabbitMQ, Redis and PostgreSQL.
#
#   ./devicevault.sh start | stop | status | logs <role>
#
# Settings come from the environment (defaults below); roles log JSON lines to
# $DEVICEVAULT_RUN_DIR/<role>.log and their pids live in $DEVICEVAULT_RUN_DIR/<role>.pid.
set -euo pipefail

: "${DEVICEVAULT_BIN:=$(command -v devicevault || echo target/release/devicevault)}"
: "${DEVICEVAULT_RUN_DIR:=./devicevault-run}"
: "${DEVICEVAULT_DATA_DIR:=./devicevault-data}"
: "${DEVICEVAULT_BROKER_URL:=amqp://guest:guest@localhost:5672/%2f}"
: "${DEVICEVAULT_REDIS_URL:=redis://localhost:6379/1}"
: "${DEVICEVAULT_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/devicevault}"
: "${DEVICEVAULT_HTTP_ADDR:=127.0.0.1:8000}"
: "${DEVICEVAULT_COLLECTOR_GROUPS:=default}"   # space-separated rabbitmq_queue_ids
export DEVICEVAULT_DATA_DIR DEVICEVAULT_BROKER_URL DEVICEVAULT_REDIS_URL \
  DEVICEVAULT_DATABASE_URL DEVICEVAULT_HTTP_ADDR

# role name → arguments of `devicevault`
roles() {
  echo "api|api"
  echo "scheduler|scheduler"
  echo "notifier|notifier"
  echo "consume-device-results|consume device-results"
  echo "consume-storage-results|consume storage-results"
  echo "storage-worker-git|storage-worker --backend git"
  echo "storage-worker-fs|storage-worker --backend fs"
  local groups="" g
  for g in $DEVICEVAULT_COLLECTOR_GROUPS; do groups="$groups --group $g"; done
  echo "collector|collector$groups"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

create_database() {
  case "$DEVICEVAULT_DATABASE_URL" in
    postgres*://*)
      local base="${DEVICEVAULT_DATABASE_URL%/*}" name="${DEVICEVAULT_DATABASE_URL##*/}"
      name="${name%%\?*}"
      if command -v psql >/dev/null &&
         ! psql "$base/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        psql "$base/postgres" -qc "CREATE DATABASE \"$name\"" && echo "created database $name"
      fi ;;
  esac
}

start() {
  [ -x "$DEVICEVAULT_BIN" ] || { echo "no devicevault binary at $DEVICEVAULT_BIN (cargo build --release)" >&2; exit 1; }
  mkdir -p "$DEVICEVAULT_RUN_DIR" "$DEVICEVAULT_DATA_DIR"
  create_database
  local line name args
  # The API first: it migrates the database and creates the key file.
  while IFS= read -r line; do
    name="${line%%|*}"; args="${line#*|}"
    if running "$DEVICEVAULT_RUN_DIR/$name.pid"; then
      echo "$name already running (pid $(cat "$DEVICEVAULT_RUN_DIR/$name.pid"))"; continue
    fi
    # shellcheck disable=SC2086
    nohup "$DEVICEVAULT_BIN" $args >>"$DEVICEVAULT_RUN_DIR/$name.log" 2>&1 &
    echo $! >"$DEVICEVAULT_RUN_DIR/$name.pid"
    echo "started $name (pid $!)"
    if [ "$name" = api ]; then sleep 2; fi
  done < <(roles)
}

stop() {
  local line name pidfile
  while IFS= read -r line; do
    name="${line%%|*}"; pidfile="$DEVICEVAULT_RUN_DIR/$name.pid"
    if running "$pidfile"; then
      kill -TERM "$(cat "$pidfile")"   # roles finish or hand back in-flight work
      echo "stopping $name"
    fi
  done < <(roles)
  local deadline=$((SECONDS + 30))
  while IFS= read -r line; do
    name="${line%%|*}"; pidfile="$DEVICEVAULT_RUN_DIR/$name.pid"
    while running "$pidfile" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if running "$pidfile"; then kill -KILL "$(cat "$pidfile")"; echo "killed $name"; fi
    rm -f "$pidfile"
  done < <(roles)
}

status() {
  local line name pidfile rc=0
  while IFS= read -r line; do
    name="${line%%|*}"; pidfile="$DEVICEVAULT_RUN_DIR/$name.pid"
    if running "$pidfile"; then printf '%-26s running (pid %s)\n' "$name" "$(cat "$pidfile")"
    else printf '%-26s stopped\n' "$name"; rc=3; fi
  done < <(roles)
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart) stop; start ;;
  logs) tail -f "$DEVICEVAULT_RUN_DIR/${2:?which role?}.log" ;;
  *) echo "usage: $0 start|stop|restart|status|logs <role>" >&2; exit 2 ;;
esac

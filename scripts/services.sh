# Sourced by scripts/test: make sure the local services the suite talks to are
# installed and running. Each function is a no-op when the service answers.

log() { printf '[scripts/test] %s\n' "$*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "need root to install $*; install them and re-run"; return 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

wait_until() { # wait_until SECONDS CMD...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
  port_open 5432 && return 0
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  log "starting PostgreSQL"
  local version; version=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  wait_until 30 port_open 5432 || { log "PostgreSQL did not start"; return 1; }
}

ensure_redis() {
  port_open 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >&2
  wait_until 30 port_open 6379 || { log "Redis did not start"; return 1; }
}

ensure_rabbitmq() {
  port_open 5672 && return 0
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  log "starting RabbitMQ"
  rabbitmq-server -detached >&2 || true
  wait_until 60 rabbitmqctl await_startup || { log "RabbitMQ did not start"; return 1; }
}

ensure_git() {
  command -v git >/dev/null || apt_install git
}

ensure_nextest() {
  cargo nextest --version >/dev/null 2>&1 && return 0
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest >&2
}

# libfaketime, to run the date-sensitive suites under shifted clocks.
ensure_faketime() {
  command -v faketime >/dev/null || apt_install faketime
}

# dpkg-deb and adduser, for scripts/test-deb (builds, installs and removes
# the Debian package).
ensure_deb_tools() {
  command -v dpkg-deb >/dev/null || apt_install dpkg
  command -v adduser >/dev/null || apt_install adduser
}

# Tools the tests call: openssl makes test certificates, GNU patch applies
# a diff that arrived by mail.
ensure_cli_tools() {
  command -v openssl >/dev/null || apt_install openssl
  command -v patch >/dev/null || apt_install patch
}

# promtool (Debian's prometheus package) checks the /metrics exposition.
# The package's own server is not wanted running: only the tool is used.
ensure_promtool() {
  command -v promtool >/dev/null && return 0
  apt_install prometheus || return 1
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
}

ensure_ssh_clients() {
  command -v ssh >/dev/null || apt_install openssh-client
  command -v sshpass >/dev/null || apt_install sshpass
}

# Python peers (fakenos, later netmiko and Celery) live in .venv-peers.
ensure_python_peers() {
  local venv=.venv-peers
  if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    python3 -m venv "$venv" >&2 || { apt_install python3-venv && python3 -m venv "$venv" >&2; }
  fi
  local missing=()
  for pkg in "$@"; do
    "$venv/bin/python" -m pip show -q "${pkg%%==*}" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}" >&2
  fi
}

# Debian's headless Chromium and npm's playwright-core, for the web UI's
# browser tests (crates/devicevault-server/tests/browser; no browser is
# downloaded by npm: playwright-core drives /usr/bin/chromium).
ensure_browser() {
  [ -x /usr/bin/chromium ] || apt_install chromium fonts-dejavu-core
  { command -v node >/dev/null && command -v npm >/dev/null; } || apt_install nodejs npm
  local dir=crates/devicevault-server/tests/browser
  if [ ! -d "$dir/node_modules/playwright-core" ] || [ ! -d "$dir/node_modules/axe-core" ]; then
    log "installing playwright-core into $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

# OpenLDAP's slapd, its client tools and openssl, for devicevault-identity's
# directory tests: each test starts its own slapd on free ports with its own
# configuration. Installing the package would start a system slapd on port
# 389; a policy-rc.d (Debian's switch for that) keeps it stopped.
ensure_slapd() {
  [ -x /usr/sbin/slapd ] && command -v ldapmodify >/dev/null && command -v openssl >/dev/null \
    && return 0
  local policy=/usr/sbin/policy-rc.d created=""
  if [ "$(id -u)" = 0 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/test: no service starts while slapd is installed\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created=1
  fi
  log "installing slapd and ldap-utils (the system service is not started)"
  local rc=0
  apt_install slapd ldap-utils openssl || rc=$?
  [ -z "$created" ] || rm -f "$policy"
  return "$rc"
}

# npm's oidc-provider (a certified OpenID Connect implementation) for
# devicevault-identity's single sign-on tests, which run it under Node
# (crates/devicevault-identity/tests/oidc-provider; Node 20 or later).
ensure_oidc_provider() {
  { command -v node >/dev/null && command -v npm >/dev/null; } || apt_install nodejs npm
  local dir=crates/devicevault-identity/tests/oidc-provider
  if [ ! -d "$dir/node_modules/oidc-provider" ]; then
    log "installing oidc-provider into $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 with trust auth and a database `test`,
# as the tests expect (HUB_TEST_POSTGRES_URL). In order: already answering; start an
# existing Debian cluster; install Debian's postgresql, trust 127.0.0.1, start it.
# Says what it did. When all of that fails it prints a loud MISSING line and still exits 0:
# the PostgreSQL tests then fail by themselves.
# For development and CI machines only: trust auth is never a production setting.
set -u
HOST=127.0.0.1
PORT=5432

answers() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$HOST" -p "$PORT" -t 2
  else
    "${PYTHON:-python3}" -c "import socket; socket.create_connection(('$HOST', $PORT), 2).close()" 2>/dev/null
  fi
}

wait_answers() {
  for _ in $(seq 1 30); do answers && return 0; sleep 0.5; done
  return 1
}

if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  sudo=(false)   # every privileged step below then fails and is reported
  why="not root, and no password-less sudo to start or install it"
fi

start_clusters() {
  local v
  for v in $(ls /etc/postgresql 2>/dev/null); do
    [ -d "/etc/postgresql/$v/main" ] || continue
    echo "services: starting PostgreSQL cluster $v/main"
    "${sudo[@]}" pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>&1 | sed 's/^/services:   /'
  done
}

trust_localhost() {
  local v hba
  for v in $(ls /etc/postgresql 2>/dev/null); do
    hba=/etc/postgresql/$v/main/pg_hba.conf
    [ -f "$hba" ] || continue
    if ! "${sudo[@]}" grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      # first matching line wins: put the trust lines before Debian's defaults
      "${sudo[@]}" sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba" \
        && echo "services: trust auth for 127.0.0.1 in $hba"
    fi
    "${sudo[@]}" pg_ctlcluster --skip-systemctl-redirect "$v" main reload >/dev/null 2>&1 || true
  done
}

if answers; then
  echo "services: PostgreSQL at $HOST:$PORT answers"
else
  if [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    start_clusters
  elif command -v apt-get >/dev/null; then
    echo "services: PostgreSQL is not installed: installing Debian's postgresql"
    "${sudo[@]}" apt-get update -qq \
      && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
      || echo "services: apt-get install postgresql failed"
    trust_localhost
    start_clusters
  fi
  if wait_answers; then
    echo "services: PostgreSQL at $HOST:$PORT answers"
  fi
fi

if ! answers; then
  echo "services: ******************************************************************"
  echo "services: MISSING: PostgreSQL at $HOST:$PORT — the PostgreSQL tests will fail"
  [ -n "${why:-}" ] && echo "services: ($why)"
  echo "services: ******************************************************************"
  exit 0
fi

# The database the tests use. -w: never prompt for a password (CI has no stdin).
out=$(psql -w -h "$HOST" -p "$PORT" -U postgres -c 'create database test' 2>&1)
if [ $? -eq 0 ]; then
  echo "services: created database test"
elif [[ "$out" == *"already exists"* ]]; then
  echo "services: database test exists"
else
  echo "services: MISSING: database test on $HOST:$PORT (${out//$'\n'/ }) — the PostgreSQL tests will fail"
fi
exit 0

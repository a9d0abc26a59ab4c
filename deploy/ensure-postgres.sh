#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 with a database `test` (trust auth), as the
# tests expect. Says what it did; says MISSING loudly when it cannot, and never fails the make.
set -u
answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! answers; then
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "services: starting the PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "services: installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null || true
    ver=$(ls /etc/postgresql 2>/dev/null | head -1)
    if [ -n "$ver" ]; then
      hba=/etc/postgresql/$ver/main/pg_hba.conf
      printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' > "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start || pg_ctlcluster --skip-systemctl-redirect "$ver" main restart || true
    fi
  fi
  for _ in $(seq 1 30); do answers && break; sleep 0.5; done
fi
if answers; then
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null 2>&1 || true
  echo "services: PostgreSQL at 127.0.0.1:5432 answers"
else
  echo "services: MISSING PostgreSQL at 127.0.0.1:5432: the PostgreSQL tests will fail"
fi
exit 0

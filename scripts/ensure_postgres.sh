#!/usr/bin/env bash
# Find a PostgreSQL server for hitflow and print its admin URL on stdout (messages go to stderr).
# Order: $HITFLOW_DB_URL; the server on 127.0.0.1:5432; the machine's cluster started with
# pg_ctlcluster; a throwaway cluster in .run/pgdata made with the machine's binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "ensure_postgres: $*" >&2; }
answers() { pg_isready -q -h "$1" -p "$2" -t 2 2>/dev/null; }

if [[ -n "${HITFLOW_DB_URL:-}" ]]; then
  echo "$HITFLOW_DB_URL"; exit 0
fi
# A fresh machine: as root with apt, install Debian's PostgreSQL (the throwaway cluster below uses
# its binaries); otherwise say what to install.
if ! command -v pg_isready >/dev/null || ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing PostgreSQL (Debian's postgresql package)"
    mkdir -p /etc/postgresql-common
    [[ -e /etc/postgresql-common/createcluster.conf ]] || echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } >&2
  fi
fi
if ! command -v pg_isready >/dev/null; then
  say "no PostgreSQL client tools found. Install PostgreSQL 15 or newer (Debian: apt-get install postgresql) or set HITFLOW_DB_URL=postgresql://USER@HOST:PORT/postgres"
  exit 1
fi
if answers 127.0.0.1 5432; then
  echo "postgresql://postgres@127.0.0.1:5432/postgres"; exit 0
fi
if [[ -n "$(ls /etc/postgresql 2>/dev/null)" ]] && command -v pg_ctlcluster >/dev/null; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "nothing answers on 127.0.0.1:5432; starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  for _ in $(seq 1 30); do answers 127.0.0.1 5432 && break; sleep 0.5; done
  # Only if it lets postgres in without a password, as the URL says; else the throwaway cluster.
  if psql -qtA "postgresql://postgres@127.0.0.1:5432/postgres" -c "SELECT 1" >/dev/null 2>&1 </dev/null; then
    echo "postgresql://postgres@127.0.0.1:5432/postgres"; exit 0
  fi
fi
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bindir" ]]; then
  say "no PostgreSQL server binaries found. Install PostgreSQL (Debian: apt-get install postgresql) or set HITFLOW_DB_URL"
  exit 1
fi
port=${HITFLOW_THROWAWAY_PG_PORT:-5439}
data=$PWD/.run/pgdata sock=$PWD/.run/pgsock
# As root the cluster runs as nobody, who may not reach the checkout (a clone in /root, mode 700:
# seen on a fresh machine): then it lives under /var/tmp, one per checkout.
if [[ $(id -u) == 0 ]] && ! runuser -u nobody -- test -x "$PWD" 2>/dev/null; then
  base=/var/tmp/hitflow-pg-$(printf '%s' "$PWD" | cksum | cut -d' ' -f1)
  data=$base/pgdata sock=$base/pgsock
  say "nobody cannot reach $PWD: the throwaway cluster lives in $base"
fi
if answers 127.0.0.1 "$port"; then echo "postgresql://postgres@127.0.0.1:$port/postgres"; exit 0; fi
mkdir -p "$sock"
run=(); [[ $(id -u) == 0 ]] && run=(runuser -u nobody --)  # initdb refuses root
if [[ ! -f $data/PG_VERSION ]]; then
  mkdir -p "$data"; [[ $(id -u) == 0 ]] && chown nobody "$data" "$sock"
  say "creating a throwaway cluster in $data"
  "${run[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust >&2
fi
"${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
  -o "-p $port -k $sock -c listen_addresses=127.0.0.1" start >&2
echo "postgresql://postgres@127.0.0.1:$port/postgres"

#!/usr/bin/env bash
# The official postgres image's first-start contract, from Debian's packages: an empty PGDATA
# gets a cluster whose superuser is POSTGRES_USER (password POSTGRES_PASSWORD, required) and a
# database POSTGRES_DB; network logins need the password (scram-sha-256). Later starts reuse it.
set -euo pipefail

if [[ "${1:-}" != "postgres" ]]; then
    exec "$@"
fi
if [[ "$(id -u)" == "0" ]]; then
    mkdir -p "${PGDATA}" /var/run/postgresql
    chown postgres:postgres "${PGDATA}" /var/run/postgresql
    chmod 0700 "${PGDATA}"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-${user}}"
if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
    if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
        echo "entrypoint: POSTGRES_PASSWORD is required to set the database up" >&2
        exit 1
    fi
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD}" >"${pwfile}"
    initdb -D "${PGDATA}" --username="${user}" --pwfile="${pwfile}" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "${pwfile}"
    echo "host all all all scram-sha-256" >>"${PGDATA}/pg_hba.conf"
    # Create the database on a server that listens on the socket only, then stop it.
    pg_ctl -D "${PGDATA}" -o "-c listen_addresses='' -k /var/run/postgresql" -w start >/dev/null
    if [[ "${db}" != "postgres" ]]; then
        psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "${user}" -d postgres \
            -c "CREATE DATABASE \"${db}\"" >/dev/null
    fi
    pg_ctl -D "${PGDATA}" -m fast -w stop >/dev/null
    echo "entrypoint: initialised ${PGDATA} (user ${user}, database ${db})"
fi
exec postgres -c listen_addresses='*' -k /var/run/postgresql "${@:2}"

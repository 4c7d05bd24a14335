#!/usr/bin/env bash
# What docker-compose.yaml expects of the official image's entrypoint: name the container's uid,
# wait for Airflow's database (CONNECTION_CHECK_MAX_COUNT tries, 0 = don't), then run `bash …`,
# `python …` or `airflow …` as given, and anything else as `airflow <args>`.
set -euo pipefail

if ! whoami >/dev/null 2>&1 && [[ -w /etc/passwd ]]; then
    echo "airflow:x:$(id -u):0:airflow:${AIRFLOW_USER_HOME_DIR}:/bin/bash" >>/etc/passwd
fi
export HOME="${AIRFLOW_USER_HOME_DIR}"

wait_for_airflow_db() {
    local max="${CONNECTION_CHECK_MAX_COUNT:-20}" sleep_s="${CONNECTION_CHECK_SLEEP_TIME:-3}" n=0
    [[ "${max}" -gt 0 ]] || return 0
    until airflow db check >/dev/null 2>&1; do
        n=$((n + 1))
        if [[ "${n}" -ge "${max}" ]]; then
            echo "entrypoint: Airflow's database did not answer after ${n} tries" >&2
            airflow db check
            exit 1
        fi
        echo "entrypoint: waiting for Airflow's database (${n}/${max})" >&2
        sleep "${sleep_s}"
    done
}

case "${1:-}" in
    bash | python | python3 | pip)
        wait_for_airflow_db
        exec "$@"
        ;;
    airflow)
        shift
        wait_for_airflow_db
        exec airflow "$@"
        ;;
    --help | -h | version)
        exec airflow "$@"
        ;;
    *)
        wait_for_airflow_db
        exec airflow "$@"
        ;;
esac

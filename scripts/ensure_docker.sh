#!/usr/bin/env bash
# A Docker engine and Compose for `make images` / `make compose-test`: installs Debian's docker.io
# and docker-compose when they are missing and starts dockerd when nothing answers, as root;
# otherwise prints the commands to run. A dockerd started here is recorded in .run/dockerd.pid
# (`scripts/ensure_docker.sh --stop` stops it, and only it). Prints the compose command to use.
set -euo pipefail
cd "$(dirname "$0")/.."
PIDFILE=.run/dockerd.pid

if [[ "${1:-}" == "--stop" ]]; then
    if [[ -s "${PIDFILE}" ]]; then
        pid="$(cat "${PIDFILE}")"
        if kill -0 "${pid}" 2>/dev/null; then
            kill -TERM "${pid}"
            for _ in $(seq 60); do kill -0 "${pid}" 2>/dev/null || break; sleep 1; done
            echo "stopped the dockerd this project started (pid ${pid})" >&2
        fi
        rm -f "${PIDFILE}"
    fi
    exit 0
fi

root() { [[ "$(id -u)" == 0 ]]; }
need=()
command -v docker >/dev/null || need+=(docker.io)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    need+=(docker-compose)
fi
command -v dockerd >/dev/null || need+=(docker.io)
if ((${#need[@]})); then
    if ! root; then
        echo "Docker is missing. Install it (as root): apt-get install -y ${need[*]}" >&2
        exit 1
    fi
    echo "installing ${need[*]} (Debian's packages)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    if ! root; then
        echo "No Docker engine answers. Start it (as root): dockerd &   (or: systemctl start docker)" >&2
        exit 1
    fi
    mkdir -p .run
    echo "starting dockerd (log: .run/dockerd.log)" >&2
    nohup dockerd >.run/dockerd.log 2>&1 &
    echo $! >"${PIDFILE}"
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -20 .run/dockerd.log >&2; exit 1; }
fi

# Compose v2 (the plugin) when it is there, else Debian's docker-compose 1.29.
if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo "docker-compose"; fi

#!/usr/bin/env bash
# `make images`: every image docker-compose.yaml needs, built without a container registry, from
# Debian's packages and the pinned requirements.txt alone (README.md, "Deploy"):
#   hitflow-debian:bookworm      a base root filesystem made with debootstrap, loaded with docker import
#   $POSTGRES_IMAGE              PostgreSQL 15 from Debian (the official image's POSTGRES_* contract)
#   $REDIS_IMAGE                 Redis from Debian
#   $AIRFLOW_BASE_IMAGE          Apache Airflow from the host's wheels (pip download), installed offline
#   $HITFLOW_IMAGE               the repository's Dockerfile on top of $AIRFLOW_BASE_IMAGE
# An image that exists is kept (FORCE=1 rebuilds all). Prints the .env lines that select them.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${HITFLOW_BUILD_DIR:-.build}"
DEBIAN_IMAGE="${DEBIAN_IMAGE:-hitflow-debian:bookworm}"
AIRFLOW_VERSION="$(sed -n 's/^apache-airflow==//p' requirements.txt)"
AIRFLOW_BASE_IMAGE="${AIRFLOW_BASE_IMAGE:-hitflow-airflow-base:${AIRFLOW_VERSION}-python3.11}"
POSTGRES_IMAGE="${POSTGRES_IMAGE:-hitflow-postgres:15-bookworm}"
REDIS_IMAGE="${REDIS_IMAGE:-hitflow-redis:7-bookworm}"
HITFLOW_IMAGE="${HITFLOW_IMAGE:-hitflow-airflow:${AIRFLOW_VERSION}}"
PYTHON="${PYTHON:-.venv/bin/python}"
DOCKER="${DOCKER:-docker}"
FORCE="${FORCE:-0}"

have() { [[ "${FORCE}" != "1" ]] && "${DOCKER}" image inspect "$1" >/dev/null 2>&1; }
stamp() { printf '[images %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
timed() {
    local what="$1" start=${SECONDS}
    shift
    "$@"
    stamp "${what}: $((SECONDS - start)) s"
}

base_rootfs() {
    command -v debootstrap >/dev/null || {
        [[ "$(id -u)" == 0 ]] || { echo "debootstrap is missing: sudo apt-get install debootstrap" >&2; exit 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    [[ "$(id -u)" == 0 ]] || { echo "debootstrap needs root: sudo make images" >&2; exit 1; }
    local root="${BUILD_DIR}/rootfs-bookworm"
    rm -rf "${root}"
    mkdir -p "${BUILD_DIR}"
    # The mirror: DEBIAN_MIRROR, else debootstrap's own default.
    debootstrap --variant=minbase bookworm "${root}" ${DEBIAN_MIRROR:+"${DEBIAN_MIRROR}"} \
        >"${BUILD_DIR}/debootstrap.log" 2>&1 || { tail -20 "${BUILD_DIR}/debootstrap.log" >&2; exit 1; }
    rm -rf "${root}"/var/cache/apt/archives/*.deb "${root}"/var/lib/apt/lists/*
    tar -C "${root}" --numeric-owner -c . \
        | "${DOCKER}" import -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' - "${DEBIAN_IMAGE}" >/dev/null
    rm -rf "${root}"
}

wheels() {
    local dir="${BUILD_DIR}/airflow-context"
    rm -rf "${dir}" && mkdir -p "${dir}/wheels"
    cp deploy/images/airflow/{Dockerfile,entrypoint.sh,packages.txt} requirements.txt "${dir}/"
    # Wheels for Debian bookworm's Python (3.11.2) on x86-64, whatever Python the host runs. pip
    # evaluates dependency markers against the host's Python, so what bookworm's needs on top
    # (redis: async-timeout for Python < 3.11.3) is named here.
    "${PYTHON}" -m pip download -q --disable-pip-version-check -d "${dir}/wheels" \
        --only-binary=:all: --implementation cp --python-version 3.11.2 --abi cp311 --abi abi3 --abi none \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform linux_x86_64 --platform any \
        -c requirements.txt -r deploy/images/airflow/packages.txt async-timeout 2> >(grep -v "^WARNING: Location" >&2)
    stamp "$(ls "${dir}/wheels" | wc -l) wheels ($(du -sh "${dir}/wheels" | cut -f1))"
}

build() { # image, context, build args…
    local image="$1" context="$2"
    shift 2
    "${DOCKER}" build -q --build-arg "DEBIAN_IMAGE=${DEBIAN_IMAGE}" "$@" -t "${image}" "${context}" >/dev/null
}

have "${DEBIAN_IMAGE}" || timed "base root filesystem (debootstrap + docker import) ${DEBIAN_IMAGE}" base_rootfs
have "${POSTGRES_IMAGE}" || timed "${POSTGRES_IMAGE}" build "${POSTGRES_IMAGE}" deploy/images/postgres
have "${REDIS_IMAGE}" || timed "${REDIS_IMAGE}" build "${REDIS_IMAGE}" deploy/images/redis
if ! have "${AIRFLOW_BASE_IMAGE}"; then
    timed "wheels (pip download)" wheels
    timed "${AIRFLOW_BASE_IMAGE}" build "${AIRFLOW_BASE_IMAGE}" "${BUILD_DIR}/airflow-context"
    rm -rf "${BUILD_DIR}/airflow-context"
fi
# hitflow's image: always rebuilt (cheap when nothing changed: the layers are cached).
timed "${HITFLOW_IMAGE} (Dockerfile on ${AIRFLOW_BASE_IMAGE})" \
    "${DOCKER}" build -q --build-arg "AIRFLOW_BASE_IMAGE=${AIRFLOW_BASE_IMAGE}" -t "${HITFLOW_IMAGE}" . >/dev/null

cat <<MSG
Images ready. Select them in .env (docker compose reads it):
AIRFLOW_BASE_IMAGE=${AIRFLOW_BASE_IMAGE}
POSTGRES_IMAGE=${POSTGRES_IMAGE}
REDIS_IMAGE=${REDIS_IMAGE}
HITFLOW_IMAGE=${HITFLOW_IMAGE}
MSG

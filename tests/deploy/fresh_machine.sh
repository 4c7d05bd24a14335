#!/usr/bin/env bash
# §5 of the deploy story: `make demo` from a clean clone on a truly fresh machine: a container made
# from the bare Debian root filesystem of `make images` with only Python 3.11, git and make added
# (no PostgreSQL, no venv module, no compilers). The clone is made inside the container from this
# repository (mounted read-only). Packages from Debian come through apt as on any machine; Python
# packages come from a wheelhouse the host downloads (containers here reach no HTTPS registry), which
# pip and uv are pointed at with their own environment variables. Prints the timings.
#   tests/deploy/fresh_machine.sh [branch]      (default: the checked-out branch)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${HITFLOW_BUILD_DIR:-.build}"
BRANCH="${1:-$(git rev-parse --abbrev-ref HEAD)}"
DEBIAN_IMAGE="${DEBIAN_IMAGE:-hitflow-debian:bookworm}"
IMAGE=hitflow-fresh-machine:bookworm
PYTHON="${PYTHON:-.venv/bin/python}"
WHEELS="${BUILD_DIR}/wheelhouse-all"
COMMON="$(cd "$(git rev-parse --git-common-dir)" && pwd)"
say() { printf '[fresh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

docker image inspect "${DEBIAN_IMAGE}" >/dev/null 2>&1 || scripts/images.sh
start=${SECONDS}
docker build -q -t "${IMAGE}" - >/dev/null <<DOCKERFILE
FROM ${DEBIAN_IMAGE}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 git make \
    && rm -rf /var/lib/apt/lists/*
DOCKERFILE
say "image ${IMAGE} (bare Debian + python3, git, make): $((SECONDS - start)) s"

if [[ ! -d "${WHEELS}" ]]; then
    start=${SECONDS}
    mkdir -p "${WHEELS}"
    # Every pinned requirement for bookworm's Python 3.11.2 (markers are evaluated with the host's
    # Python, hence async-timeout by name), plus the uv the Makefile installs first.
    "${PYTHON}" -m pip download -q --disable-pip-version-check -d "${WHEELS}" --only-binary=:all: \
        --implementation cp --python-version 3.11.2 --abi cp311 --abi abi3 --abi none \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux2010_x86_64 --platform manylinux1_x86_64 --platform linux_x86_64 --platform any \
        -r requirements.txt async-timeout "$(grep -o 'uv==[0-9.]*' Makefile | head -1)" \
        2> >(grep -v "^WARNING: Location" >&2)
    say "wheelhouse ($(ls "${WHEELS}" | wc -l) wheels): $((SECONDS - start)) s"
fi

start=${SECONDS}
docker run --rm -v "${COMMON}:/origin.git:ro" -v "$(cd "${WHEELS}" && pwd):/wheels:ro" \
    -e PIP_NO_INDEX=1 -e PIP_FIND_LINKS=/wheels -e UV_OFFLINE=1 -e UV_FIND_LINKS=/wheels \
    -e BRANCH="${BRANCH}" "${IMAGE}" bash -euo pipefail -c '
        python3 --version; git --version | sed -n 1p; make --version | sed -n 1p  # sed reads to the end: no SIGPIPE under pipefail
        for tool in pg_isready psql initdb redis-server; do ! command -v $tool >/dev/null || { echo "not fresh: $tool"; exit 1; }; done
        git clone -q --branch "$BRANCH" /origin.git /root/hitflow && cd /root/hitflow
        time make demo
        echo "fresh-machine make demo: OK"
    '
say "make demo in the fresh container (clone, venv, PostgreSQL install, demo): $((SECONDS - start)) s"

#!/usr/bin/env bash
# Make a real Docker Engine and the base image launchdeck-base:bookworm-py311 available.
# Idempotent: installs only what is missing, starts dockerd only if it does not answer, and
# builds the base image only if the engine lacks it (from a cached rootfs tarball when there is
# one, so a restarted engine re-imports in seconds instead of debootstrapping again).
set -euo pipefail

BASE_IMAGE="${DECK_BASE_IMAGE:-launchdeck-base:bookworm-py311}"
# The base image plus a Java runtime: what a user's base image needs for Framework PySpark.
JAVA_IMAGE="${DECK_JAVA_IMAGE:-launchdeck-base-jre17:bookworm-py311}"
CACHE_DIR="${DECK_INFRA_CACHE:-/var/cache/launchdeck}"
ROOTFS_TAR="$CACHE_DIR/bookworm-py311-rootfs.tar"
LOG=/var/log/dockerd.log

say() { echo "docker.sh: $*" >&2; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
if ((${#need_apt[@]})); then
    say "installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != unix:///var/run/docker.sock ]]; then
        say "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine for it"
        exit 1
    fi
    say "starting dockerd (log: $LOG)"
    # setsid: the engine must outlive this script and the test session that ran it.
    setsid dockerd --host unix:///var/run/docker.sock >>"$LOG" 2>&1 < /dev/null &
    for _ in $(seq 1 120); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { say "dockerd did not answer in 60 s; see $LOG"; tail -20 "$LOG" >&2; exit 1; }
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    mkdir -p "$CACHE_DIR"
    if [[ ! -s "$ROOTFS_TAR" ]]; then
        say "building $BASE_IMAGE with debootstrap (a few minutes, once per machine)"
        rootfs="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
        trap 'rm -rf "$rootfs"' EXIT
        debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
            bookworm "$rootfs" >/dev/null
        # Package lists and caches only make the image bigger.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -cf "$ROOTFS_TAR.part" .
        mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
        rm -rf "$rootfs"
        trap - EXIT
    fi
    say "importing $BASE_IMAGE from $ROOTFS_TAR"
    docker import -c 'CMD ["python3"]' "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
fi

if ! docker image inspect "$JAVA_IMAGE" >/dev/null 2>&1; then
    say "building $JAVA_IMAGE (the base image with openjdk-17-jre-headless, about a minute)"
    # The image is not saved to the cache: apt in a container is about as fast as loading it.
    printf '%s\n' "FROM $BASE_IMAGE" \
        'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless procps >/dev/null && rm -rf /var/lib/apt/lists/*' \
        | docker build -q -t "$JAVA_IMAGE" - >/dev/null
fi

echo "$JAVA_IMAGE"
echo "$BASE_IMAGE"

#!/usr/bin/env bash
# Installs what a step needs on a fresh Debian machine, once; later runs find it and do nothing.
#   ensure-deps.sh build   the rustup musl target and Debian's musl-tools (for `make build`);
#                          with MUSL_TARGET=aarch64-unknown-linux-musl Debian's gcc-aarch64-linux-gnu
#   ensure-deps.sh test    Java 17 (javac), unshare, ZooKeeper, carbon and whisper, qemu-user-static
#                          (for `make test`; plus build for both targets)
#   ensure-deps.sh bench   Debian's tini, dumb-init and catatonit (for `make bench`)
#   ensure-deps.sh all     all of the above
set -euo pipefail

MUSL_TARGET=${MUSL_TARGET:-x86_64-unknown-linux-musl}

fail() {
    echo "spark-init setup: $*" >&2
    exit 1
}

apt_install() {
    local packages=("$@")
    echo "spark-init setup: installing Debian packages: ${packages[*]}" >&2
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || fail "need root (or sudo) to install ${packages[*]}; install them by hand"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1; then
        "${sudo[@]}" apt-get update -qq || fail "apt-get update failed"
        "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null ||
            fail "apt-get install ${packages[*]} failed"
    fi
}

build_deps() {
    command -v cargo >/dev/null || fail "cargo is not on PATH: install Rust with rustup first"
    case "$MUSL_TARGET" in
    x86_64-unknown-linux-musl | aarch64-unknown-linux-musl) ;;
    *) fail "no build set up for $MUSL_TARGET: ARCH is x86_64 or aarch64" ;;
    esac
    if ! rustup target list --installed 2>/dev/null | grep -qx "$MUSL_TARGET"; then
        echo "spark-init setup: adding the Rust target $MUSL_TARGET" >&2
        rustup target add "$MUSL_TARGET" ||
            fail "cannot install the Rust target $MUSL_TARGET (rustup target add failed); \
spark-init must be a static musl binary, so the build stops here instead of making a dynamic one"
    fi
    case "$MUSL_TARGET" in
    x86_64-*) command -v musl-gcc >/dev/null || apt_install musl-tools ;;
    # Rust's self-contained musl, linked (and ring's C compiled) by Debian's cross gcc.
    aarch64-*) command -v aarch64-linux-gnu-gcc >/dev/null || apt_install gcc-aarch64-linux-gnu ;;
    esac
}

test_deps() {
    build_deps
    local need=()
    command -v javac >/dev/null || need+=(default-jdk-headless)
    command -v unshare >/dev/null || need+=(util-linux)
    [ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
    command -v python3 >/dev/null || need+=(python3 python3-pip)
    # tests/users.rs: an anonymous uid gets its passwd entry through nss_wrapper.
    dpkg -s libnss-wrapper >/dev/null 2>&1 || need+=(libnss-wrapper)
    # tests/metrics.rs: a real carbon daemon, its whisper files read back with python3.
    [ -x /usr/bin/carbon-cache ] || need+=(graphite-carbon)
    dpkg -s python3-whisper >/dev/null 2>&1 || need+=(python3-whisper)
    if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
    MUSL_TARGET=aarch64-unknown-linux-musl build_deps
    # tests/aarch64.rs runs the arm64 binary under qemu-user: installed here, so that `make test`
    # (and CI) never passes it by skipping.
    command -v qemu-aarch64-static >/dev/null || apt_install qemu-user-static
}

bench_deps() {
    local need=()
    [ -x /usr/bin/tini-static ] || need+=(tini)
    [ -x /usr/bin/dumb-init ] || need+=(dumb-init)
    [ -x /usr/bin/catatonit ] || need+=(catatonit)
    command -v file >/dev/null || need+=(file)
    if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
}

case "${1:-}" in
build) build_deps ;;
test) test_deps ;;
bench) bench_deps ;;
all) test_deps; bench_deps ;;
*) fail "usage: $0 build|test|bench|all" ;;
esac

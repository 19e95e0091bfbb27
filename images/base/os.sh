#!/usr/bin/env bash
# The operating system of spark-init-spark:<version>, made without a registry: Debian 12
# (debootstrap minbase from the machine's Debian mirror) with Java 17 and what Spark's scripts
# and spark-init use, and the official image's user spark (uid/gid 185, home /opt/spark).
# Imported with `docker import` as the image named by $1. Any change to this file rebuilds it
# (images/base/build.sh hashes it).
set -euo pipefail
TAG=$1
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# bash and coreutils: bin/spark-class and load-spark-env.sh; procps: ps for sbin/ and debugging;
# libnss-wrapper: a passwd entry for an anonymous uid that cannot write /etc/passwd (README "Users").
PACKAGES="openjdk-17-jre-headless bash procps coreutils libnss-wrapper"
CACHE=${DEBOOTSTRAP_CACHE:-$(cd "$(dirname "$0")/../.." && pwd)/.cache/debootstrap}

# A fresh machine may have no package lists yet: update, then try again.
command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap \
    || { apt-get update && apt-get install -y --no-install-recommends debootstrap; }
mkdir -p "$CACHE/debs"
ROOT=$(mktemp -d "${TMPDIR:-/var/tmp}/spark-init-rootfs.XXXXXX")
cleanup() {
    umount "$ROOT/proc" 2>/dev/null || true
    umount "$ROOT/var/cache/apt/archives" 2>/dev/null || true
    rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT

start=$SECONDS
debootstrap --variant=minbase --cache-dir="$CACHE/debs" "$SUITE" "$ROOT" "$MIRROR"
echo "os.sh: debootstrap in $((SECONDS - start)) s"; start=$SECONDS
mount -t proc proc "$ROOT/proc"   # ca-certificates-java runs java in its postinst
mount --bind "$CACHE/debs" "$ROOT/var/cache/apt/archives"
cat > "$ROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
SOURCES
chroot "$ROOT" apt-get update
DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y --no-install-recommends $PACKAGES
# The official image's user: groupadd/useradd --system with uid/gid 185 (apache/spark-docker).
chroot "$ROOT" groupadd --system --gid=185 spark
chroot "$ROOT" useradd --system --uid=185 --gid=spark --home-dir=/opt/spark --no-create-home spark
umount "$ROOT/var/cache/apt/archives" "$ROOT/proc"
echo "os.sh: $PACKAGES and the user spark in $((SECONDS - start)) s"; start=$SECONDS
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/tmp/*

tar --numeric-owner -C "$ROOT" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $SUITE + $PACKAGES" - "$TAG"
echo "os.sh: docker import of $(du -sh "$ROOT" | cut -f1) in $((SECONDS - start)) s"

#!/usr/bin/env bash
# `make image`, second half: spark-init:<version> from images/Dockerfile's stage `local` on the
# base spark-init-spark:<version> (images/base/build.sh), with the binary `make build` made.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/x86_64-unknown-linux-musl/release/spark-init
[ -x "$BIN" ] || { echo "images/local.sh: no $BIN (make build)" >&2; exit 1; }
# IMAGE_REPOSITORY: the repository of the tags made (default spark-init), so that a trial build
# does not replace spark-init:<version>.
for v in "$@"; do
    tag=${IMAGE_REPOSITORY:-spark-init}:$v
    old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    # DOCKER_BUILDKIT=0: the legacy builder, the one there is without buildx, said so everywhere.
    DOCKER_BUILDKIT=0 docker build -q -f images/Dockerfile --target local \
        --build-arg SPARK_IMAGE="spark-init-spark:$v" -t "$tag" . 2> >(grep -v 'DEPRECATED\|BuildKit\|environment-variable\|^$' >&2) >/dev/null
    new=$(docker image inspect -f '{{.Id}}' "$tag")
    docker run --rm --entrypoint /usr/local/bin/spark-init "$tag" --version >/dev/null \
        || { echo "images/local.sh: $tag has no working /usr/local/bin/spark-init" >&2; exit 1; }
    # The image this one replaces, now untagged: removed (unless an image is built on it).
    if [ -n "$old" ] && [ "$old" != "$new" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
    echo "make image: built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec))"
done

# What earlier runs of `make image` left that nothing uses now: untagged bases (the label marks
# them as images/base/build.sh's), then OS images other than the current spark-init-os:bookworm.
for id in $(docker images -q -f dangling=true -f label=org.spark-init.inputs); do
    docker rmi "$id" >/dev/null 2>&1 || true
done
current=$(docker image inspect -f '{{.Id}}' spark-init-os:bookworm 2>/dev/null || true)
docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' spark-init-os | while read -r ref _; do
    [ "$ref" = spark-init-os:bookworm ] && continue
    [ "$(docker image inspect -f '{{.Id}}' "$ref")" = "$current" ] && continue
    docker rmi "$ref" >/dev/null 2>&1 || true
done

#!/usr/bin/env bash
# `make image`: spark-init-spark:<version> for each Spark version given (default 3.5.7 and
# 4.3.0), with no registry: the OS from images/base/os.sh (debootstrap + docker import, tagged
# spark-init-os:bookworm), Spark from the cached PyPI pyspark package (bin/, sbin/, jars/ of
# .cache/pyspark-<version>/pyspark, see `make pyspark`) plus a RELEASE file, laid out as the
# official image does (/opt/spark, user spark 185:185, WORKDIR /opt/spark/work-dir).
# Each image carries the hash of its inputs as the label org.spark-init.inputs and is rebuilt
# only when they change.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
[ $# -gt 0 ] || set -- 3.5.7 4.3.0
LABEL=org.spark-init.inputs
OS_TAG=spark-init-os:bookworm

docker info >/dev/null 2>&1 || { echo "make image: no Docker engine answers (docker info failed)" >&2; exit 1; }

label_of() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

# The OS image: its one input is os.sh, so its tag is that file's hash (spark-init-os:<hash>,
# also tagged spark-init-os:bookworm); a changed os.sh makes a new one.
os_hash=$(sha256sum images/base/os.sh | cut -c1-16)
if ! docker image inspect "spark-init-os:$os_hash" >/dev/null 2>&1; then
    echo "make image: building the OS image (debootstrap, Java 17; a few minutes)"
    start=$SECONDS
    images/base/os.sh "spark-init-os:$os_hash"
    echo "make image: OS image spark-init-os:$os_hash in $((SECONDS - start)) s"
fi
docker tag "spark-init-os:$os_hash" "$OS_TAG"
os_id=$(docker image inspect -f '{{.Id}}' "spark-init-os:$os_hash")

for v in "$@"; do
    pyspark=${PYSPARK_CACHE:-$REPO/.cache}/pyspark-$v/pyspark
    [ -d "$pyspark/jars" ] || { echo "make image: no $pyspark/jars (run make pyspark)" >&2; exit 1; }
    hadoop=$(ls "$pyspark/jars" | sed -n 's/^hadoop-client-api-\(.*\)\.jar$/\1/p' | head -n1)
    [ -n "$hadoop" ] || { echo "make image: no hadoop-client-api jar in $pyspark/jars" >&2; exit 1; }
    inputs=$( { echo "$os_id"; cat images/base/Dockerfile images/base/build.sh;
                cd "$pyspark" && find bin sbin jars -type f -printf '%p %s %m\n' | sort; } | sha256sum | cut -c1-16)
    tag=spark-init-spark:$v
    if [ "$(label_of "$tag")" = "$inputs" ]; then
        echo "make image: $tag is up to date ($LABEL=$inputs)"
        continue
    fi
    old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    ctx=$REPO/target/images/spark-$v
    rm -rf "$ctx" && mkdir -p "$ctx/spark"
    cp -a "$pyspark/bin" "$pyspark/sbin" "$pyspark/jars" "$ctx/spark/"
    echo "Spark $v built for Hadoop $hadoop" > "$ctx/spark/RELEASE"
    cp images/base/Dockerfile "$ctx/Dockerfile"
    start=$SECONDS
    DOCKER_BUILDKIT=0 docker build -q --build-arg OS_IMAGE="$OS_TAG" --build-arg INPUTS="$inputs" -t "$tag" "$ctx" \
        2> >(grep -v 'DEPRECATED\|BuildKit\|environment-variable\|^$' >&2) >/dev/null
    rm -rf "$ctx"
    # The image this one replaces, now untagged: removed unless an image is built on it.
    [ -z "$old" ] || [ "$old" = "$(docker image inspect -f '{{.Id}}' "$tag")" ] || docker rmi "$old" >/dev/null 2>&1 || true
    echo "make image: built $tag ($LABEL=$inputs) in $((SECONDS - start)) s, $(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)"
done

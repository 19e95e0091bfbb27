#!/usr/bin/env bash
# Installs PyPI pyspark (it ships Spark's jars) into the ignored folder .cache/pyspark-<version>,
# once per version: the releases the tests run for real, SPARK_3 and SPARK_4 in
# entrypoint-tests/src/lib.rs (read from there, so the versions live in one place). pip builds
# each source archive (318 MB for 3.5.7, about 450 MB for 4.x) into a wheel, which takes about a
# minute; later runs find the folders and return at once.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LIB="$ROOT/entrypoint-tests/src/lib.rs"

# pub const SPARK_3: &str = "3.5.7";
versions=$(sed -n 's/^pub const SPARK_[0-9]*: &str = "\([0-9.]*\)";$/\1/p' "$LIB")
if [ "$(echo "$versions" | wc -w)" -ne 2 ]; then
    echo "spark-init setup: expected SPARK_3 and SPARK_4 in $LIB, found: $versions" >&2
    exit 1
fi

# The launcher jar's name carries the Scala version: 2.12 for Spark 3 (PyPI's build), 2.13 for 4.
launcher_jar() {
    case "$1" in
        3.*) echo "spark-launcher_2.12-$1.jar" ;;
        *) echo "spark-launcher_2.13-$1.jar" ;;
    esac
}

install() {
    local version="$1"
    local dest="$ROOT/.cache/pyspark-$version"
    local jar
    jar="$(launcher_jar "$version")"
    if [ -f "$dest/pyspark/jars/$jar" ]; then
        return 0
    fi
    command -v python3 >/dev/null || { echo "spark-init setup: python3 is needed to fetch pyspark" >&2; exit 1; }
    echo "spark-init setup: installing pyspark $version into $dest (once; about a minute)" >&2
    rm -rf "$dest.tmp"
    mkdir -p "$ROOT/.cache"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$dest.tmp" \
        "pyspark==$version" ||
        { echo "spark-init setup: pip install pyspark==$version failed" >&2; exit 1; }
    # Rename last: an interrupted install never looks complete.
    mv "$dest.tmp" "$dest"
    ls "$dest/pyspark/jars/$jar" >/dev/null
}

for version in $versions; do
    install "$version"
done

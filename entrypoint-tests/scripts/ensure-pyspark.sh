#!/usr/bin/env bash
# Installs PyPI pyspark (it ships Spark's jars, the Mesos ones included) into the ignored
# folder .cache/pyspark-<version>, once. pip builds the 318 MB source archive into a wheel,
# which takes about a minute; later runs find the folder and return at once.
set -euo pipefail

VERSION="${PYSPARK_VERSION:-3.5.7}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="$ROOT/.cache/pyspark-$VERSION"

if [ -f "$DEST/pyspark/jars/spark-launcher_2.12-$VERSION.jar" ]; then
    exit 0
fi
command -v python3 >/dev/null || { echo "spark-init setup: python3 is needed to fetch pyspark" >&2; exit 1; }
echo "spark-init setup: installing pyspark $VERSION into $DEST (once; about a minute)" >&2
rm -rf "$DEST.tmp"
mkdir -p "$ROOT/.cache"
python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$DEST.tmp" \
    "pyspark==$VERSION" ||
    { echo "spark-init setup: pip install pyspark==$VERSION failed" >&2; exit 1; }
# Rename last: an interrupted install never looks complete.
mv "$DEST.tmp" "$DEST"
ls "$DEST/pyspark/jars/spark-launcher_2.12-$VERSION.jar" >/dev/null

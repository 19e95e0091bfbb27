#!/usr/bin/env bash
# Installs PyPI `marathon` (a Marathon client nobody here wrote) into the ignored folder
# .cache/python-marathon-<version>, once. The fake-Marathon tests check that it reads the
# fake's answers into its models.
set -euo pipefail

VERSION="${PYTHON_MARATHON_VERSION:-0.13.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="$ROOT/.cache/python-marathon-$VERSION"

if [ -f "$DEST/marathon/__init__.py" ]; then
    exit 0
fi
echo "spark-init setup: installing the Python marathon client $VERSION into $DEST (once)" >&2
rm -rf "$DEST.tmp"
mkdir -p "$ROOT/.cache"
python3 -m pip install --quiet --disable-pip-version-check --target "$DEST.tmp" "marathon==$VERSION" ||
    { echo "spark-init setup: pip install marathon==$VERSION failed" >&2; exit 1; }
mv "$DEST.tmp" "$DEST"

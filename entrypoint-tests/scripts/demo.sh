#!/usr/bin/env bash
# `make demo`: spark-init as PID 1 of a PID namespace in front of a real JVM, the way it runs
# as a container's ENTRYPOINT. Shows the dry-run plan, the properties the JVM got from the
# JAVA_TOOL_OPTIONS that spark-init built, then stops it with SIGTERM and shows the clean exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$ROOT/target/x86_64-unknown-linux-musl/release/spark-init"
CLASSES="$ROOT/target/demo"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf '\ndemo FAILED: %s\n' "$*" >&2; exit 1; }

[ -x "$BIN" ] || fail "$BIN is missing; run make build"
mkdir -p "$CLASSES"
javac -d "$CLASSES" "$ROOT/entrypoint-tests/java/SparkInitDemo.java"

# What an operator would put in the Marathon app's env.
export SPARK_INIT_JAVA_OPTS='-Dspark.demo.greeting="hello from spark-init"'
export SPARK_INIT_EXIT_REMAP='143=0'
export SPARK_INIT_GRACE_SECONDS=10
COMMAND=(java -XX:-UsePerfData -cp "$CLASSES" SparkInitDemo)

say "1. The plan: spark-init --dry-run resolves everything and starts nothing"
echo "   SPARK_INIT_JAVA_OPTS=$SPARK_INIT_JAVA_OPTS"
"$BIN" --dry-run -- "${COMMAND[@]}"

say "2. spark-init as PID 1 (unshare --pid --fork --mount-proc), supervising the JVM"
LOG="$(mktemp)"
unshare --pid --fork --mount-proc "$BIN" -- "${COMMAND[@]}" >"$LOG" 2>&1 &
OUTER=$!
# Whatever happens, leave nothing running: killing the namespace's init ends everything in it.
trap 'pkill -KILL -P "$OUTER" 2>/dev/null || true; rm -f "$LOG"' EXIT
# Wait (polling, up to 60 s) for the JVM to say it is ready.
for _ in $(seq 600); do
    grep -q "demo JVM: ready" "$LOG" && break
    kill -0 "$OUTER" 2>/dev/null || { cat "$LOG"; fail "spark-init exited early"; }
    sleep 0.1
done
grep -q "demo JVM: ready" "$LOG" || { cat "$LOG"; fail "the JVM did not start within 60 s"; }
INIT="$(cat "/proc/$OUTER/task/$OUTER/children" | tr -d ' ')"
cat "$LOG"
grep -q "file.encoding       = UTF-8" "$LOG" || fail "file.encoding is not UTF-8"
grep -q "user.timezone       = PRC" "$LOG" || fail "user.timezone is not PRC"
grep -q "spark.demo.greeting = hello from spark-init" "$LOG" || fail "the extra option did not arrive"
echo "   spark-init is pid $INIT here and PID 1 inside; threads: $(awk '/^Threads/{print $2}' "/proc/$INIT/status")"

say "3. SIGTERM to spark-init (what Marathon does to stop a task)"
kill -TERM "$INIT"
set +e
wait "$OUTER"
CODE=$?
set -e
cat "$LOG" | sed -n '/demo JVM: ready/,$p' | tail -n +2
grep -q "shutdown hook ran" "$LOG" || fail "the JVM's shutdown hook did not run"
say "Exit code: $CODE (the JVM exited 143 on SIGTERM; SPARK_INIT_EXIT_REMAP=143=0 makes a requested stop a clean 0)"
[ "$CODE" = 0 ] || fail "expected exit code 0, got $CODE"
echo "demo finished: clean exit."

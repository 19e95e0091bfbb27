#!/usr/bin/env bash
# `make image-smoke`: checks by hand of the images `make image` built (spark-init:<version>, default
# 3.5.7 and 4.3.0). Not part of `make test`: it skips, exit 0, with a plain message when no Docker
# engine answers or an image is missing.
#   - an executor's dry run with Marathon's task environment: Spark's version from /opt/spark/RELEASE,
#     the role dropping root for the image's user spark (185:185);
#   - a plain command keeps root;
#   - a real executor JVM runs as uid 185 under spark-init as root (PID 1), reaching a "driver" that
#     accepts and never answers (a loopback listener here; host networking);
#   - `docker run --user 4242`: the anonymous uid gets a passwd entry through nss_wrapper, for a
#     plain command and for an executor's JVM.
set -euo pipefail
[ $# -gt 0 ] || set -- 3.5.7 4.3.0

if ! docker info >/dev/null 2>&1; then
    echo "image-smoke: skipped: no Docker engine answers (docker info failed)"; exit 0
fi
for v in "$@"; do
    if ! docker image inspect "spark-init:$v" >/dev/null 2>&1; then
        echo "image-smoke: skipped: no image spark-init:$v (make image builds it)"; exit 0
    fi
done

failures=0
names=()
listener=
cleanup() {
    for n in "${names[@]}"; do docker rm -f "$n" >/dev/null 2>&1 || true; done
    [ -z "$listener" ] || kill "$listener" 2>/dev/null || true
}
trap cleanup EXIT
check() { # check NAME COMMAND... : pass when the command succeeds
    local name=$1; shift
    if "$@"; then echo "  ok    $name"; else echo "  FAIL  $name"; failures=$((failures + 1)); fi
}
has() { grep -qF -- "$1" <<<"$2"; }

# A "driver" that accepts connections and never answers: the executor then waits (Spark's ask
# timeout, 120 s) instead of failing at once, long enough to look at its process.
port_file=$(mktemp)
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1])); sys.stdout.flush()
time.sleep(600)' "$port_file" &
listener=$!
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
driver_port=$(cat "$port_file"); rm -f "$port_file"

marathon_env() { # marathon_env DRIVER_PORT BLOCKMANAGER_PORT
    echo "-e SPARK_INIT_ROLE=executor
          -e MESOS_TASK_ID=spark_smoke_executors.instance-3f1c2a9e-1b2c-11ef-9a2b-0242ac110002._app.1
          -e MARATHON_APP_ID=/spark/smoke/executors -e MARATHON_APP_RESOURCE_CPUS=1
          -e MARATHON_APP_RESOURCE_MEM=1024 -e HOST=127.0.0.1 -e PORT0=$2 -e PORT_BLOCKMANAGER=$2
          -e SPARK_DRIVER_URL=spark://CoarseGrainedScheduler@127.0.0.1:$1
          -e SPARK_APPLICATION_ID=app-20261129000000-0000"
}
jvm_ps() { # jvm_ps CONTAINER: "uid gid" of its java process, waiting for it up to 20 s
    local out
    for _ in $(seq 40); do
        out=$(docker exec "$1" ps -eo uid=,gid=,comm= 2>/dev/null | awk '$3 == "java" {print $1, $2}')
        [ -n "$out" ] && { echo "$out"; return; }
        sleep 0.5
    done
}

for v in "$@"; do
    image=spark-init:$v
    echo "image-smoke: $image"
    # shellcheck disable=SC2046
    plan=$(docker run --rm $(marathon_env 7077 31000) -e SPARK_INIT_DRY_RUN=1 "$image" 2>&1) || true
    check "dry run: Spark $v from /opt/spark/RELEASE" has "spark_version        $v" "$plan"
    check "dry run: the executor drops root for spark (uid 185, gid 185)" has "user                 spark (uid 185, gid 185)" "$plan"
    check "dry run: CoarseGrainedExecutorBackend with Marathon's values" has "--hostname 127.0.0.1 --cores 1" "$plan"

    check "a plain command keeps root" has "uid=0(root) gid=0(root)" "$(docker run --rm "$image" id 2>/dev/null)"

    name=spark-init-smoke-$$-$RANDOM; names+=("$name")
    # shellcheck disable=SC2046
    docker run -d --network host --name "$name" $(marathon_env "$driver_port" $((driver_port + 1))) "$image" >/dev/null
    check "spark-init is PID 1 as root" has "0 /usr/local/bin/spark-init" "$(docker exec "$name" ps -o uid=,args= -p 1 2>/dev/null)"
    check "the executor's JVM runs as 185:185" [ "$(jvm_ps "$name")" = "185 185" ]
    docker rm -f "$name" >/dev/null

    check "--user 4242: a plain command gets a passwd entry" \
        has "uid=4242(spark-4242) gid=0(root)" "$(docker run --rm --user 4242 "$image" id 2>/dev/null)"
    name=spark-init-smoke-$$-$RANDOM; names+=("$name")
    # shellcheck disable=SC2046
    docker run -d --network host --user 4242 --name "$name" $(marathon_env "$driver_port" $((driver_port + 2))) "$image" >/dev/null
    check "--user 4242: the executor's JVM runs as 4242:0" [ "$(jvm_ps "$name")" = "4242 0" ]
    check "--user 4242: its user name comes from nss_wrapper" \
        bash -c "for _ in \$(seq 40); do docker logs '$name' 2>&1 | grep -q 'Changing view acls to: spark-4242' && exit 0; sleep 0.5; done; exit 1"
    docker rm -f "$name" >/dev/null
done

if [ "$failures" -gt 0 ]; then echo "image-smoke: $failures check(s) failed"; exit 1; fi
echo "image-smoke: all checks passed"

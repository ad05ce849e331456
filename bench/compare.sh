#!/usr/bin/env bash
# Talus vs redis-server, same redis-benchmark, same machine, same run.
#
# Builds Talus in release mode, starts it and Debian's redis-server (no persistence) side by
# side on free ports, runs the same redis-benchmark against each (without pipelining, then with
# -P 16) and prints requests per second of both and their ratio (talus / redis).
#
# Usage: bench/compare.sh
# Environment:
#   TALUS_ARGS   extra flags for talus, e.g. "--io-threads 1 --exec-threads 1"
#   REDIS_ARGS   extra flags for redis-server
#   TESTS        redis-benchmark -t list          (default set,get,incr,mset)
#   CLIENTS      -c                                (default 50)
#   REQUESTS     -n                                (default 200000)
#   KEYSPACE     -r                                (default 100000)
#   DATASIZE     -d                                (default 64)
#   PIPELINES    the -P values to run, in order    (default "1 16")
#   NO_BUILD=1   use the existing release binary
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
TESTS="${TESTS:-set,get,incr,mset}"
CLIENTS="${CLIENTS:-50}"
REQUESTS="${REQUESTS:-200000}"
KEYSPACE="${KEYSPACE:-100000}"
DATASIZE="${DATASIZE:-64}"
PIPELINES="${PIPELINES:-1 16}"
TALUS_ARGS="${TALUS_ARGS:-}"
REDIS_ARGS="${REDIS_ARGS:-}"

for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "$tool not found: apt-get install redis-server redis-tools" >&2
        exit 1
    }
done

# --- build ---------------------------------------------------------------------------------
if [ "${NO_BUILD:-0}" != 1 ]; then
    echo "building talus (release)..." >&2
    (cd "$ROOT" && cargo build --release --bin talus >&2)
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TALUS_BIN="$TARGET_DIR/release/talus"
[ -x "$TALUS_BIN" ] || { echo "no binary at $TALUS_BIN" >&2; exit 1; }

# --- processes, cleaned up on any exit -----------------------------------------------------
WORK="$(mktemp -d -t talus-bench.XXXXXX)"
TALUS_PID=""
REDIS_PID=""
cleanup() {
    stop_pids "$TALUS_PID" "$REDIS_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM



REDIS_PORT="$(free_port)"
# shellcheck disable=SC2086
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" $REDIS_ARGS >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
wait_ready "$REDIS_PORT" "$REDIS_PID" redis

TALUS_PORT="$(free_port)"
while [ "$TALUS_PORT" = "$REDIS_PORT" ]; do TALUS_PORT="$(free_port)"; done
# shellcheck disable=SC2086
RUST_LOG="${RUST_LOG:-warn}" "$TALUS_BIN" --port "$TALUS_PORT" --bind 127.0.0.1 \
    --dir "$WORK/talus-data" $TALUS_ARGS >"$WORK/talus.log" 2>&1 &
TALUS_PID=$!
wait_ready "$TALUS_PORT" "$TALUS_PID" talus

# --- run -----------------------------------------------------------------------------------
# Prints "TEST<TAB>rps" lines. -q prints progress lines ending in \r and one final line per
# test: "SET: 123456.78 requests per second, p50=0.199 msec".
bench() { # port pipeline
    redis-benchmark -h 127.0.0.1 -p "$1" -t "$TESTS" -c "$CLIENTS" -n "$REQUESTS" \
        -r "$KEYSPACE" -d "$DATASIZE" -P "$2" -q 2>/dev/null |
        tr '\r' '\n' | grep 'requests per second' |
        sed -E 's/^(.*): ([0-9.]+) requests per second.*/\1\t\2/'
}

model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "machine: $(nproc) cores, ${model:-unknown CPU}, $(uname -sr)"
echo "redis:   $(redis-server --version | sed 's/ sha=.*//') (--save '' --appendonly no $REDIS_ARGS)"
talus_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)"
echo "talus:   talus $talus_version (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '-')) ${TALUS_ARGS:-(default threads)}"
echo "command: redis-benchmark -t $TESTS -c $CLIENTS -n $REQUESTS -r $KEYSPACE -d $DATASIZE -q [-P N]"
echo

printf '%-18s %4s %14s %14s %7s\n' test "-P" "redis rps" "talus rps" ratio
printf '%-18s %4s %14s %14s %7s\n' ------------------ ---- -------------- -------------- -------
for p in $PIPELINES; do
    redis_out="$(bench "$REDIS_PORT" "$p")"
    talus_out="$(bench "$TALUS_PORT" "$p")"
    if ! kill -0 "$TALUS_PID" 2>/dev/null; then
        echo "talus exited during the benchmark:" >&2
        tail -n 50 "$WORK/talus.log" >&2
        exit 1
    fi
    while IFS=$'\t' read -r name rrps; do
        [ -n "$name" ] || continue
        trps="$(printf '%s\n' "$talus_out" | awk -F'\t' -v n="$name" '$1 == n { print $2 }')"
        if [ -n "$trps" ]; then
            ratio="$(awk -v a="$trps" -v b="$rrps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
        else
            trps="-"
            ratio="-"
        fi
        printf '%-18s %4s %14s %14s %7s\n' "$name" "$p" "$rrps" "$trps" "$ratio"
    done <<<"$redis_out"
done
